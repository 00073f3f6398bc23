// Unit tests for the PNG chunk walker: every text chunk kind, text after IDAT, truncation, and bounded reads.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type ByteSource, bufferSource } from './byte-source.js';
import { decodeLatin1Text, decodeTextChunk, type PngText, readPngTexts } from './png-chunks.js';
import {
  IDAT,
  IEND,
  IHDR,
  iTXt,
  PNG_SIGNATURE_BYTES,
  png,
  pngChunk,
  tEXt,
  zTXt,
} from '../../test/fixtures/media-builders.js';

/** What IHDR of the builders' 1×1 greyscale PNG says. */
const GREY_1X1 = { width: 1, height: 1, bitDepth: 8, colorType: 0, interlaced: false };

/** The data part of a built chunk (between its header and CRC). */
const dataOf = (chunk: Buffer) => chunk.subarray(8, chunk.length - 4);

const decodeCases: { name: string; type: PngText['type']; data: Buffer; want: PngText }[] = [
  {
    name: 'tEXt latin-1',
    type: 'tEXt',
    data: dataOf(tEXt('parameters', 'café')),
    want: { type: 'tEXt', keyword: 'parameters', text: 'café' },
  },
  {
    name: 'tEXt holding UTF-8 (against the spec, but real)',
    type: 'tEXt',
    data: Buffer.from('prompt\0猫 😺', 'utf8'),
    want: { type: 'tEXt', keyword: 'prompt', text: '猫 😺' },
  },
  {
    name: 'zTXt',
    type: 'zTXt',
    data: dataOf(zTXt('parameters', 'a\nb')),
    want: { type: 'zTXt', keyword: 'parameters', text: 'a\nb' },
  },
  {
    name: 'iTXt uncompressed UTF-8 outside latin-1',
    type: 'iTXt',
    data: dataOf(iTXt('parameters', '東京の猫, ★\nSteps: 1')),
    want: { type: 'iTXt', keyword: 'parameters', text: '東京の猫, ★\nSteps: 1' },
  },
  {
    name: 'iTXt compressed, with a language tag',
    type: 'iTXt',
    data: dataOf(iTXt('parameters', 'Ελληνικά', { compressed: true, language: 'el' })),
    want: { type: 'iTXt', keyword: 'parameters', text: 'Ελληνικά' },
  },
  {
    name: 'comf (ComfyUI animated PNG)',
    type: 'comf',
    data: Buffer.from('workflow\0{"nodes":[]}', 'latin1'),
    want: { type: 'comf', keyword: 'workflow', text: '{"nodes":[]}' },
  },
  {
    name: 'no keyword separator',
    type: 'tEXt',
    data: Buffer.from('parameters', 'latin1'),
    want: { type: 'tEXt', keyword: '', problem: 'tEXt chunk has no NUL after its keyword' },
  },
  {
    name: 'zTXt with an unknown compression method',
    type: 'zTXt',
    data: Buffer.from('parameters\0\x05xx', 'latin1'),
    want: { type: 'zTXt', keyword: 'parameters', problem: 'zTXt parameters: unknown compression method' },
  },
  {
    name: 'iTXt cut short in its header',
    type: 'iTXt',
    data: Buffer.from('parameters\0\0\0en', 'latin1'),
    want: { type: 'iTXt', keyword: 'parameters', problem: 'iTXt parameters: header is cut short' },
  },
];

describe('decodeTextChunk', () => {
  it.each(decodeCases)('$name', async ({ type, data, want }) => {
    expect(await decodeTextChunk(type, data)).toStrictEqual(want);
  });

  it('reports compressed text that does not inflate', async () => {
    const got = await decodeTextChunk('zTXt', Buffer.from('parameters\0\0not zlib', 'latin1'));
    expect(got.keyword).toBe('parameters');
    expect(got.text).toBeUndefined();
    expect(got.problem).toMatch(/^zTXt parameters: compressed text does not inflate \(.+\)$/);
  });

  it('refuses to inflate past the size limit (a zip bomb)', async () => {
    const bomb = deflateSync(Buffer.alloc(40 << 20));
    const got = await decodeTextChunk('zTXt', Buffer.concat([Buffer.from('parameters\0\0', 'latin1'), bomb]));
    expect(got.problem).toMatch(/does not inflate/);
  });
});

