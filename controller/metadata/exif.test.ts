// Unit tests for EXIF reading: UserComment encodings, both TIFF byte orders, ASCII tags, and broken blocks.
import { describe, expect, it } from 'vitest';
import { bufferSource } from './byte-source.js';
import { decodeUserComment, type ExifTexts, parseExif } from './exif.js';
import { findJpegExif, findWebpExif } from './exif-containers.js';
import { asciiEntry, jpeg, riffChunk, tiff, userComment, webp } from '../../test/fixtures/media-builders.js';

const utf16 = (text: string, order: 'be' | 'le') => {
  const bytes = Buffer.from(text, 'utf16le');
  return order === 'be' ? bytes.swap16() : bytes;
};
const prefixed = (prefix: string, body: Buffer) => Buffer.concat([Buffer.from(prefix, 'latin1'), body]);

describe('decodeUserComment', () => {
  it.each([
    {
      name: 'UNICODE big-endian (A1111/piexif) in a big-endian TIFF',
      le: false,
      value: prefixed('UNICODE\0', utf16('photo\nSteps: 1', 'be')),
      want: 'photo\nSteps: 1',
    },
    {
      name: 'UNICODE big-endian in a little-endian TIFF: zero bytes decide',
      le: true,
      value: prefixed('UNICODE\0', utf16('duck', 'be')),
      want: 'duck',
    },
    {
      name: 'UNICODE little-endian in a little-endian TIFF (exiftool)',
      le: true,
      value: prefixed('UNICODE\0', utf16('duck', 'le')),
      want: 'duck',
    },
    {
      name: 'UNICODE little-endian in a big-endian TIFF: zero bytes decide',
      le: false,
      value: prefixed('UNICODE\0', utf16('duck', 'le')),
      want: 'duck',
    },
    {
      name: 'UNICODE CJK without zero bytes follows the TIFF order (LE)',
      le: true,
      value: prefixed('UNICODE\0', utf16('猫の絵', 'le')),
      want: '猫の絵',
    },
    {
      name: 'UNICODE CJK without zero bytes follows the TIFF order (BE)',
      le: false,
      value: prefixed('UNICODE\0', utf16('猫の絵', 'be')),
      want: '猫の絵',
    },
    {
      name: 'UNICODE with a BOM',
      le: true,
      value: prefixed('UNICODE\0', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16('猫', 'be')])),
      want: '猫',
    },
    {
      name: 'UNICODE with an odd trailing byte and NUL padding',
      le: false,
      value: prefixed('UNICODE\0', Buffer.concat([utf16('ab\0', 'be'), Buffer.from([0])])),
      want: 'ab',
    },
    {
      name: 'ASCII',
      le: false,
      value: prefixed('ASCII\0\0\0', Buffer.from('a cat\0', 'latin1')),
      want: 'a cat',
    },
    {
      name: 'undefined charset holding UTF-8',
      le: false,
      value: prefixed('\0\0\0\0\0\0\0\0', Buffer.from('café', 'utf8')),
      want: 'café',
    },
    {
      name: 'no charset prefix at all',
      le: false,
      value: Buffer.from('plain text', 'latin1'),
      want: 'plain text',
    },
  ])('$name', ({ value, le, want }) => {
    expect(decodeUserComment(value, le)).toBe(want);
  });
});

describe('parseExif', () => {
  const comfy = [asciiEntry(0x010f, 'workflow:{"nodes":[]}'), asciiEntry(0x0110, 'prompt:{"3":{}}')];
  it.each([
    {
      name: 'big-endian, UserComment in the Exif IFD, with the Exif\\0\\0 header',
      block: Buffer.concat([
        Buffer.from('Exif\0\0', 'latin1'),
        tiff({ le: false, exif: [userComment('hi', 'utf16be')] }),
      ]),
      want: { userComment: 'hi', ascii: new Map(), problems: [] },
    },
    {
      name: 'little-endian (Pillow), ComfyUI ASCII tags in IFD0, no header',
      block: tiff({ le: true, ifd0: comfy }),
      want: {
        ascii: new Map([
          [0x010f, 'workflow:{"nodes":[]}'],
          [0x0110, 'prompt:{"3":{}}'],
        ]),
        problems: [],
      },
    },
    {
      name: 'little-endian with UTF-16LE UserComment and ASCII tags together',
      block: tiff({ le: true, ifd0: [asciiEntry(0x010e, 'desc')], exif: [userComment('ü', 'utf16le')] }),
      want: { userComment: 'ü', ascii: new Map([[0x010e, 'desc']]), problems: [] },
    },
    {
      name: 'not a TIFF',
      block: Buffer.from('XX\0*\0\0\0\x08', 'latin1'),
      want: { ascii: new Map(), problems: ['EXIF block does not start with a TIFF header (II or MM)'] },
    },
    {
      name: 'wrong magic',
      block: Buffer.from('MM\0\x2b\0\0\0\x08', 'latin1'),
      want: { ascii: new Map(), problems: ['EXIF TIFF header has a wrong magic number'] },
    },
    {
      name: 'IFD0 offset outside the block',
      block: Buffer.from('II\x2a\0\xff\0\0\0', 'latin1'),
      want: { ascii: new Map(), problems: ['EXIF IFD0 offset 255 is outside the block'] },
    },
  ] as { name: string; block: Buffer; want: ExifTexts }[])('$name', ({ block, want }) => {
    expect(parseExif(block)).toStrictEqual(want);
  });

  it('reports a tag whose value points past the end, and keeps the others', () => {
    const block = tiff({
      le: false,
      ifd0: [asciiEntry(0x010e, 'a long description'), asciiEntry(0x010f, 'make!')],
    });
    const cut = block.subarray(0, block.length - 6);
    expect(parseExif(cut)).toStrictEqual({
      ascii: new Map([[0x010e, 'a long description']]),
      problems: ['EXIF tag 0x10f points past the end of the block'],
    });
  });
});

describe('findJpegExif / findWebpExif', () => {
  it('finds the APP1 Exif segment of a JPEG', async () => {
    const block = tiff({ le: false, exif: [userComment('x', 'utf16be')] });
    const found = await findJpegExif(bufferSource(jpeg(block)));
    expect(found.problems).toStrictEqual([]);
    expect(found.block?.subarray(6)).toStrictEqual(block);
  });

  it('returns no block for a JPEG without EXIF, and reports a truncated one', async () => {
    expect(await findJpegExif(bufferSource(jpeg()))).toStrictEqual({ problems: [] });
    const cut = jpeg(tiff({ le: false, exif: [userComment('x', 'utf16be')] })).subarray(0, 30);
    expect((await findJpegExif(bufferSource(cut))).problems).toStrictEqual([
      'JPEG segment at offset 20 declares 62 bytes, past the end of the file',
    ]);
  });

  it('finds the EXIF chunk of a WebP after image chunks, and reports a truncated chunk', async () => {
    const block = tiff({ le: true, ifd0: [asciiEntry(0x0110, 'prompt:{}')] });
    const file = webp(riffChunk('ANIM', Buffer.alloc(6)), riffChunk('EXIF', block));
    expect(await findWebpExif(bufferSource(file))).toStrictEqual({ block, problems: [] });
    const cut = file.subarray(0, file.length - 4);
    expect((await findWebpExif(bufferSource(cut))).problems[0]).toMatch(
      /^WebP chunk "EXIF" at offset \d+ declares \d+ bytes but the file ends at \d+/,
    );
  });
});
