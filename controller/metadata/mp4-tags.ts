// Reads text metadata tags from an MP4/MOV (moov/udta/meta/ilst and moov/meta keys+ilst), seeking past media data.
import { type Box, walkBoxes } from '../../common/media/iso-boxes.js';
import { WindowedReader } from '../../common/media/read-at.js';
import type { ByteSource } from './byte-source.js';

/** Tags found in a video container, by lower-case name, plus what could not be read. */
export interface ContainerTags {
  tags: Map<string, string>;
  problems: string[];
  /** The first video track's picture size, in pixels. */
  frame?: { width: number; height: number };
  /** Set when the tracks were listed and none of them is video. */
  audioOnly?: boolean;
}

/** Largest metadata box read whole; the rest of the file is only walked by box headers. */
export const MAX_TAG_BOX_BYTES = 32 << 20;
const MAX_BOXES = 100_000;

/** iTunes-style item names, for the few that carry generator metadata. */
const ITEM_NAMES: Record<string, string> = { '©cmt': 'comment', desc: 'description', '©nam': 'title' };

/**
 * Finds `moov` among the top-level boxes (which may follow a large `mdat`) and reads its tags:
 * ffmpeg's `©cmt` (where VideoHelperSuite puts its JSON) and `-movflags use_metadata_tags` keys (where
 * ComfyUI puts `prompt` and `workflow`). A file still being written has no `moov`; that is not an error.
 */
export async function readMp4Tags(source: ByteSource): Promise<ContainerTags> {
  const reader = new WindowedReader(source);
  const result: ContainerTags = { tags: new Map(), problems: [] };
  const moov = (await childBoxes(reader, 0, source.size, result.problems)).find((box) => box.type === 'moov');
  if (!moov) return result;
  let tracks = 0;
  for (const child of await childBoxes(reader, moov.body, moov.end, result.problems)) {
    if (child.type === 'meta') await readMeta(reader, child, result);
    if (child.type === 'trak') {
      tracks++;
      result.frame ??= await trackFrame(reader, child, result.problems);
    }
    if (child.type !== 'udta') continue;
    for (const item of await childBoxes(reader, child.body, child.end, result.problems)) {
      if (item.type === 'meta') await readMeta(reader, item, result);
    }
  }
  if (tracks > 0 && !result.frame) result.audioOnly = true;
  return result;
}

/**
 * A track's picture size from its `tkhd`: 16.16 fixed-point width and height at its end (offset 76
 * of a version 0 box, 88 of version 1). Audio tracks have zeros there.
 */
async function trackFrame(
  reader: WindowedReader<Buffer>,
  trak: Box,
  problems: string[],
): Promise<{ width: number; height: number } | undefined> {
  const tkhd = (await childBoxes(reader, trak.body, trak.end, problems)).find((box) => box.type === 'tkhd');
  if (!tkhd) return undefined;
  const body = await reader.read(tkhd.body, 96);
  const at = body[0] === 1 ? 88 : 76;
  if (body.length < at + 8 || tkhd.body + at + 8 > tkhd.end) return undefined;
  const width = body.readUInt32BE(at) >>> 16;
  const height = body.readUInt32BE(at + 4) >>> 16;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** The boxes between start and end, by header only. A box running past `end` is reported and ends the walk. */
async function childBoxes(
  reader: WindowedReader<Buffer>,
  start: number,
  end: number,
  problems: string[],
): Promise<Box[]> {
  const { boxes, stop } = await walkBoxes(reader, start, end, MAX_BOXES);
  // A growing file's mdat runs past the end: normal while it is written, so only odd boxes are reported.
  if (stop?.kind === 'overrun' && stop.type !== 'mdat') {
    problems.push(`MP4 box ${JSON.stringify(stop.type)} at offset ${stop.offset} runs past its parent`);
  }
  return boxes;
}

async function readMeta(reader: WindowedReader<Buffer>, meta: Box, result: ContainerTags): Promise<void> {
  // MP4 `meta` is a full box (4 bytes of version and flags); QuickTime's is not.
  const peek = await reader.read(meta.body, 12);
  const body = peek.toString('latin1', 4, 8) === 'hdlr' ? meta.body : meta.body + 4;
  let keys: string[] = [];
  for (const child of await childBoxes(reader, body, meta.end, result.problems)) {
    if (child.end - child.body > MAX_TAG_BOX_BYTES) {
      result.problems.push(
        `MP4 ${child.type} box is ${child.end - child.body} bytes, over the limit; skipped`,
      );
      continue;
    }
    if (child.type === 'keys') keys = parseKeys(await reader.read(child.body, child.end - child.body));
    if (child.type === 'ilst')
      parseItems(await reader.read(child.body, child.end - child.body), keys, result);
  }
}

/** `keys`: version/flags, a count, then boxes of (size, namespace, name). */
function parseKeys(data: Buffer): string[] {
  const keys: string[] = [];
  let position = 8;
  while (position + 8 <= data.length) {
    const size = data.readUInt32BE(position);
    if (size < 8 || position + size > data.length) break;
    keys.push(data.toString('utf8', position + 8, position + size));
    position += size;
  }
  return keys;
}

/** `ilst`: items named by a four-character code or by a 1-based index into `keys`, each with a `data` box. */
function parseItems(data: Buffer, keys: string[], result: ContainerTags): void {
  let position = 0;
  while (position + 8 <= data.length) {
    const size = data.readUInt32BE(position);
    if (size < 8 || position + size > data.length) {
      result.problems.push('MP4 ilst item runs past the end of its box');
      break;
    }
    const index = data.readUInt32BE(position + 4);
    const code = data.toString('latin1', position + 4, position + 8);
    const name = keys[index - 1] ?? ITEM_NAMES[code] ?? code;
    const value = dataBoxText(data.subarray(position + 8, position + size));
    if (value !== undefined) result.tags.set(name.toLowerCase(), value);
    position += size;
  }
}

function dataBoxText(item: Buffer): string | undefined {
  if (item.length < 16 || item.toString('latin1', 4, 8) !== 'data') return undefined;
  const size = Math.min(item.readUInt32BE(0), item.length);
  // type 1 is UTF-8; other types (images, integers) are not text
  return item.readUInt32BE(8) === 1 ? item.toString('utf8', 16, size) : undefined;
}
