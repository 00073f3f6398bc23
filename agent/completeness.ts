// Structural checks that tell a finished media file from one still being written, where the format allows.
import type { FileHandle } from 'node:fs/promises';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// The whole IEND chunk: zero length, type, and its fixed CRC.
const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
const TAIL_WINDOW = 4096;

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** A PNG is complete once its IEND chunk is written; a few trailing bytes after it are tolerated. */
async function pngComplete(handle: FileHandle, size: number): Promise<boolean> {
  if (size < PNG_SIGNATURE.length + PNG_IEND.length) return false;
  if (!(await readAt(handle, 0, 8)).equals(PNG_SIGNATURE)) return false;
  const start = Math.max(8, size - TAIL_WINDOW);
  return (await readAt(handle, start, size - start)).includes(PNG_IEND);
}

/** A WebP is complete when its RIFF length covers the whole file. */
async function webpComplete(handle: FileHandle, size: number): Promise<boolean> {
  const head = await readAt(handle, 0, 12);
  if (
    head.length < 12 ||
    head.toString('latin1', 0, 4) !== 'RIFF' ||
    head.toString('latin1', 8, 12) !== 'WEBP'
  ) {
    return false;
  }
  return head.readUInt32LE(4) + 8 === size;
}

/** A GIF ends with its trailer byte. */
async function gifComplete(handle: FileHandle, size: number): Promise<boolean> {
  const tail = await readAt(handle, size - 1, 1);
  return tail[0] === 0x3b;
}

/**
 * An MP4/MOV is complete when its top-level boxes tile the file exactly and one of them is `moov`.
 * ffmpeg writes `moov` only when it closes the file, so a growing video has none.
 */
async function isoBmffComplete(handle: FileHandle, size: number): Promise<boolean> {
  let offset = 0;
  let sawMoov = false;
  for (let boxes = 0; offset < size && boxes < 10_000; boxes++) {
    const header = await readAt(handle, offset, 16);
    if (header.length < 8) return false;
    let boxSize = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    if (boxSize === 1) {
      if (header.length < 16) return false;
      boxSize = Number(header.readBigUInt64BE(8));
    } else if (boxSize === 0) {
      boxSize = size - offset;
    }
    if (boxSize < 8 || offset + boxSize > size) return false;
    if (type === 'moov') sawMoov = true;
    offset += boxSize;
  }
  return sawMoov && offset === size;
}

type Check = (handle: FileHandle, size: number) => Promise<boolean>;

const CHECKS: Record<string, Check> = {
  png: pngComplete,
  webp: webpComplete,
  gif: gifComplete,
  mp4: isoBmffComplete,
  mov: isoBmffComplete,
  m4v: isoBmffComplete,
};

/** Whether the format of `name` has a structural completeness check. */
export function hasCompletenessCheck(name: string): boolean {
  return extension(name) in CHECKS;
}

/** A format known by its first bytes; `other` for formats without a structural check (JPEG, WebM…). */
export type SniffedFormat = 'png' | 'webp' | 'gif' | 'mp4' | 'other' | 'unknown';

/**
 * The format the first bytes declare. `other` is a recognised format without a check (JPEG, WebM,
 * text is not recognised); `unknown` means the bytes say nothing, and the name decides.
 */
export function sniffMedia(head: Buffer): SniffedFormat {
  if (head.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (head.toString('latin1', 0, 4) === 'GIF8') return 'gif';
  if (head.toString('latin1', 4, 8) === 'ftyp') return 'mp4';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'other'; // JPEG
  if (head.readUInt32BE(0) === 0x1a45dfa3) return 'other'; // Matroska/WebM
  return 'unknown';
}

/**
 * False when the file's own structure shows it is not finished. The check is picked by the file's
 * magic bytes, so a JPEG saved as `.png` (common for Civitai downloads) is checked as a JPEG instead
 * of waiting forever for a PNG IEND; only bytes that declare no format fall back to the name (a
 * file too short to hold its signature yet). Formats without a check (JPEG, WebM, audio, text)
 * count as complete; the settle window guards them.
 */
export async function isStructurallyComplete(
  handle: FileHandle,
  name: string,
  size: number,
): Promise<boolean> {
  const head = Buffer.alloc(16);
  head.set(await readAt(handle, 0, 16));
  const sniffed = sniffMedia(head);
  if (sniffed === 'other') return true;
  const check = sniffed === 'unknown' ? CHECKS[extension(name)] : CHECKS[sniffed];
  return check ? check(handle, size) : true;
}

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}
