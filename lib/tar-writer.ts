// Encoding tar as an agent sends it: per regular file a PAX record (path and extras), a ustar header, the body and its padding.
const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK);
/** The end of an archive: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK);
/** The largest size a ustar size field holds (11 octal digits); larger ones go in the PAX record. */
const MAX_OCTAL_SIZE = 0o77777777777;

export interface TarFileHeader {
  name: string;
  size: number;
  mode: number;
  mtimeMs: number;
  /** Extra PAX records, as key and value. */
  pax?: Record<string, string>;
}

/** The zero bytes that pad a body of `size` to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? ZEROS.subarray(0, 0) : ZEROS.subarray(0, BLOCK - rest);
}

/**
 * The header blocks of one regular file: a PAX extended header holding its path (always: readers
 * then never depend on ustar's 100-byte name or its character set), its size when ustar cannot
 * hold it, and `pax`; then the ustar header. The body and tarPadding(size) follow.
 */
export function encodeFileHeader(header: TarFileHeader): Buffer {
  const records = [paxRecord('path', header.name)];
  if (header.size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(header.size)));
  for (const [key, value] of Object.entries(header.pax ?? {})) records.push(paxRecord(key, value));
  const paxText = records.join('');
  const paxBytes = Buffer.byteLength(paxText);
  const mtime = Math.max(0, Math.floor(header.mtimeMs / 1000));
  const paxPadding = tarPadding(paxBytes).length;
  const out = Buffer.alloc(BLOCK + paxBytes + paxPadding + BLOCK);
  ustarBlock(out, 0, { name: 'PaxHeader', typeflag: 'x', size: paxBytes, mode: 0o644, mtime });
  out.write(paxText, BLOCK, 'utf8');
  ustarBlock(out, BLOCK + paxBytes + paxPadding, {
    name: asciiName(header.name),
    typeflag: '0',
    size: header.size > MAX_OCTAL_SIZE ? 0 : header.size,
    mode: header.mode,
    mtime,
  });
  return out;
}

/** One PAX record, "LEN key=value\n", LEN counting its own digits. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const bytes = Buffer.byteLength(rest);
  let length = bytes + String(bytes).length;
  if (String(length).length !== String(bytes).length) length = bytes + String(length).length;
  return `${length}${rest}`;
}

/** The ustar name field for a path whose real name is in the PAX record: printable ASCII, at most 100 bytes. */
function asciiName(name: string): string {
  const plain = name.replace(/[^\x20-\x7e]/g, '_');
  return plain.length <= 100 ? plain : plain.slice(plain.length - 100);
}

function ustarBlock(
  out: Buffer,
  at: number,
  fields: { name: string; typeflag: string; size: number; mode: number; mtime: number },
): void {
  out.write(fields.name, at, 100, 'latin1');
  octal(out, at + 100, 8, fields.mode);
  octal(out, at + 108, 8, 0); // uid
  octal(out, at + 116, 8, 0); // gid
  octal(out, at + 124, 12, fields.size);
  octal(out, at + 136, 12, fields.mtime);
  out.write(fields.typeflag, at + 156, 1, 'latin1');
  out.write('ustar\x0000', at + 257, 8, 'latin1');
  // The checksum counts its own field as eight spaces.
  out.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + BLOCK; i++) sum += out[i]!;
  out.write(`${sum.toString(8).padStart(6, '0')}\x00 `, at + 148, 8, 'latin1');
}

/** A NUL-terminated octal field of `width` bytes. */
function octal(out: Buffer, at: number, width: number, value: number): void {
  out.write(`${value.toString(8).padStart(width - 1, '0')}\x00`, at, width, 'latin1');
}
