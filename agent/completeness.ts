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

const CHECKS: Record<string, (handle: FileHandle, size: number) => Promise<boolean>> = {
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

/**
 * False when the file's own structure shows it is not finished. Formats without a check
 * (JPEG, WebM, audio, text) count as complete; the settle window guards them.
 */
export async function isStructurallyComplete(
  handle: FileHandle,
  name: string,
  size: number,
): Promise<boolean> {
  const check = CHECKS[extension(name)];
  return check ? check(handle, size) : true;
}

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}
