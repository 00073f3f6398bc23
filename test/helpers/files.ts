// Building file trees for tests: media-like files with old mtimes, and whole-tree comparisons.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { PNG_IEND_CHUNK as PNG_IEND, PNG_SIGNATURE } from '../../common/media/signatures.js';

/** A structurally complete PNG-shaped file with `bodyBytes` of random filler. */
export function fakePng(bodyBytes = 64, seed?: string): Buffer {
  const body = seed
    ? createHash('sha512').update(seed).digest().subarray(0, Math.min(64, bodyBytes))
    : randomBytes(bodyBytes);
  return Buffer.concat([PNG_SIGNATURE, body, PNG_IEND]);
}

/** A PNG cut off before IEND, as ComfyUI leaves one while Pillow is still writing. */
export function truncatedPng(bodyBytes = 64): Buffer {
  return Buffer.concat([PNG_SIGNATURE, randomBytes(bodyBytes)]);
}

export const HOUR_AGO = () => new Date(Date.now() - 3_600_000);

/** Writes a file (creating folders) and backdates it, so it counts as settled. */
export async function put(
  root: string,
  rel: string,
  content: Buffer | string,
  mtime: Date = HOUR_AGO(),
): Promise<string> {
  const path = join(root, rel);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  await utimes(path, mtime, mtime);
  return path;
}

/** Writes a large file of random bytes in chunks, without holding it in memory. */
export async function putLarge(root: string, rel: string, bytes: number): Promise<string> {
  const path = join(root, rel);
  await mkdir(dirname(path), { recursive: true });
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'w');
  const chunk = randomBytes(1 << 20);
  for (let written = 0; written < bytes; written += chunk.length) {
    chunk[0] = written & 0xff; // vary the chunks a little
    await handle.write(chunk, 0, Math.min(chunk.length, bytes - written));
  }
  await handle.close();
  const old = HOUR_AGO();
  await utimes(path, old, old);
  return path;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Relative path → sha256 of every regular file below `root`, skipping `.forge-sync`. */
export async function treeDigest(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const dirent of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, dirent.name);
      if (dirent.name === '.forge-sync') continue;
      if (dirent.isDirectory()) await walk(path);
      else if (dirent.isFile()) out.set(relative(root, path).split('\\').join('/'), await sha256File(path));
    }
  };
  await walk(root);
  return out;
}

/**
 * Waits until a transfer into `tmp` is under way: some temp file there holds more than `bytes`.
 * Fails when `child` exits first (it finished before it could be interrupted) or after a minute.
 */
export async function untilTempFileGrows(
  tmp: string,
  child: { exitCode: number | null },
  bytes = 1 << 20,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const parts = await readdir(tmp).catch(() => [] as string[]);
    const sizes = await Promise.all(
      parts.map((name) =>
        stat(join(tmp, name)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    if (sizes.some((size) => size > bytes)) return;
    if (child.exitCode !== null)
      throw new Error('the process ended before its transfer could be interrupted');
    if (Date.now() > deadline)
      throw new Error(`no temp file in ${tmp} grew past ${bytes} bytes within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
