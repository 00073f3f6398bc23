// Unit tests for stealth PNG info: every signature, both layouts of the bits, NovelAI's JSON, broken payloads and bounded reads.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type ByteSource, bufferSource } from './byte-source.js';
import { extractFromSource } from './extract.js';
import { readPngTexts } from './png-chunks.js';
import { type StealthText, readStealthText } from './stealth-png.js';
import { type StealthSample, stealthPng } from '../../test/fixtures/stealth-samples.js';
import { tEXt } from '../../test/fixtures/media-builders.js';

const INFOTEXT =
  'a lighthouse in a storm\nNegative prompt: people\nSteps: 28, Sampler: DPM++ 2M, CFG scale: 5.5, Seed: 1234567890, Size: 640x480';

/** Stealth text of a built PNG; `source` (say a counting one) serves the pixel reads alone. */
async function stealthOf(file: Buffer, source: ByteSource = bufferSource(file)): Promise<StealthText | null> {
  const scan = await readPngTexts(bufferSource(file));
  return readStealthText(source, scan.header!, scan.idatOffset!);
}

/** A ByteSource that counts the bytes read through it. */
function counting(file: Buffer): ByteSource & { bytesRead: number } {
  const inner = bufferSource(file);
  const source = {
    size: inner.size,
    bytesRead: 0,
    read: async (position: number, length: number) => {
      const bytes = await inner.read(position, length);
      source.bytesRead += bytes.length;
      return bytes;
    },
  };
  return source;
}

describe('readStealthText', () => {
  const cases: { name: string; sample: StealthSample; want: StealthText | null }[] = [
    {
      name: 'stealth_pnginfo in alpha, a tall image: the text runs down several columns',
      sample: { width: 40, height: 200, channels: 4, hide: { signature: 'stealth_pnginfo', text: INFOTEXT } },
      want: { signature: 'stealth_pnginfo', text: INFOTEXT },
    },
    {
      name: 'stealth_pngcomp in alpha, a short image: signature and length span columns',
      sample: { width: 64, height: 64, channels: 4, hide: { signature: 'stealth_pngcomp', text: INFOTEXT } },
      want: { signature: 'stealth_pngcomp', text: INFOTEXT },
    },
    {
      name: 'stealth_rgbinfo in an RGBA image (checked before alpha)',
      sample: { width: 30, height: 50, channels: 4, hide: { signature: 'stealth_rgbinfo', text: INFOTEXT } },
      want: { signature: 'stealth_rgbinfo', text: INFOTEXT },
    },
    {
      name: 'stealth_rgbcomp in an RGB image',
      sample: { width: 20, height: 300, channels: 3, hide: { signature: 'stealth_rgbcomp', text: INFOTEXT } },
      want: { signature: 'stealth_rgbcomp', text: INFOTEXT },
    },
    {
      name: 'UTF-8 text, the zlib stream cut into 7-byte IDAT chunks',
      sample: {
        width: 50,
        height: 50,
        channels: 4,
        idatBytes: 7,
        hide: { signature: 'stealth_pnginfo', text: '東京の猫 ★\nSteps: 1, Seed: 2, Size: 8x8' },
      },
      want: { signature: 'stealth_pnginfo', text: '東京の猫 ★\nSteps: 1, Seed: 2, Size: 8x8' },
    },
    {
      name: 'an alpha signature hidden in RGB bits does not count',
      sample: {
        width: 40,
        height: 200,
        channels: 3,
        layout: 'rgb',
        hide: { signature: 'stealth_pnginfo', text: INFOTEXT },
      },
      want: null,
    },
    {
      name: 'an RGB signature hidden in alpha bits does not count',
      sample: {
        width: 40,
        height: 200,
        channels: 4,
        layout: 'alpha',
        hide: { signature: 'stealth_rgbinfo', text: INFOTEXT },
      },
      want: null,
    },
    {
      name: 'a length longer than the image holds',
      sample: {
        width: 16,
        height: 16,
        channels: 4,
        declaredBits: 2 ** 31,
        hide: { signature: 'stealth_pnginfo', text: 'x' },
      },
      want: {
        signature: 'stealth_pnginfo',
        problem:
          'stealth_pnginfo declares 2147483648 bits of text, more than the image holds or than is read',
      },
    },
    {
      name: 'an RGBA image with nothing hidden',
      sample: { width: 40, height: 200, channels: 4 },
      want: null,
    },
    {
      name: 'an RGB image with nothing hidden',
      sample: { width: 40, height: 200, channels: 3 },
      want: null,
    },
    {
      name: 'a 1-pixel image',
      sample: { width: 1, height: 1, channels: 4 },
      want: null,
    },
    {
      name: 'gzip that does not gunzip',
      sample: {
        width: 64,
        height: 64,
        channels: 4,
        hide: { signature: 'stealth_pngcomp', text: '' },
        payload: Buffer.from('not gzip at all'),
      },
      want: {
        signature: 'stealth_pngcomp',
        problem: 'stealth_pngcomp text does not gunzip (incorrect header check)',
      },
    },
  ];

  it.each(cases)('$name', async ({ sample, want }) => {
    expect(await stealthOf(stealthPng(sample))).toStrictEqual(want);
  });

  it('reads only the first rows of an image with nothing hidden', async () => {
    const file = stealthPng({ width: 64, height: 16_000, channels: 4, idatBytes: 8192 });
    const source = counting(file);
    expect(await stealthOf(file, source)).toBeNull();
    // 152 rows of 257 bytes are read and inflated (in 64 KiB reads), not the 16,000 rows of the image.
    expect(source.bytesRead).toBeLessThanOrEqual(4 * (64 << 10));
    expect(file.length).toBeGreaterThan(1 << 20);
  });

  it('reads rows only as far as a text in the first column needs', async () => {
    const file = stealthPng({
      width: 64,
      height: 16_000,
      channels: 4,
      idatBytes: 8192,
      hide: { signature: 'stealth_pnginfo', text: 'short' },
    });
    const source = counting(file);
    expect(await stealthOf(file, source)).toStrictEqual({ signature: 'stealth_pnginfo', text: 'short' });
    // Twice the first rows: once for the signature and length, once for the text.
    expect(source.bytesRead).toBeLessThanOrEqual(8 * (64 << 10));
    expect(file.length).toBeGreaterThan(1 << 20);
  });
});

