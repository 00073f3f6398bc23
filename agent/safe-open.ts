// Opening a file named by a manifest path so that no symlink, anywhere on the way, is followed.
import { constants, existsSync } from 'node:fs';
import { type FileHandle, open, readlink, realpath } from 'node:fs/promises';
import type { FileIdentity } from './file-index.js';
import { locate, type Root } from './roots.js';

export type OpenRefusal = 'vanished' | 'not-regular' | 'unsafe' | 'unknown-root';

export type SafeOpenResult =
  | { ok: true; handle: FileHandle; abs: string; identity: FileIdentity }
  | { ok: false; reason: OpenRefusal; message: string };

const HAS_PROC_FD = existsSync('/proc/self/fd');

/**
 * Opens `path` read-only inside its root. Refuses an unsafe path, a final symlink (O_NOFOLLOW), a
 * file reached through a symlinked folder (checked on the open descriptor itself, so a swap after
 * the check cannot redirect it) and anything that is not a regular file.
 */
export async function openInRoot(
  roots: readonly Root[],
  path: string,
  flags = constants.O_RDONLY,
): Promise<SafeOpenResult> {
  const located = locate(roots, path);
  if ('error' in located) return { ok: false, reason: located.error, message: located.message };
  let handle: FileHandle;
  try {
    handle = await open(located.abs, flags | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      return { ok: false, reason: 'vanished', message: 'the file no longer exists' };
    if (code === 'ELOOP') return { ok: false, reason: 'not-regular', message: 'the path is a symlink' };
    return { ok: false, reason: 'not-regular', message: `cannot open: ${code ?? String(err)}` };
  }
  try {
    const actual = HAS_PROC_FD ? await readlink(`/proc/self/fd/${handle.fd}`) : await realpath(located.abs);
    if (actual !== located.abs) {
      await handle.close();
      return { ok: false, reason: 'unsafe', message: 'the path goes through a symlink' };
    }
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      return { ok: false, reason: 'not-regular', message: 'not a regular file' };
    }
    return {
      ok: true,
      handle,
      abs: located.abs,
      identity: { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino },
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
