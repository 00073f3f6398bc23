// Unit tests for the structural completeness checks, on real temp files: PNG fixtures, WebP, GIF and synthetic MP4 boxes.
import { mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG_IEND_CHUNK as PNG_IEND, PNG_SIGNATURE } from '../common/media/signatures.js';
import { hasCompletenessCheck, isStructurallyComplete } from './completeness.js';

const SD_PARSERS = fileURLToPath(new URL('../test/fixtures/sd-parsers', import.meta.url));
const COMFY_PNG = join(SD_PARSERS, 'ComfyUI', 'img2img_cropped.png');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'completeness-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Opens a file the way the scanner does and runs the check with its real size. */
async function checkFile(path: string, name = path): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    return await isStructurallyComplete(handle, name, (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

let counter = 0;
async function checkBytes(name: string, content: Buffer): Promise<boolean> {
  const path = join(dir, `${counter++}-${name}`);
  await writeFile(path, content);
  return checkFile(path, name);
}

describe('PNG', () => {
  it('a complete ComfyUI PNG is complete', async () => {
    expect(await checkFile(COMFY_PNG)).toBe(true);
  });

  it.each<[string, (full: Buffer) => Buffer, boolean]>([
    ['cut by one byte', (full) => full.subarray(0, full.length - 1), false],
    ['cut before IEND', (full) => full.subarray(0, full.length - PNG_IEND.length), false],
    ['cut in half', (full) => full.subarray(0, full.length >> 1), false],
    ['only the signature and a few bytes', (full) => full.subarray(0, 20), false],
    ['only the signature', (full) => full.subarray(0, 8), false],
    ['a few bytes after IEND', (full) => Buffer.concat([full, Buffer.from('\n\n')]), true],
    ['IEND followed by more than 4 KiB', (full) => Buffer.concat([full, Buffer.alloc(4096)]), false],
    ['bad signature', (full) => Buffer.concat([Buffer.from('JFIF'), full.subarray(4)]), false],
  ])('a copy %s → %s', async (_label, transform, expected) => {
    const full = await readFile(COMFY_PNG);
    expect(await checkBytes('img2img_cropped.png', transform(full))).toBe(expected);
  });

  it.each([
    ['minimal signature + IEND', Buffer.concat([PNG_SIGNATURE, PNG_IEND]), true],
    ['one byte short of minimal', Buffer.concat([PNG_SIGNATURE, PNG_IEND.subarray(1)]), false],
    [
      'IEND with a wrong CRC',
      Buffer.concat([PNG_SIGNATURE, PNG_IEND.subarray(0, 11), Buffer.from([0])]),
      false,
    ],
    ['empty', Buffer.alloc(0), false],
  ])('%s → %s', async (_label, content, expected) => {
    expect(await checkBytes('x.png', content)).toBe(expected);
  });

  it('upper-case extension is checked too', async () => {
    expect(await checkBytes('X.PNG', Buffer.concat([PNG_SIGNATURE, Buffer.alloc(40)]))).toBe(false);
  });
});

describe('every sd-parsers fixture', () => {
  let files: string[] = [];
  beforeAll(async () => {
    const entries = await readdir(SD_PARSERS, { recursive: true, withFileTypes: true });
    files = entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(SD_PARSERS, join(entry.parentPath, entry.name)))
      .sort();
  });

  it('finds the known fixtures', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'AUTOMATIC1111/automatic1111_cropped.jpg',
        'AUTOMATIC1111/automatic1111_cropped.png',
        'ComfyUI/img2img_cropped.png',
        'LICENSE.txt',
        'bad_images/empty_file.png',
        'bad_images/empty_image.jpg',
        'bad_images/text_after_idat.png',
      ]),
    );
  });

  it('is complete except the 0-byte bad_images/empty_file.png', async () => {
    const verdicts: Record<string, boolean> = {};
    for (const rel of files) verdicts[rel] = await checkFile(join(SD_PARSERS, rel));
    const expected = Object.fromEntries(files.map((rel) => [rel, rel !== 'bad_images/empty_file.png']));
    expect(verdicts).toEqual(expected);
    expect((await stat(join(SD_PARSERS, 'bad_images/empty_file.png'))).size).toBe(0);
  });
});

function riff(declaredLength: number, payload: Buffer, form = 'WEBP'): Buffer {
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(declaredLength, 4);
  head.write(form, 8, 'latin1');
  return Buffer.concat([head, payload]);
}

