// Opening a file named by a manifest path so that no symlink, anywhere on the way, is followed.
import {
  type Stats,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  openSync,
  readlinkSync,
  realpathSync,
} from 'node:fs';
import { type FileHandle, open, readlink, realpath } from 'node:fs/promises';
import type { FileIdentity } from './file-index.js';
import { locate, type Root } from './roots.js';

export type OpenRefusal = 'vanished' | 'not-regular' | 'unsafe' | 'unknown-root';

type Refused = { ok: false; reason: OpenRefusal; message: string };

export type SafeOpenResult = { ok: true; handle: FileHandle; abs: string; identity: FileIdentity } | Refused;

export type SafeOpenSyncResult = { ok: true; fd: number; abs: string; identity: FileIdentity } | Refused;

const HAS_PROC_FD = existsSync('/proc/self/fd');

/**
 * Never blocks in open(): a FIFO or a device opened for reading would otherwise wait for a writer
 * and hold a thread (or the event loop) until one comes. It changes nothing for regular files.
 */
const OPEN_FLAGS = constants.O_NOFOLLOW | constants.O_NONBLOCK;

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
    handle = await open(located.abs, flags | OPEN_FLAGS);
  } catch (err) {
    return openRefusal(err);
  }
  try {
    const actual = HAS_PROC_FD ? await readlink(`/proc/self/fd/${handle.fd}`) : await realpath(located.abs);
    const stats = await handle.stat();
    const refused = refusal(located.abs, actual, stats);
    if (refused) {
      await handle.close();
      return refused;
    }
    return { ok: true, handle, abs: located.abs, identity: identityOf(stats) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * openInRoot with synchronous calls, for small files: each call is one cheap syscall on a file in
 * the page cache, cheaper than a round trip through libuv's thread pool, and the non-blocking open
 * means none of them can wait on anything. The caller closes `fd`.
 */
export function openInRootSync(roots: readonly Root[], path: string): SafeOpenSyncResult {
  const located = locate(roots, path);
  if ('error' in located) return { ok: false, reason: located.error, message: located.message };
  let fd: number;
  try {
    fd = openSync(located.abs, constants.O_RDONLY | OPEN_FLAGS);
  } catch (err) {
    return openRefusal(err);
  }
  try {
    const actual = HAS_PROC_FD ? readlinkSync(`/proc/self/fd/${fd}`) : realpathSync(located.abs);
    const stats = fstatSync(fd);
    const refused = refusal(located.abs, actual, stats);
    if (refused) {
      closeSync(fd);
      return refused;
    }
    return { ok: true, fd, abs: located.abs, identity: identityOf(stats) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

export function identityOf(stats: Pick<Stats, 'size' | 'mtimeMs' | 'ino'>): FileIdentity {
  return { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino };
}

function openRefusal(err: unknown): Refused {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return { ok: false, reason: 'vanished', message: 'the file no longer exists' };
  if (code === 'ELOOP') return { ok: false, reason: 'not-regular', message: 'the path is a symlink' };
  return { ok: false, reason: 'not-regular', message: `cannot open: ${code ?? String(err)}` };
}

/** Why an opened descriptor must not be served: reached through a symlink, or not a regular file. */
function refusal(expected: string, actual: string, stats: Stats): Refused | undefined {
  if (actual !== expected) return { ok: false, reason: 'unsafe', message: 'the path goes through a symlink' };
  if (!stats.isFile()) return { ok: false, reason: 'not-regular', message: 'not a regular file' };
  return undefined;
}
