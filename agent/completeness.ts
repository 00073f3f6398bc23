// Structural checks that tell a finished media file from one still being written, where the format allows.
import type { FileHandle } from 'node:fs/promises';
import { contains, startsWith } from '../common/media/bytes.js';
import { walkBoxes } from '../common/media/iso-boxes.js';
import type { ReadAt } from '../common/media/read-at.js';
import {
  GIF_TRAILER,
  PNG_IEND_CHUNK,
  PNG_SIGNATURE,
  WEBP_HEADER_BYTES,
  webpFileLength,
} from '../common/media/signatures.js';
import { type MediaFormat, SNIFF_BYTES, sniffFormat } from '../common/media/sniff-format.js';
import { fileReadAt } from '../lib/file-read-at.js';

const TAIL_WINDOW = 4096;
/** More top-level boxes than this is no video being written; the file counts as unfinished. */
const MAX_TOP_LEVEL_BOXES = 10_000;

type Check = (file: ReadAt) => Promise<boolean>;

/** A PNG is complete once its IEND chunk is written; a few trailing bytes after it are tolerated. */
async function pngComplete(file: ReadAt): Promise<boolean> {
  if (file.size < PNG_SIGNATURE.length + PNG_IEND_CHUNK.length) return false;
  if (!startsWith(await file.read(0, PNG_SIGNATURE.length), PNG_SIGNATURE)) return false;
  const start = Math.max(PNG_SIGNATURE.length, file.size - TAIL_WINDOW);
  return contains(await file.read(start, file.size - start), PNG_IEND_CHUNK);
}

/** A WebP is complete when its RIFF length covers the whole file. */
async function webpComplete(file: ReadAt): Promise<boolean> {
  return webpFileLength(await file.read(0, WEBP_HEADER_BYTES)) === file.size;
}

/** A GIF ends with its trailer byte. */
async function gifComplete(file: ReadAt): Promise<boolean> {
  return (await file.read(file.size - 1, 1))[0] === GIF_TRAILER;
}

/**
 * An MP4/MOV is complete when its top-level boxes tile the file exactly and one of them is `moov`.
 * ffmpeg writes `moov` only when it closes the file, so a growing video has none.
 */
async function isoBmffComplete(file: ReadAt): Promise<boolean> {
  const walk = await walkBoxes(file, 0, file.size, MAX_TOP_LEVEL_BOXES);
  return !walk.stop && walk.boxes.some((box) => box.type === 'moov');
}

/**
 * An AVIF or HEIC still image has no `moov`: it is complete when its top-level boxes tile the file
 * exactly and hold its `meta` (the item list) and `mdat` (the pixels). An image sequence (`avis`)
 * carries a `moov` too; either box names a finished file.
 */
async function heifComplete(file: ReadAt): Promise<boolean> {
  const walk = await walkBoxes(file, 0, file.size, MAX_TOP_LEVEL_BOXES);
  if (walk.stop) return false;
  const types = new Set(walk.boxes.map((box) => box.type));
  return types.has('moov') || (types.has('meta') && types.has('mdat'));
}

/** The check for each format the bytes declare; a declared format without one needs none. */
const CHECKS: Partial<Record<MediaFormat, Check>> = {
  png: pngComplete,
  webp: webpComplete,
  gif: gifComplete,
  mp4: isoBmffComplete,
  heif: heifComplete,
};

/** The format a name promises, for bytes too few to declare one yet. */
const CHECKED_EXTENSIONS: Record<string, MediaFormat> = {
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  mp4: 'mp4',
  mov: 'mp4',
  m4v: 'mp4',
  avif: 'heif',
  heic: 'heif',
};

/** Whether the format of `name` has a structural completeness check. */
export function hasCompletenessCheck(name: string): boolean {
  return extension(name) in CHECKED_EXTENSIONS;
}

/**
 * False when the file's own structure shows it is not finished. The check is picked by the file's
 * magic bytes, so a JPEG saved as `.png` (common for Civitai downloads) is checked as a JPEG instead
 * of waiting forever for a PNG IEND; only bytes that declare no format fall back to the name (a
 * file too short to hold its signature yet). Formats without a check (JPEG, WebM, audio, text)
 * count as complete; the settle window guards them.
 */
export function isStructurallyComplete(handle: FileHandle, name: string, size: number): Promise<boolean> {
  return isCompleteAt(fileReadAt(handle, size), name);
}

/** isStructurallyComplete over any ReadAt: the bytes of a small file already read whole, say. */
export async function isCompleteAt(file: ReadAt, name: string): Promise<boolean> {
  const format = sniffFormat(await file.read(0, SNIFF_BYTES));
  const check = CHECKS[format === 'unknown' ? (CHECKED_EXTENSIONS[extension(name)] ?? format) : format];
  return check ? check(file) : true;
}

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}
