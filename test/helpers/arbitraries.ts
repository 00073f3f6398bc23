// fast-check generators of the names an agent may send: valid ones, and every trick against a folder.
import fc from 'fast-check';

/** Names that Unicode normalisation or case folding would merge: each pair must stay two names. */
export const LOOKALIKES: readonly (readonly [string, string])[] = [
  ['caf\u00e9', 'cafe\u0301'], // NFC / NFD
  ['\u00c5ngstr\u00f6m', 'A\u030angstro\u0308m'],
  ['\uac00', '\u1100\u1161'], // Hangul syllable / jamo
  ['Image.png', 'image.png'], // case only
  ['ComfyUI_00001_.PNG', 'ComfyUI_00001_.png'],
  ['STRASSE', 'stra\u00dfe'],
];

/** Ordinary name characters, including multi-byte ones. */
const nameChar = fc.constantFrom(
  ...'abcXYZ019_-. ~()[]',
  '\u00e9',
  'e\u0301',
  '\u540d',
  '\u{1f600}',
  '\u0130',
  '\u00df',
);

/** One valid segment: 1 to 40 characters, never `.` or `..`. */
export const validSegment: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 6, arbitrary: fc.string({ unit: nameChar, minLength: 1, maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom(...LOOKALIKES.flat()) },
    // As long as a segment may be: 255 bytes, in one-, two- or four-byte characters.
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(255), '\u00e9'.repeat(127), '\u{1f600}'.repeat(63)) },
  )
  .filter((segment) => segment !== '.' && segment !== '..');

/** A relative POSIX path of valid segments: what unsafePathReason must accept. */
export const validPath: fc.Arbitrary<string> = fc
  .array(validSegment, { minLength: 1, maxLength: 6 })
  .map((segments) => segments.join('/'));

/** A segment that no safe path may hold. */
const badSegment = fc.oneof(
  fc.constantFrom('..', '.', ''),
  fc.constantFrom('x'.repeat(256), '\u00e9'.repeat(128), '\u{1f600}'.repeat(64), 'a'.repeat(300)),
  validSegment.map((segment) => `${segment}\0`),
  validSegment.map((segment) => `\0${segment}`),
  validSegment.map((segment) => `..\\${segment}`),
);

/**
 * Any path an agent might send, mostly hostile: `..` segments, absolute and drive-letter paths, NUL
 * bytes, empty and `.` segments, backslashes, segments over 255 bytes and paths over 4096 characters,
 * and the valid paths themselves.
 */
export const anyPath: fc.Arbitrary<string> = fc.oneof(
  validPath,
  fc
    .tuple(fc.array(validSegment, { maxLength: 4 }), badSegment, fc.array(validSegment, { maxLength: 4 }))
    .map(([before, bad, after]) => [...before, bad, ...after].join('/')),
  validPath.map((path) => `/${path}`),
  validPath.map((path) => `${path}/`),
  validPath.map((path) => `C:${path}`),
  validPath.map((path) => `../${path}`),
  validPath.map((path) => `${path}/../../..`),
  // Over 4096 characters in all, each segment valid.
  fc.integer({ min: 17, max: 40 }).map((n) => Array.from({ length: n }, () => 'y'.repeat(250)).join('/')),
  fc.string({ unit: 'binary', maxLength: 60 }),
);
