// Media kind and pixel size from each format's headers: PNG/APNG, JPEG, WebP, GIF, MP4, WebM, audio and text.
import { describe, expect, it } from 'vitest';
import { bufferSource } from './byte-source.js';
import { readFromSource } from './extract.js';
import type { MediaInfo } from '../../common/generation-metadata.js';
import {
  FTYP,
  IDAT,
  IEND,
  PNG_SIGNATURE_BYTES,
  box,
  ebml,
  mdtaMeta,
  pngChunk,
  riffChunk,
  webm,
} from '../../test/fixtures/media-builders.js';

function ihdr(width: number, height: number): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = 8;
  data[9] = 2;
  return pngChunk('IHDR', data);
}

function pngOf(width: number, height: number, ...chunks: Buffer[]): Buffer {
  return Buffer.concat([PNG_SIGNATURE_BYTES, ihdr(width, height), ...chunks, IDAT, IEND]);
}

function segment(marker: number, data: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
}

/** SOI, APP0, an APP1 of 300 bytes, the frame header (SOF0 or SOF2) with the size, a stub scan, EOI. */
function jpegOf(width: number, height: number, sof = 0xc0): Buffer {
  const frame = Buffer.from([8, 0, 0, 0, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  frame.writeUInt16BE(height, 1);
  frame.writeUInt16BE(width, 3);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1')),
    segment(0xe1, Buffer.alloc(300)),
    segment(0xdb, Buffer.alloc(65)),
    segment(sof, frame),
    segment(0xc4, Buffer.alloc(20)),
    segment(0xda, Buffer.from([1, 1, 0, 0, 0x3f, 0])),
    Buffer.from([0x12, 0x34, 0xff, 0xd9]),
  ]);
}

function riff(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), ...chunks]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

function vp8x(width: number, height: number, animated: boolean): Buffer {
  const data = Buffer.alloc(10);
  data[0] = animated ? 0x02 : 0;
  data.writeUIntLE(width - 1, 4, 3);
  data.writeUIntLE(height - 1, 7, 3);
  return riffChunk('VP8X', data);
}

function vp8l(width: number, height: number): Buffer {
  const data = Buffer.alloc(5);
  data[0] = 0x2f;
  data.writeUInt32LE(((width - 1) | ((height - 1) << 14)) >>> 0, 1);
  return riffChunk('VP8L', data);
}

function vp8(width: number, height: number): Buffer {
  const data = Buffer.alloc(10);
  data.writeUIntBE(0x9d012a, 3, 3);
  data.writeUInt16LE(width, 6);
  data.writeUInt16LE(height, 8);
  return riffChunk('VP8 ', data);
}

/** A GIF89a: header, a 2-colour global table, the given blocks, trailer. */
function gifOf(width: number, height: number, ...blocks: Buffer[]): Buffer {
  const head = Buffer.alloc(13);
  head.write('GIF89a', 0, 'latin1');
  head.writeUInt16LE(width, 6);
  head.writeUInt16LE(height, 8);
  head[10] = 0x80; // a global colour table of 2 entries
  return Buffer.concat([head, Buffer.alloc(6), ...blocks, Buffer.from([0x3b])]);
}

const GIF_FRAME = Buffer.concat([
  Buffer.from([0x21, 0xf9, 4, 0, 10, 0, 0, 0]), // graphic control extension
  Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]), // image descriptor, 1×1, no local table
  Buffer.from([2, 2, 0x44, 0x01, 0]), // LZW minimum code size, one sub-block, terminator
]);
const NETSCAPE = Buffer.concat([
  Buffer.from([0x21, 0xff, 11]),
  Buffer.from('NETSCAPE2.0', 'latin1'),
  Buffer.from([3, 1, 0, 0, 0]),
]);

/** A `trak` whose `tkhd` (version 0 or 1) gives this size in 16.16 fixed point. */
function trak(width: number, height: number, version: 0 | 1 = 0): Buffer {
  const body = Buffer.alloc(version === 1 ? 96 : 84);
  body[0] = version;
  const at = version === 1 ? 88 : 76;
  body.writeUInt32BE(width * 65536, at);
  body.writeUInt32BE(height * 65536, at + 4);
  return box('trak', box('tkhd', body), box('mdia'));
}

const uint = (id: number, value: number) => ebml(id, Buffer.from([value]));
const u16 = (id: number, value: number) => {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return ebml(id, bytes);
};

