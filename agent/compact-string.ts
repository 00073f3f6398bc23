// Paths kept for long (index keys, the hash queue) as one flat string each, not as the rope a
// template literal builds.

/** A character beyond Latin-1 (a UTF-16 code unit above 0xff). */
const WIDE = /[\u0100-\uffff]/;

/**
 * A flat copy of `text`. `${root}/${dir}/${name}` is a tree of V8 cons strings (a header of 32 bytes
 * each, and hashing it as a Map key adds a flattened copy besides): 200k index paths took 22 MiB as
 * ropes against 14 MiB flat. Latin-1 text is copied through a Buffer (exact for those characters);
 * other text, rare in file names, is returned as it is.
 */
export function compactString(text: string): string {
  return WIDE.test(text) ? text : Buffer.from(text, 'latin1').toString('latin1');
}