describe('decodeLatin1Text', () => {
  it.each([
    [Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'café'],
    [Buffer.from('café', 'utf8'), 'café'],
    [Buffer.from('plain', 'latin1'), 'plain'],
  ])('%j', (bytes, want) => {
    expect(decodeLatin1Text(bytes)).toBe(want);
  });
});

describe('readPngTexts', () => {
  it('collects text chunks before and after IDAT, in file order', async () => {
    const file = png(tEXt('prompt', '{}'), IDAT, zTXt('parameters', 'p'), iTXt('workflow', '{"w":1}'));
    expect(await readPngTexts(bufferSource(file))).toStrictEqual({
      texts: [
        { type: 'tEXt', keyword: 'prompt', text: '{}' },
        { type: 'zTXt', keyword: 'parameters', text: 'p' },
        { type: 'iTXt', keyword: 'workflow', text: '{"w":1}' },
      ],
      header: GREY_1X1,
      idatOffset: 8 + IHDR.length + tEXt('prompt', '{}').length,
      problems: [],
    });
  });

  it('stops at IEND and ignores what follows', async () => {
    const file = Buffer.concat([png(IDAT), tEXt('parameters', 'late')]);
    expect(await readPngTexts(bufferSource(file))).toStrictEqual({
      texts: [],
      header: GREY_1X1,
      idatOffset: 8 + IHDR.length,
      problems: [],
    });
  });

  it('notes an acTL chunk before the image data: an animated PNG', async () => {
    const acTL = pngChunk('acTL', Buffer.from([0, 0, 0, 2, 0, 0, 0, 0]));
    expect((await readPngTexts(bufferSource(png(acTL, IDAT)))).animated).toBe(true);
    expect((await readPngTexts(bufferSource(png(IDAT, acTL)))).animated).toBeUndefined();
  });

  it('reports a chunk whose length runs past the end of the file, keeping texts read before it', async () => {
    const file = png(tEXt('parameters', 'kept'), IDAT).subarray(0, -IEND.length - 5);
    const scan = await readPngTexts(bufferSource(file));
    expect(scan.texts).toStrictEqual([{ type: 'tEXt', keyword: 'parameters', text: 'kept' }]);
    expect(scan.problems).toStrictEqual([
      `PNG chunk "IDAT" at offset ${file.length - IDAT.length + 5} declares ${IDAT.length - 12} bytes but the ` +
        `file ends at ${file.length}: the file is truncated or still being written`,
    ]);
  });

  it('reports a file that ends between chunks without IEND', async () => {
    const file = Buffer.concat([PNG_SIGNATURE_BYTES, IHDR, IDAT]);
    expect((await readPngTexts(bufferSource(file))).problems).toStrictEqual([
      `PNG ends at offset ${file.length} without an IEND chunk: the file is truncated`,
    ]);
  });

  it('reports a file without the PNG signature', async () => {
    expect(await readPngTexts(bufferSource(Buffer.from('GIF89a')))).toStrictEqual({
      texts: [],
      problems: ['not a PNG: the 8-byte signature does not match'],
    });
  });

  it('reads headers of many small chunks in a few windowed reads', async () => {
    const small = Array.from({ length: 2000 }, () => pngChunk('IDAT', Buffer.alloc(20)));
    const file = png(...small, tEXt('parameters', 'end'));
    let reads = 0;
    const inner = bufferSource(file);
    const counting: ByteSource = { size: inner.size, read: (p, n) => (reads++, inner.read(p, n)) };
    const scan = await readPngTexts(counting);
    expect(scan.texts).toStrictEqual([{ type: 'tEXt', keyword: 'parameters', text: 'end' }]);
    expect(reads).toBeLessThan(Math.ceil(file.length / 4096) + 5);
  });
});
