// Reading numbers and four-character codes out of plain byte arrays, the way media headers store them.

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The unsigned big-endian 32-bit number at `at`; the caller checks that four bytes are there. */
export function u32be(bytes: Uint8Array, at: number): number {
  return view(bytes).getUint32(at, false);
}

/** The unsigned little-endian 32-bit number at `at`. */
export function u32le(bytes: Uint8Array, at: number): number {
  return view(bytes).getUint32(at, true);
}

/** The unsigned big-endian 64-bit number at `at`, as a Number (exact up to 2^53). */
export function u64be(bytes: Uint8Array, at: number): number {
  return Number(view(bytes).getBigUint64(at, false));
}

/** The bytes from start to end as latin-1 text (a four-character code), cut short at the array's end. */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** Whether `bytes` holds `prefix` at `at`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array, at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  return prefix.every((byte, i) => bytes[at + i] === byte);
}

/** Whether `needle` occurs anywhere in `haystack`. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let at = 0; at + needle.length <= haystack.length; at++) {
    if (haystack[at] === needle[0] && startsWith(haystack, needle, at)) return true;
  }
  return false;
}
