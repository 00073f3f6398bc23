// Test-only builders for small synthetic PNG, JPEG, WebP, TIFF/EXIF, MP4 and WebM files.
import { crc32, deflateSync } from 'node:zlib';

// ---- PNG

export const PNG_SIGNATURE_BYTES = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngChunk(type: string, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(data)]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(body.length - 4, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** A 1×1 greyscale PNG's IHDR and IDAT. */
export const IHDR = pngChunk('IHDR', Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
export const IDAT = pngChunk('IDAT', deflateSync(Buffer.from([0, 0])));
export const IEND = pngChunk('IEND');

/** Signature, IHDR, the given chunks (add IDAT where wanted), IEND. */
export function png(...chunks: Buffer[]): Buffer {
  return Buffer.concat([PNG_SIGNATURE_BYTES, IHDR, ...chunks, IEND]);
}

export function tEXt(keyword: string, text: string): Buffer {
  return pngChunk(
    'tEXt',
    Buffer.concat([Buffer.from(`${keyword}\0`, 'latin1'), Buffer.from(text, 'latin1')]),
  );
}

export function zTXt(keyword: string, text: string): Buffer {
  const head = Buffer.from(`${keyword}\0\0`, 'latin1');
  return pngChunk('zTXt', Buffer.concat([head, deflateSync(Buffer.from(text, 'latin1'))]));
}

export function iTXt(
  keyword: string,
  text: string,
  options: { compressed?: boolean; language?: string } = {},
): Buffer {
  const body = Buffer.from(text, 'utf8');
  const head = Buffer.concat([
    Buffer.from(`${keyword}\0`, 'latin1'),
    Buffer.from([options.compressed ? 1 : 0, 0]),
    Buffer.from(`${options.language ?? ''}\0${keyword}\0`, 'utf8'),
  ]);
  return pngChunk('iTXt', Buffer.concat([head, options.compressed ? deflateSync(body) : body]));
}

// ---- TIFF / EXIF

export interface TiffEntry {
  tag: number;
  /** 2 = ASCII, 7 = UNDEFINED. */
  type: 2 | 7;
  value: Buffer;
}

/** A TIFF block with IFD0 entries and optionally an Exif sub-IFD, in either byte order. */
export function tiff(options: { le: boolean; ifd0?: TiffEntry[]; exif?: TiffEntry[] }): Buffer {
  const { le } = options;
  const ifd0 = [...(options.ifd0 ?? [])];
  const exif = options.exif ?? [];
  const hasExif = exif.length > 0;
  const ifd0Size = 2 + (ifd0.length + (hasExif ? 1 : 0)) * 12 + 4;
  const exifOffset = 8 + ifd0Size;
  const exifSize = hasExif ? 2 + exif.length * 12 + 4 : 0;
  let dataOffset = exifOffset + exifSize;
  const data: Buffer[] = [];
  const u16 = (value: number) => {
    const b = Buffer.alloc(2);
    if (le) b.writeUInt16LE(value);
    else b.writeUInt16BE(value);
    return b;
  };
  const u32 = (value: number) => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(value);
    else b.writeUInt32BE(value);
    return b;
  };
  const ifd = (entries: { tag: number; type: number; value: Buffer }[]) => {
    const parts = [u16(entries.length)];
    for (const entry of [...entries].sort((a, b) => a.tag - b.tag)) {
      parts.push(u16(entry.tag), u16(entry.type), u32(entry.value.length / (entry.type === 4 ? 4 : 1)));
      if (entry.value.length <= 4) {
        parts.push(Buffer.concat([entry.value, Buffer.alloc(4 - entry.value.length)]));
      } else {
        parts.push(u32(dataOffset));
        data.push(entry.value);
        dataOffset += entry.value.length;
      }
    }
    parts.push(u32(0));
    return Buffer.concat(parts);
  };
  const entries0 = hasExif ? [...ifd0, { tag: 0x8769, type: 4, value: u32(exifOffset) }] : ifd0;
  const head = Buffer.concat([Buffer.from(le ? 'II' : 'MM', 'latin1'), u16(42), u32(8)]);
  const first = ifd(entries0);
  const second = hasExif ? ifd(exif) : Buffer.alloc(0);
  return Buffer.concat([head, first, second, ...data]);
}

export function asciiEntry(tag: number, text: string): TiffEntry {
  return { tag, type: 2, value: Buffer.from(`${text}\0`, 'utf8') };
}

/** A UserComment value: `UNICODE\0` and UTF-16 in the given byte order, or `ASCII\0\0\0` and the text. */
export function userComment(
  text: string,
  encoding: 'utf16be' | 'utf16le' | 'ascii' | 'undefined' | 'raw',
): TiffEntry {
  let body: Buffer;
  if (encoding === 'raw') {
    body = Buffer.from(text, 'utf8'); // ComfyUI JPEG savers: no charset prefix at all
  } else if (encoding === 'undefined') {
    body = Buffer.concat([Buffer.alloc(8), Buffer.from(text, 'utf8')]);
  } else if (encoding === 'ascii') {
    body = Buffer.concat([Buffer.from('ASCII\0\0\0', 'latin1'), Buffer.from(text, 'utf8')]);
  } else {
    const utf16 = Buffer.from(text, 'utf16le');
    if (encoding === 'utf16be') utf16.swap16();
    body = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), utf16]);
  }
  return { tag: 0x9286, type: 7, value: body };
}

