// Thumbnails from real files with real sharp: first frames, VideoHelperSuite's PNG beside a video, placeholders, the cache.
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Thumbnailer } from './thumbnails.js';

const solid = (r: number, g: number, b: number, size = 300) =>
  sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } });

async function centre(body: Buffer): Promise<[number, number, number]> {
  const { data, info } = await sharp(body).raw().toBuffer({ resolveWithObject: true });
  const i = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
  return [data[i]!, data[i + 1]!, data[i + 2]!];
}

describe('Thumbnailer', () => {
  let dest: string;

  beforeEach(async () => {
    dest = await mkdtemp(join(tmpdir(), 'fms-thumbs-'));
    await mkdir(join(dest, 'gpu1/output'), { recursive: true });
  });
  afterEach(() => rm(dest, { recursive: true, force: true }));

  it('takes the first frame of an animated WebP, fits the size, and caches it atomically by hash', async () => {
    const red = await solid(255, 0, 0).png().toBuffer();
    const blue = await solid(0, 0, 255).png().toBuffer();
    const animated = await sharp([red, blue], { join: { animated: true } })
      .webp({ loop: 0 })
      .toBuffer();
    expect((await sharp(animated).metadata()).pages).toBe(2);
    await writeFile(join(dest, 'gpu1/output/anim.webp'), animated);

    const thumbs = new Thumbnailer(dest);
    const thumb = await thumbs.get('gpu1/output/anim.webp', 'aabbccddeeff0011', 128);
    expect(thumb.real).toBe(true);
    const meta = await sharp(thumb.body).metadata();
    expect([meta.format, meta.width, meta.height, meta.pages ?? 1]).toEqual(['webp', 128, 128, 1]);
    const [r, , b] = await centre(thumb.body);
    expect(r).toBeGreaterThan(200);
    expect(b).toBeLessThan(60);
    expect(await readdir(join(thumbs.cacheDir, 'aa'))).toEqual(['aabbccddeeff0011-128.webp']);
  });

  it("draws a video from VideoHelperSuite's first-frame PNG beside it, and a broken image as a placeholder", async () => {
    await writeFile(join(dest, 'gpu1/output/AnimateDiff_00001.mp4'), Buffer.from('not really a video'));
    await writeFile(join(dest, 'gpu1/output/AnimateDiff_00001.png'), await solid(0, 200, 0).png().toBuffer());
    await writeFile(join(dest, 'gpu1/output/cut.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    const thumbs = new Thumbnailer(dest);
    const video = await thumbs.get('gpu1/output/AnimateDiff_00001.mp4', '1111111111111111', 256);
    expect(video.real).toBe(true);
    const [r, g] = await centre(video.body);
    expect(g).toBeGreaterThan(150);
    expect(r).toBeLessThan(60);
    const broken = await thumbs.get('gpu1/output/cut.png', '2222222222222222', 256);
    expect(broken.real).toBe(false);
    expect((await sharp(broken.body).metadata()).format).toBe('webp');
    // Placeholders are not cached: a later decoder or ffmpeg may do better.
    expect(await readdir(join(thumbs.cacheDir)).catch(() => [])).toEqual(['11']);
  });

  it('makes one thumbnail once for many requests at the same time', async () => {
    await writeFile(join(dest, 'gpu1/output/a.png'), await solid(10, 20, 30, 800).png().toBuffer());
    const thumbs = new Thumbnailer(dest, 2);
    const all = await Promise.all(
      Array.from({ length: 20 }, () => thumbs.get('gpu1/output/a.png', '3333333333333333', 256)),
    );
    expect(new Set(all.map((t) => t.body)).size).toBe(1);
    expect(await readdir(join(thumbs.cacheDir, '33'))).toEqual(['3333333333333333-256.webp']);
  });
});