describe('WebP', () => {
  const payload = Buffer.concat([Buffer.from('VP8L'), Buffer.alloc(30, 7)]);
  const right = payload.length + 4;
  it.each([
    ['RIFF length covers the file', riff(right, payload), true],
    ['RIFF length longer than the file (still writing)', riff(right + 100, payload), false],
    ['RIFF length one byte longer', riff(right + 1, payload), false],
    ['RIFF length shorter than the file', riff(right - 2, payload), false],
    ['not a WEBP form', riff(right, payload, 'AVI '), false],
    ['not RIFF', Buffer.concat([Buffer.from('RIFX'), riff(right, payload).subarray(4)]), false],
    ['header only, declaring the payload', riff(right, Buffer.alloc(0)), false],
    ['header only, declaring nothing more', riff(4, Buffer.alloc(0)), true],
    ['shorter than a header', Buffer.from('RIFF\x10\x00'), false],
    ['empty', Buffer.alloc(0), false],
  ])('%s → %s', async (_label, content, expected) => {
    expect(await checkBytes('x.webp', content)).toBe(expected);
  });
});

describe('GIF', () => {
  const head = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00', 'latin1');
  it.each([
    ['ends with the trailer 0x3B', Buffer.concat([head, Buffer.from([0x2c, 0x00, 0x3b])]), true],
    ['no trailer yet', Buffer.concat([head, Buffer.from([0x2c, 0x00, 0x00])]), false],
    ['trailer byte earlier but not last', Buffer.concat([head, Buffer.from([0x3b, 0x00])]), false],
    ['empty', Buffer.alloc(0), false],
  ])('%s → %s', async (_label, content, expected) => {
    expect(await checkBytes('x.gif', content)).toBe(expected);
  });
});

