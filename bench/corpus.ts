// Corpora the bench syncs: trees of PNG-shaped files two days old, changes to them, new files, and one large video.
import { randomBytes } from 'node:crypto';
import { mkdir, open, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PNG_IEND_CHUNK as PNG_IEND, PNG_SIGNATURE } from '../common/media/signatures.js';

export const DAY_MS = 86_400_000;

export function pngPath(root: string, i: number): string {
  const dir = join(root, 'txt2img-images', `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`);
  return join(dir, `${String(i).padStart(6, '0')}-${100000 + i}.png`);
}

/** Structurally complete PNGs (signature, distinct filler, IEND), two days old: what the agent serves. */
export async function makeTree(root: string, count: number, bytes: number, salt = ''): Promise<number> {
  const old = new Date(Date.now() - 2 * DAY_MS);
  const pool = randomBytes(bytes + 4096);
  for (let i = 0; i < count; i++) await writePng(pngPath(root, i), pool, i, bytes, `${salt}${i}`, old);
  return count * bytes;
}

/** Random filler to pass to `writePng`, enough for files of `bytes`. */
export function fillerPool(bytes: number): Buffer {
  return randomBytes(bytes + 4096);
}

export async function writePng(
  path: string,
  pool: Buffer,
  i: number,
  bytes: number,
  tag: string,
  mtime: Date,
): Promise<void> {
  await mkdir(resolve(path, '..'), { recursive: true });
  const handle = await open(path, 'w');
  const filler = bytes - PNG_SIGNATURE.length - PNG_IEND.length - 16;
  await handle.write(PNG_SIGNATURE);
  await handle.write(pool, i % 4096, filler);
  await handle.write(Buffer.from(tag.padStart(16, '0').slice(-16)));
  await handle.write(PNG_IEND);
  await handle.close();
  await utimes(path, mtime, mtime);
}

/**
 * Rewrites 1% of the files (every 100th, from `offset`) with new content and an mtime an hour old,
 * so they are settled. A second change of the same tree takes another offset, so it touches other files.
 */
export async function changeOnePercent(
  root: string,
  count: number,
  bytes: number,
  offset = 0,
): Promise<number> {
  const pool = randomBytes(bytes + 4096);
  const mtime = new Date(Date.now() - 3_600_000);
  let changed = 0;
  for (let i = offset; i < count; i += 100) {
    await writePng(pngPath(root, i), pool, i, bytes, `chg${offset}-${i}`, mtime);
    changed++;
  }
  return changed;
}

const MIB = 2 ** 20;

/**
 * One MP4-shaped file of `mib` MiB, two days old: `ftyp`, an `mdat` with a 64-bit size, and a `moov`
 * last, as ffmpeg leaves a finished video, so the agent's completeness check passes. The payload is
 * real data (one random MiB, tagged per MiB so no two are alike), not a sparse hole.
 */
export async function makeLargeVideo(path: string, mib: number): Promise<number> {
  const total = mib * MIB;
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypisom', 4, 'latin1');
  ftyp.writeUInt32BE(0x200, 12);
  ftyp.write('isommp41', 16, 'latin1');
  const moov = Buffer.alloc(8);
  moov.writeUInt32BE(8, 0);
  moov.write('moov', 4, 'latin1');
  const mdatHeader = Buffer.alloc(16);
  const mdatSize = total - ftyp.length - moov.length;
  mdatHeader.writeUInt32BE(1, 0);
  mdatHeader.write('mdat', 4, 'latin1');
  mdatHeader.writeBigUInt64BE(BigInt(mdatSize), 8);

  await mkdir(resolve(path, '..'), { recursive: true });
  const handle = await open(path, 'w');
  try {
    const block = randomBytes(MIB);
    await handle.write(Buffer.concat([ftyp, mdatHeader]));
    let left = mdatSize - mdatHeader.length;
    for (let n = 0; left > 0; n++) {
      block.write(`mib-${n}`.padEnd(16, '.'), 0, 'latin1');
      const length = Math.min(left, MIB);
      await handle.write(block, 0, length);
      left -= length;
    }
    await handle.write(moov);
  } finally {
    await handle.close();
  }
  const old = new Date(Date.now() - 2 * DAY_MS);
  await utimes(path, old, old);
  return total;
}
