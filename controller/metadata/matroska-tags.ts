// Reads SimpleTag name/string pairs from a WebM/Matroska file's Tags element, seeking past clusters.
import { WindowedReader } from '../../common/media/read-at.js';
import { EBML_MAGIC } from '../../common/media/signatures.js';
import type { ByteSource } from './byte-source.js';
import { type ContainerTags, MAX_TAG_BOX_BYTES } from './mp4-tags.js';

/** The element IDs read here, marker bits kept, as the Matroska spec names them. */
const ID = {
  SEGMENT: 0x18538067,
  CLUSTER: 0x1f43b675,
  TAGS: 0x1254c367,
  TAG: 0x7373,
  SIMPLE_TAG: 0x67c8,
  TAG_NAME: 0x45a3,
  TAG_STRING: 0x4487,
  TRACKS: 0x1654ae6b,
  TRACK_ENTRY: 0xae,
  TRACK_TYPE: 0x83,
  VIDEO: 0xe0,
  PIXEL_WIDTH: 0xb0,
  PIXEL_HEIGHT: 0xba,
} as const;
/** Largest Tracks element read; real ones are a few hundred bytes, codec private data included. */
const MAX_TRACKS_BYTES = 1 << 20;
const MAX_ELEMENTS = 100_000;

interface ElementHeader {
  id: number;
  /** Payload size, or null when the size is unknown (a live or unfinished stream). */
  size: number | null;
  headerLength: number;
}

/**
 * Walks the Segment's top-level elements by header and parses each Tags element, and the Tracks
 * element for the picture size. ffmpeg writes the
 * global tags (VideoHelperSuite's `COMMENT`, ComfyUI's `PROMPT` and `WORKFLOW`) before the first
 * cluster; clusters of known size are skipped to find tags written at the end.
 */
export async function readMatroskaTags(source: ByteSource): Promise<ContainerTags> {
  const reader = new WindowedReader(source);
  const result: ContainerTags = { tags: new Map(), problems: [] };
  const ebml = parseHeader(await reader.read(0, 12));
  if (!ebml || ebml.id !== EBML_MAGIC || ebml.size === null) {
    result.problems.push('not a Matroska/WebM file: no EBML header');
    return result;
  }
  let position = ebml.headerLength + ebml.size;
  const segment = parseHeader(await reader.read(position, 12));
  if (!segment || segment.id !== ID.SEGMENT) return result;
  position += segment.headerLength;
  const end = segment.size === null ? source.size : Math.min(source.size, position + segment.size);
  for (let count = 0; position < end && count < MAX_ELEMENTS; count++) {
    const header = parseHeader(await reader.read(position, 12));
    if (!header || header.size === null) break; // an unfinished cluster cannot be skipped
    const body = position + header.headerLength;
    if (header.id === ID.TAGS) {
      if (header.size > MAX_TAG_BOX_BYTES || body + header.size > source.size) {
        result.problems.push(
          `Matroska Tags element at offset ${position} is too large or cut short; skipped`,
        );
      } else {
        parseTags(await reader.read(body, header.size), result);
      }
    } else if (header.id === ID.TRACKS && header.size <= MAX_TRACKS_BYTES && !result.frame) {
      parseTracks(await reader.read(body, header.size), result);
    } else if (header.id === ID.CLUSTER && body + header.size > source.size) {
      break;
    }
    position = body + header.size;
  }
  return result;
}

function parseTags(data: Buffer, result: ContainerTags): void {
  for (const tag of children(data)) {
    if (tag.id !== ID.TAG) continue;
    for (const simple of children(tag.data)) {
      if (simple.id !== ID.SIMPLE_TAG) continue;
      let name: string | undefined;
      let value: string | undefined;
      for (const field of children(simple.data)) {
        if (field.id === ID.TAG_NAME) name = field.data.toString('utf8');
        if (field.id === ID.TAG_STRING) value = field.data.toString('utf8');
      }
      if (name !== undefined && value !== undefined) result.tags.set(name.toLowerCase(), value);
    }
  }
}

/** The first video track's PixelWidth and PixelHeight; audioOnly when every track says it is audio (type 2). */
function parseTracks(data: Buffer, result: ContainerTags): void {
  let tracks = 0;
  let audio = 0;
  for (const entry of children(data)) {
    if (entry.id !== ID.TRACK_ENTRY) continue;
    tracks++;
    for (const field of children(entry.data)) {
      if (field.id === ID.TRACK_TYPE && uint(field.data) === 2) audio++;
      if (field.id !== ID.VIDEO || result.frame) continue;
      let width = 0;
      let height = 0;
      for (const setting of children(field.data)) {
        if (setting.id === ID.PIXEL_WIDTH) width = uint(setting.data);
        if (setting.id === ID.PIXEL_HEIGHT) height = uint(setting.data);
      }
      if (width > 0 && height > 0) result.frame = { width, height };
    }
  }
  if (tracks > 0 && audio === tracks) result.audioOnly = true;
}

function uint(data: Buffer): number {
  return data.length >= 1 && data.length <= 6 ? data.readUIntBE(0, data.length) : 0;
}

function* children(data: Buffer): Generator<{ id: number; data: Buffer }> {
  let position = 0;
  while (position < data.length) {
    const header = parseHeader(data.subarray(position, position + 12));
    if (!header || header.size === null) return;
    const body = position + header.headerLength;
    if (body + header.size > data.length) return;
    yield { id: header.id, data: data.subarray(body, body + header.size) };
    position = body + header.size;
  }
}

/** An element ID (marker bit kept, up to 4 bytes) and a size (marker bit dropped, up to 8 bytes). */
function parseHeader(bytes: Buffer): ElementHeader | null {
  const id = readVint(bytes, 0, 4, true);
  if (!id) return null;
  const size = readVint(bytes, id.length, 8, false);
  if (!size) return null;
  return { id: id.value, size: size.unknown ? null : size.value, headerLength: id.length + size.length };
}

function readVint(
  bytes: Buffer,
  at: number,
  maxLength: number,
  keepMarker: boolean,
): { value: number; length: number; unknown: boolean } | null {
  const first = bytes[at];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23;
  if (length > maxLength || at + length > bytes.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + bytes[at + i]!;
    if (bytes[at + i] !== 0xff) allOnes = false;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}