describe('extractMetadata with stealth PNG info', () => {
  it('reads hidden infotext as A1111 metadata', async () => {
    const file = stealthPng({
      width: 64,
      height: 64,
      channels: 4,
      hide: { signature: 'stealth_pngcomp', text: INFOTEXT },
    });
    expect(await extractFromSource(bufferSource(file), 'out/00001.png')).toStrictEqual({
      source: 'a1111',
      raw: INFOTEXT,
      prompt: 'a lighthouse in a storm',
      negativePrompt: 'people',
      steps: 28,
      sampler: 'DPM++ 2M',
      cfg: 5.5,
      seed: 1234567890,
      width: 640,
      height: 480,
      params: { Steps: '28', Sampler: 'DPM++ 2M', 'CFG scale': '5.5', Seed: '1234567890', Size: '640x480' },
    });
  });

  it("reads NovelAI's hidden JSON of its text chunks, Comment holding the parameters", async () => {
    const comment = {
      prompt: 'masterpiece, 1girl, silver hair',
      steps: 28,
      height: 1216,
      width: 832,
      scale: 5,
      uncond_scale: 1,
      cfg_rescale: 0,
      seed: 3397123480,
      n_samples: 1,
      noise_schedule: 'karras',
      sampler: 'k_euler_ancestral',
      uc: 'lowres, bad anatomy',
    };
    const chunks = {
      Title: 'NovelAI generated image',
      Description: comment.prompt,
      Software: 'NovelAI',
      Source: 'NovelAI Diffusion V4 4F1A2B3C',
      'Generation time': '3.1',
      Comment: JSON.stringify(comment),
    };
    const file = stealthPng({
      width: 832 / 8,
      height: 1216 / 8,
      channels: 4,
      hide: { signature: 'stealth_pngcomp', text: JSON.stringify(chunks) },
    });
    expect(await extractFromSource(bufferSource(file), 'nai.png')).toStrictEqual({
      source: 'novelai',
      raw: chunks.Comment,
      prompt: 'masterpiece, 1girl, silver hair',
      negativePrompt: 'lowres, bad anatomy',
      seed: 3397123480,
      steps: 28,
      cfg: 5,
      sampler: 'k_euler_ancestral',
      scheduler: 'karras',
      width: 832,
      height: 1216,
    });
  });

  it('keeps hidden text of no known format raw, saying where it was', async () => {
    const file = stealthPng({
      width: 40,
      height: 200,
      channels: 4,
      hide: { signature: 'stealth_pnginfo', text: 'just a note' },
    });
    expect(await extractFromSource(bufferSource(file), 'x.png')).toStrictEqual({
      source: 'unknown',
      raw: 'just a note',
      error: 'metadata in PNG pixels (stealth_pnginfo) is in no format this reader knows; kept as raw text',
    });
  });

  it('names a hidden text that cannot be read', async () => {
    const file = stealthPng({
      width: 64,
      height: 64,
      channels: 4,
      hide: { signature: 'stealth_pngcomp', text: '' },
      payload: gzipSync('x').subarray(0, 12),
    });
    expect(await extractFromSource(bufferSource(file), 'x.png')).toStrictEqual({
      source: 'unknown',
      error: 'stealth_pngcomp text does not gunzip (unexpected end of file)',
    });
  });

  it('does not look in the pixels of a PNG with text metadata', async () => {
    const file = stealthPng({
      width: 40,
      height: 200,
      channels: 4,
      chunks: [tEXt('parameters', 'visible\nSteps: 1, Seed: 1, Size: 1x1')],
      hide: { signature: 'stealth_pnginfo', text: INFOTEXT },
    });
    expect(await extractFromSource(bufferSource(file), 'x.png')).toMatchObject({ prompt: 'visible' });
  });
});