const cases: { name: string; file: Buffer; path: string; want: MediaInfo }[] = [
  { name: 'PNG', file: pngOf(1024, 1536), path: 'a.png', want: { kind: 'image', width: 1024, height: 1536 } },
  {
    name: 'animated PNG (acTL before IDAT)',
    file: pngOf(512, 512, pngChunk('acTL', Buffer.from([0, 0, 0, 8, 0, 0, 0, 0]))),
    path: 'a.png',
    want: { kind: 'animated', width: 512, height: 512 },
  },
  {
    name: 'JPEG baseline',
    file: jpegOf(832, 1216),
    path: 'a.jpg',
    want: { kind: 'image', width: 832, height: 1216 },
  },
  {
    name: 'JPEG progressive',
    file: jpegOf(3000, 2000, 0xc2),
    path: 'a.jpg',
    want: { kind: 'image', width: 3000, height: 2000 },
  },
  {
    name: 'WebP lossy (VP8)',
    file: riff(vp8(768, 512)),
    path: 'a.webp',
    want: { kind: 'image', width: 768, height: 512 },
  },
  {
    name: 'WebP lossless (VP8L)',
    file: riff(vp8l(1000, 16384)),
    path: 'a.webp',
    want: { kind: 'image', width: 1000, height: 16384 },
  },
  {
    name: 'WebP extended, still',
    file: riff(vp8x(2048, 1152, false), vp8l(2048, 1152)),
    path: 'a.webp',
    want: { kind: 'image', width: 2048, height: 1152 },
  },
  {
    name: 'WebP extended, animated',
    file: riff(vp8x(512, 768, true), riffChunk('ANIM', Buffer.alloc(6))),
    path: 'a.webp',
    want: { kind: 'animated', width: 512, height: 768 },
  },
  {
    name: 'GIF, one frame',
    file: gifOf(320, 240, GIF_FRAME),
    path: 'a.gif',
    want: { kind: 'image', width: 320, height: 240 },
  },
  {
    name: 'GIF, two frames',
    file: gifOf(320, 240, GIF_FRAME, GIF_FRAME),
    path: 'a.gif',
    want: { kind: 'animated', width: 320, height: 240 },
  },
  {
    name: 'GIF with a looping extension',
    file: gifOf(64, 48, NETSCAPE, GIF_FRAME),
    path: 'a.gif',
    want: { kind: 'animated', width: 64, height: 48 },
  },
  {
    name: 'MP4: the video track after an audio track',
    file: Buffer.concat([FTYP, box('moov', trak(0, 0), trak(1280, 720), mdtaMeta([['prompt', '{}']]))]),
    path: 'v.mp4',
    want: { kind: 'video', width: 1280, height: 720 },
  },
  {
    name: 'MP4 with a version 1 tkhd',
    file: Buffer.concat([FTYP, box('moov', trak(720, 1280, 1))]),
    path: 'v.mp4',
    want: { kind: 'video', width: 720, height: 1280 },
  },
  {
    name: 'MP4 still being written (no moov yet)',
    file: Buffer.concat([FTYP, box('mdat', Buffer.alloc(64))]),
    path: 'v.mp4',
    want: { kind: 'video' },
  },
  {
    name: 'M4A: tracks, none of them video',
    file: Buffer.concat([FTYP, box('moov', trak(0, 0))]),
    path: 'a.m4a',
    want: { kind: 'audio' },
  },
  {
    name: 'WebM',
    file: webm(
      ebml(
        0x1654ae6b,
        ebml(0xae, uint(0x83, 1), ebml(0xe0, u16(0xb0, 854), u16(0xba, 480))),
        ebml(0xae, uint(0x83, 2)),
      ),
    ),
    path: 'v.webm',
    want: { kind: 'video', width: 854, height: 480 },
  },
  {
    name: 'WebM with only an audio track',
    file: webm(ebml(0x1654ae6b, ebml(0xae, uint(0x83, 2)))),
    path: 'a.webm',
    want: { kind: 'audio' },
  },
  { name: 'FLAC', file: Buffer.from('fLaC\0\0\0\x22', 'latin1'), path: 'a.flac', want: { kind: 'audio' } },
  { name: 'Opus', file: Buffer.from('OggS\0\x02\0\0', 'latin1'), path: 'a.opus', want: { kind: 'audio' } },
  { name: 'MP3', file: Buffer.from('ID3\x04\0\0\0\0\0\0', 'latin1'), path: 'a.mp3', want: { kind: 'audio' } },
  {
    name: 'AVIF',
    file: Buffer.from('\0\0\0\x1cftypavif\0\0\0\0', 'latin1'),
    path: 'a.avif',
    want: { kind: 'image' },
  },
  {
    name: 'Forge .txt sidecar',
    file: Buffer.from('a cat\nSteps: 1, Seed: 2, Size: 3x4'),
    path: '00000-2.txt',
    want: { kind: 'other' },
  },
  { name: 'bytes of no known format', file: Buffer.from('hello'), path: 'x.bin', want: { kind: 'other' } },
  {
    name: 'a truncated PNG keeps its size',
    file: pngOf(64, 32).subarray(0, 40),
    path: 'a.png',
    want: { kind: 'image', width: 64, height: 32 },
  },
];

describe('media kind and pixel size', () => {
  it.each(cases)('$name', async ({ file, path, want }) => {
    expect((await readFromSource(bufferSource(file), path)).media).toStrictEqual(want);
  });
});