// ---- JPEG and WebP

function jpegSegment(marker: number, data: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
}

/** SOI, JFIF APP0, an APP1 Exif segment when given, a stub scan, EOI. */
export function jpeg(exifTiff?: Buffer): Buffer {
  const app0 = jpegSegment(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1'));
  const app1 = exifTiff
    ? jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exifTiff]))
    : Buffer.alloc(0);
  const sos = jpegSegment(0xda, Buffer.from([1, 1, 0, 0, 0x3f, 0]));
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, app1, sos, Buffer.from([0x12, 0x34, 0xff, 0xd9])]);
}

export function riffChunk(fourcc: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data, Buffer.alloc(data.length & 1)]);
}

/** A WebP RIFF with a VP8X header, a stub VP8L frame, and the given chunks. */
export function webp(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat([
    Buffer.from('WEBP', 'latin1'),
    riffChunk('VP8X', Buffer.from([0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
    riffChunk('VP8L', Buffer.from([0x2f, 0, 0, 0, 0])),
    ...chunks,
  ]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

// ---- MP4

export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length + 8, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** An ilst item whose `data` box holds UTF-8 text. `name` is a four-character code or a 1-based key index. */
export function ilstItem(name: string | number, text: string): Buffer {
  const data = box('data', Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]), Buffer.from(text, 'utf8'));
  if (typeof name === 'string') return box(name, data);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length + 8, 0);
  head.writeUInt32BE(name, 4);
  return Buffer.concat([head, data]);
}

/** A full-box `meta` with ffmpeg's `-movflags use_metadata_tags` layout: mdta hdlr, keys, ilst. */
export function mdtaMeta(tags: [string, string][]): Buffer {
  const fullBox = Buffer.alloc(4);
  const hdlr = box('hdlr', Buffer.alloc(8), Buffer.from('mdta', 'latin1'), Buffer.alloc(13));
  const count = Buffer.alloc(4);
  count.writeUInt32BE(tags.length);
  const keys = box('keys', fullBox, count, ...tags.map(([key]) => box('mdta', Buffer.from(key, 'utf8'))));
  const ilst = box('ilst', ...tags.map(([, value], i) => ilstItem(i + 1, value)));
  return box('meta', fullBox, hdlr, keys, ilst);
}

/** ffmpeg's default layout for a comment: udta/meta (mdir handler)/ilst/©cmt. */
export function udtaComment(text: string): Buffer {
  const hdlr = box('hdlr', Buffer.alloc(8), Buffer.from('mdirappl', 'latin1'), Buffer.alloc(9));
  return box('udta', box('meta', Buffer.alloc(4), hdlr, box('ilst', ilstItem('©cmt', text))));
}

export const FTYP = box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2avc1mp41', 'latin1'));

// ---- Matroska / WebM

function ebmlSize(size: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt8(0x01, 0);
  out.writeUIntBE(size, 2, 6);
  return out;
}

/** An EBML element; sizes are always written in 8 bytes, as a muxer reserving space would. */
export function ebml(id: number, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const idBytes = Buffer.alloc(4);
  idBytes.writeUInt32BE(id);
  const firstNonZero = idBytes.findIndex((byte) => byte !== 0);
  return Buffer.concat([idBytes.subarray(firstNonZero), ebmlSize(body.length), body]);
}

export function simpleTag(name: string, value: string): Buffer {
  return ebml(0x67c8, ebml(0x45a3, Buffer.from(name, 'utf8')), ebml(0x4487, Buffer.from(value, 'utf8')));
}

/** EBML header (webm doctype), then a Segment holding the given elements. */
export function webm(...elements: Buffer[]): Buffer {
  const header = ebml(0x1a45dfa3, ebml(0x4282, Buffer.from('webm', 'latin1')));
  return Buffer.concat([header, ebml(0x18538067, ...elements)]);
}

export function matroskaTags(...simpleTags: Buffer[]): Buffer {
  return ebml(0x1254c367, ebml(0x7373, ebml(0x63c0), ...simpleTags));
}

export const CLUSTER_ID = 0x1f43b675;
export const INFO = ebml(0x1549a966, ebml(0x2ad7b1, Buffer.from([0x0f, 0x42, 0x40])));