/** An ISO BMFF box with a 32-bit size; `declared` overrides the size field. */
function box(type: string, payload: Buffer | number, declared?: number): Buffer {
  const body = typeof payload === 'number' ? Buffer.alloc(payload, 0xaa) : payload;
  const head = Buffer.alloc(8);
  head.writeUInt32BE(declared ?? body.length + 8, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** A box with size field 1 and a 64-bit largesize; `declared` overrides the largesize. */
function largeBox(type: string, payloadBytes: number, declared?: bigint): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(1, 0);
  head.write(type, 4, 'latin1');
  head.writeBigUInt64BE(declared ?? BigInt(payloadBytes + 16), 8);
  return Buffer.concat([head, Buffer.alloc(payloadBytes, 0xbb)]);
}

describe('MP4 / MOV', () => {
  const ftyp = box('ftyp', Buffer.from('isom\x00\x00\x02\x00isomiso2mp41', 'latin1'));
  const moov = box('moov', box('mvhd', 100));
  const mdat = box('mdat', 1000);

  it.each([
    ['ftyp + mdat + moov', [ftyp, mdat, moov], true],
    ['ftyp + moov + mdat (fast start)', [ftyp, moov, mdat], true],
    ['ftyp + free + mdat + moov', [ftyp, box('free', 8), mdat, moov], true],
    ['ftyp + mdat, no moov yet', [ftyp, mdat], false],
    ['ftyp only', [ftyp], false],
    ['mdat size running past EOF', [ftyp, box('mdat', 1000, 5000)], false],
    ['moov cut short', [ftyp, mdat, moov.subarray(0, moov.length - 1)], false],
    ['a few stray bytes after moov', [ftyp, mdat, moov, Buffer.from([0, 0, 0])], false],
    ['a box smaller than its header', [ftyp, box('mdat', 0, 4), moov], false],
    ['64-bit largesize mdat + moov', [ftyp, largeBox('mdat', 2000), moov], true],
    ['64-bit largesize mdat, no moov', [ftyp, largeBox('mdat', 2000)], false],
    ['64-bit largesize running past EOF', [ftyp, largeBox('mdat', 2000, 1n << 33n), moov], false],
    ['64-bit header cut short', [ftyp, moov, largeBox('mdat', 0).subarray(0, 12)], false],
    ['last box sized 0 runs to EOF, after moov', [ftyp, moov, box('mdat', 500, 0)], true],
    ['last box sized 0 runs to EOF, no moov', [ftyp, box('mdat', 500, 0)], false],
    ['empty', [], false],
  ])('%s → %s', async (_label, boxes, expected) => {
    expect(await checkBytes('clip.mp4', Buffer.concat(boxes))).toBe(expected);
  });

  it.each(['clip.mov', 'clip.m4v', 'CLIP.MP4'])('%s uses the same check', async (name) => {
    expect(await checkBytes(name, Buffer.concat([ftyp, mdat]))).toBe(false);
    expect(await checkBytes(name, Buffer.concat([ftyp, mdat, moov]))).toBe(true);
  });
});

describe('AVIF / HEIC', () => {
  const ftyp = (brand: string): Buffer =>
    box('ftyp', Buffer.from(`${brand}\x00\x00\x00\x00mif1miaf`, 'latin1'));
  const meta = box('meta', box('hdlr', 24));
  const mdat = box('mdat', 2000);

  it.each([
    ['AVIF still: ftyp + meta + mdat', 'a.avif', [ftyp('avif'), meta, mdat], true],
    ['HEIC still: ftyp + meta + mdat', 'a.heic', [ftyp('heic'), meta, mdat], true],
    ['AVIF sequence with moov', 'a.avif', [ftyp('avis'), meta, box('moov', 100), mdat], true],
    ['AVIF without its pixels yet', 'a.avif', [ftyp('avif'), meta], false],
    ['AVIF whose mdat runs past the end', 'a.avif', [ftyp('avif'), meta, box('mdat', 2000, 9000)], false],
    ['AVIF cut inside mdat', 'a.avif', [ftyp('avif'), meta, mdat.subarray(0, 1000)], false],
    ['AVIF named .png is checked as AVIF', 'a.png', [ftyp('avif'), meta, mdat], true],
    ['an .avif too short to declare itself', 'a.avif', [Buffer.from([0, 0])], false],
  ])('%s → %s', async (_label, name, boxes, expected) => {
    expect(await checkBytes(name, Buffer.concat(boxes))).toBe(expected);
  });
});

describe('formats without a check', () => {
  it.each(['x.jpg', 'x.jpeg', 'x.webm', 'x.txt', 'x.mkv', 'x.flac', 'noextension'])(
    '%s counts as complete even when garbage',
    async (name) => {
      expect(await checkBytes(name, Buffer.from('not finished'))).toBe(true);
    },
  );
});

describe('hasCompletenessCheck', () => {
  it.each([
    ['a.png', true],
    ['a.PNG', true],
    ['a.webp', true],
    ['a.gif', true],
    ['a.mp4', true],
    ['a.mov', true],
    ['a.m4v', true],
    ['a.avif', true],
    ['a.HEIC', true],
    ['dir.png/a.jpg', false],
    ['a.jpg', false],
    ['a.webm', false],
    ['a.txt', false],
    ['png', false],
    ['a.png.tmp', false],
  ])('%s → %s', (name, expected) => {
    expect(hasCompletenessCheck(name)).toBe(expected);
  });
});

describe('format by magic bytes, not by name', () => {
  const jpegBytes = Buffer.from([
    0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0xff, 0xd9,
  ]);

  it('a JPEG named .png is complete (checked as JPEG, no IEND wait)', async () => {
    expect(await checkBytes('civitai-download.png', jpegBytes)).toBe(true);
  });

  it('a PNG named .jpg is still checked as a PNG, so a cut one is incomplete', async () => {
    const png = await readFile(COMFY_PNG);
    expect(await checkBytes('mislabelled.jpg', png)).toBe(true);
    expect(await checkBytes('mislabelled-cut.jpg', png.subarray(0, png.length - 20))).toBe(false);
  });

  it('a .png whose bytes declare no format yet falls back to the PNG check', async () => {
    expect(await checkBytes('growing.png', Buffer.from([0x89, 0x50]))).toBe(false);
  });

  it('a WebP named .png is checked by its RIFF length', async () => {
    const webp = Buffer.concat([
      Buffer.from('RIFF', 'latin1'),
      Buffer.alloc(4),
      Buffer.from('WEBPVP8 ', 'latin1'),
    ]);
    webp.writeUInt32LE(webp.length - 8, 4);
    expect(await checkBytes('anim.png', webp)).toBe(true);
    expect(await checkBytes('anim-short.png', webp.subarray(0, 14))).toBe(false);
  });
});
