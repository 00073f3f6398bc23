// What kind of media a file is and its picture size in pixels, from the format's own headers.
import type { MediaInfo, MediaKind } from '../../common/generation-metadata.js';
import { WindowedReader } from '../../common/media/read-at.js';
import type { MediaFormat } from '../../common/media/sniff-format.js';
import type { ByteSource } from './byte-source.js';
import type { PngTextScan } from './png-chunks.js';

/** The kind a format has when its headers say nothing more. */
export function kindOfFormat(format: MediaFormat): MediaKind {
  switch (format) {
    case 'png':
    case 'jpeg':
    case 'webp':
    case 'gif':
    case 'heif':
      return 'image';
    case 'mp4':
    case 'matroska':
      return 'video';
    case 'flac':
    case 'ogg':
    case 'mp3':
      return 'audio';
    case 'unknown':
      return 'other';
  }
}

/** A size only when both sides are positive: some writers leave zeros. */
export function sized(kind: MediaKind, width: number | undefined, height: number | undefined): MediaInfo {
  return width && height && width > 0 && height > 0 ? { kind, width, height } : { kind };
}

export function pngMedia(scan: PngTextScan): MediaInfo {
  return sized(scan.animated ? 'animated' : 'image', scan.header?.width, scan.header?.height);
}

const MAX_SEGMENTS = 100_000;
/** SOFn markers: C0-CF but DHT (C4), JPG (C8) and DAC (CC). */
const isFrameMarker = (marker: number) =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/** A JPEG's size from its first start-of-frame segment, walking segment headers only. Never throws. */
export async function jpegMedia(source: ByteSource): Promise<MediaInfo> {
  const reader = new WindowedReader(source);
  let position = 2;
  for (let count = 0; count < MAX_SEGMENTS; count++) {
    const header = await reader.read(position, 9);
    if (header.length < 4 || header[0] !== 0xff) break;
    const marker = header[1]!;
    if (marker === 0xff) {
      position += 1;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      position += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break;
    if (isFrameMarker(marker)) {
      if (header.length < 9) break;
      return sized('image', header.readUInt16BE(7), header.readUInt16BE(5));
    }
    position += 2 + header.readUInt16BE(2);
  }
  return { kind: 'image' };
}

/** A WebP's canvas size from its first chunk (VP8X, VP8L or VP8); VP8X says whether it is animated. */
export async function webpMedia(source: ByteSource): Promise<MediaInfo> {
  const head = await source.read(0, 30);
  const fourcc = head.toString('latin1', 12, 16);
  // VP8L: a signature byte, then 14 bits each of width - 1 and height - 1 (25 bytes in all).
  if (fourcc === 'VP8L' && head.length >= 25 && head[20] === 0x2f) {
    const bits = head.readUInt32LE(21);
    return sized('image', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (head.length < 30) return { kind: 'image' };
  if (fourcc === 'VP8X') {
    const animated = (head[20]! & 0x02) !== 0;
    return sized(animated ? 'animated' : 'image', head.readUIntLE(24, 3) + 1, head.readUIntLE(27, 3) + 1);
  }
  // VP8: a 3-byte frame tag, the start code 9d 01 2a, then 14-bit width and height.
  if (fourcc === 'VP8 ' && head.readUIntBE(23, 3) === 0x9d012a) {
    return sized('image', head.readUInt16LE(26) & 0x3fff, head.readUInt16LE(28) & 0x3fff);
  }
  return { kind: 'image' };
}

/** Bytes of a GIF walked for a second frame; past them a GIF counts as animated only with a looping extension. */
const GIF_SCAN_BYTES = 1 << 20;

/**
 * A GIF's logical screen size, and whether it is animated: a NETSCAPE2.0 (or ANIMEXTS1.0) looping
 * extension, or a second image, within its first MiB.
 */
export async function gifMedia(source: ByteSource): Promise<MediaInfo> {
  const reader = new WindowedReader(source);
  const head = await reader.read(0, 13);
  if (head.length < 13) return { kind: 'image' };
  const width = head.readUInt16LE(6);
  const height = head.readUInt16LE(8);
  const table = (flags: number) => ((flags & 0x80) !== 0 ? 3 << ((flags & 0x07) + 1) : 0);
  let position = 13 + table(head[10]!);
  let images = 0;
  const end = Math.min(source.size, GIF_SCAN_BYTES);
  while (position < end) {
    const [introducer, label] = await reader.read(position, 2);
    if (introducer === 0x2c) {
      if (++images > 1) break;
      const descriptor = await reader.read(position, 10);
      if (descriptor.length < 10) break;
      position += 10 + table(descriptor[9]!) + 1; // the LZW minimum code size byte
    } else if (introducer === 0x21) {
      if (label === 0xff) {
        const id = (await reader.read(position + 3, 11)).toString('latin1');
        if (id === 'NETSCAPE2.0' || id === 'ANIMEXTS1.0') return sized('animated', width, height);
      }
      position += 2;
    } else {
      break; // the trailer, or something that is not a block
    }
    // Data sub-blocks: a length byte and that many bytes each, until a zero length.
    for (let size = (await reader.read(position, 1))[0]; size; size = (await reader.read(position, 1))[0]) {
      position += 1 + size;
    }
    position += 1;
  }
  return sized(images > 1 ? 'animated' : 'image', width, height);
}
