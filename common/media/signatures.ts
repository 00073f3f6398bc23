// The magic bytes media formats open (and some close) with, and tests for them on a file's first bytes.
import { latin1, startsWith, u32be, u32le } from './bytes.js';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** A PNG's whole IEND chunk: zero length, its type, and its fixed CRC. */
export const PNG_IEND_CHUNK = Uint8Array.of(0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82);
/** The byte a GIF ends with. */
export const GIF_TRAILER = 0x3b;
/** The EBML header's element ID, which opens every Matroska and WebM file. */
export const EBML_MAGIC = 0x1a45dfa3;
/** How many bytes a RIFF/WEBP header takes: `RIFF`, the length, `WEBP`. */
export const WEBP_HEADER_BYTES = 12;

export function isPng(head: Uint8Array): boolean {
  return startsWith(head, PNG_SIGNATURE);
}

/** A JPEG's start-of-image marker followed by the first segment's marker byte. */
export function isJpeg(head: Uint8Array): boolean {
  return head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
}

export function isEbml(head: Uint8Array): boolean {
  return head.length >= 4 && u32be(head, 0) === EBML_MAGIC;
}

/**
 * The length a RIFF/WEBP header says the whole file has (its size field covers all but the first
 * eight bytes); undefined when the bytes are not a WebP header (a WAV is RIFF but not WebP).
 */
export function webpFileLength(head: Uint8Array): number | undefined {
  if (head.length < WEBP_HEADER_BYTES) return undefined;
  if (latin1(head, 0, 4) !== 'RIFF' || latin1(head, 8, 12) !== 'WEBP') return undefined;
  return u32le(head, 4) + 8;
}
