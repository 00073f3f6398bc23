// Thumbnails of stored files: made lazily with sharp, a few at a time, cached under <dest>/.forge-sync/thumbs/ by content hash.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Sharp, SharpOptions } from 'sharp';
import { STATE_DIR } from '../host-store/destination.js';

/** Widths a client may ask for; others are refused so the cache stays small. */
export const THUMB_SIZES = [128, 256, 512] as const;
export type ThumbSize = (typeof THUMB_SIZES)[number];

const VIDEO = /\.(mp4|webm|mkv|mov|m4v|avi)$/i;
const IMAGE = /\.(png|jpe?g|webp|gif|avif|bmp|tiff?)$/i;

export interface Thumbnail {
  body: Buffer;
  type: 'image/webp';
  /** False for a placeholder, which is not cached: a later ffmpeg or a later frame may do better. */
  real: boolean;
}

/** Runs at most `limit` jobs at once; the rest wait in order. */
class Pool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await job();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}

type SharpFn = (input?: string | Buffer, options?: SharpOptions) => Sharp;
let sharpModule: Promise<SharpFn> | undefined;

/**
 * sharp (libvips) is loaded on the first thumbnail, not at start-up: `sync` and `purge` run the
 * controller's code too and never need it.
 */
function loadSharp(): Promise<SharpFn> {
  sharpModule ??= import('sharp').then((module) => module.default as SharpFn);
  return sharpModule;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The first frame of a video as PNG bytes from ffmpeg, or null when ffmpeg is missing or fails. */
function ffmpegFrame(path: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const child = spawn(
      'ffmpeg',
      ['-v', 'error', '-i', path, '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', '-'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', () => resolve(null));
    child.on('close', (code) => resolve(code === 0 && chunks.length ? Buffer.concat(chunks) : null));
  });
}

/** A grey tile with a play (video) or blank (anything else) mark, for files with no frame to show. */
function placeholderSvg(size: number, video: boolean): Buffer {
  const mark = video
    ? `<polygon points="${size * 0.4},${size * 0.3} ${size * 0.4},${size * 0.7} ${size * 0.72},${size * 0.5}" fill="#cfd6df"/>`
    : `<rect x="${size * 0.3}" y="${size * 0.3}" width="${size * 0.4}" height="${size * 0.4}" fill="none" stroke="#cfd6df" stroke-width="${size * 0.03}"/>`;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="#3a4250"/>${mark}</svg>`,
  );
}

/**
 * Makes and caches thumbnails for one destination. One instance belongs to the controller's HTTP
 * app; concurrent requests for the same thumbnail share one job, and at most `concurrency` jobs
 * run at once so a gallery scrolling through thousands of tiles cannot starve the syncs.
 */
export class Thumbnailer {
  private readonly pool: Pool;
  private readonly inFlight = new Map<string, Promise<Thumbnail>>();
  readonly cacheDir: string;

  constructor(
    private readonly destRoot: string,
    concurrency = 2,
  ) {
    this.pool = new Pool(concurrency);
    this.cacheDir = join(destRoot, STATE_DIR, 'thumbs');
  }

  /** The thumbnail of the stored file at `storedPath` (relative to --dest) whose content hash is `xxh64`. */
  get(storedPath: string, xxh64: string, size: ThumbSize): Promise<Thumbnail> {
    const key = `${xxh64}-${size}`;
    let job = this.inFlight.get(key);
    if (!job) {
      job = this.make(storedPath, key, size).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, job);
    }
    return job;
  }

  private async make(storedPath: string, key: string, size: ThumbSize): Promise<Thumbnail> {
    const cached = join(this.cacheDir, key.slice(0, 2), `${key}.webp`);
    const hit = await readFile(cached).catch(() => null);
    if (hit) return { body: hit, type: 'image/webp', real: true };
    return this.pool.run(async () => {
      const sharp = await loadSharp();
      const source = join(this.destRoot, ...storedPath.split('/'));
      const placeholder = async (): Promise<Thumbnail> => ({
        body: await sharp(placeholderSvg(size, VIDEO.test(source)))
          .webp()
          .toBuffer(),
        type: 'image/webp',
        real: false,
      });
      const input = await this.frameSource(source);
      if (input === null) return placeholder();
      let body: Buffer;
      try {
        // Only the first page of an animated WebP/GIF is read (sharp's default): its first frame.
        body = await sharp(input, { failOn: 'none' })
          .rotate()
          .resize(size, size, { fit: 'inside', withoutEnlargement: true })
          .webp({ quality: 75 })
          .toBuffer();
      } catch {
        // A broken or truncated image still gets a tile; the detail view says what is wrong with it.
        return placeholder();
      }
      await mkdir(dirname(cached), { recursive: true });
      const tmp = `${cached}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, body);
        await rename(tmp, cached);
      } catch {
        await rm(tmp, { force: true });
      }
      return { body, type: 'image/webp', real: true };
    });
  }

  /** What to draw the thumbnail from: the image itself, a video's first frame, or null for a placeholder. */
  private async frameSource(source: string): Promise<string | Buffer | null> {
    if (IMAGE.test(source)) return source;
    if (!VIDEO.test(source)) return null;
    // VideoHelperSuite saves the first frame as a PNG of the same name beside the video.
    const beside = source.replace(/(-audio)?\.[^./]+$/, '.png');
    if (await exists(beside)) return beside;
    return ffmpegFrame(source);
  }
}
