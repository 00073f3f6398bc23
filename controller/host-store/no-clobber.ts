// File-system steps that never replace an existing name: create-exclusive writes, hard links, and the checks around them.
import { closeSync, constants, fsync, linkSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { lstat, rename } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '../../common/errors.js';

/**
 * Creates `path` (never an existing one) holding `body`; false when the name exists. The open, write
 * and close are synchronous: for files this small (in memory, at most RETAIN_WHOLE_BYTES, landing in
 * the page cache) a round trip through libuv's thread pool costs more than the call, and concurrent
 * creates in one folder contend in the kernel (20,000 files of 20 KB: 3.5-7 s of system time
 * serially, 10-18 s through the pool). Only an fsync, which waits for the disk, goes to the pool.
 * A write that fails (a full disk) removes the file.
 */
export async function writeNewFile(path: string, body: Buffer, fsyncIt: boolean): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    for (let written = 0; written < body.length;) {
      const n = writeSync(fd, body, written, body.length - written);
      if (n === 0) throw new AppError('E_IO', 'the disk accepted no more bytes');
      written += n;
    }
    if (fsyncIt) await fsyncAsync(fd);
    closeSync(fd);
    return true;
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    unlinkSync(path);
    throw err;
  }
}

const fsyncAsync = promisify(fsync);

/**
 * Errors that say a name cannot exist under --dest at all: longer than the system allows, or with
 * a file where a folder must be (mkdir answers EEXIST for that one).
 */
export function unnameable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENAMETOOLONG' || code === 'ENOTDIR' || code === 'EEXIST';
}

/** Linux's limits in bytes: one name (NAME_MAX), and a whole path (PATH_MAX, less its NUL). */
const NAME_MAX = 255;
const PATH_MAX = 4095;

/**
 * Whether `path` (absolute) is within the lengths Linux allows. Checked before any folder is made
 * for a file: a path only its last name makes too long would otherwise leave the folders made on
 * its way behind, empty, and in the way of a file of that name. A file system with tighter limits
 * still answers ENAMETOOLONG, which the callers treat the same way.
 */
export function withinNameLimits(path: string): boolean {
  if (path.length > PATH_MAX || Buffer.byteLength(path) > PATH_MAX) return false;
  for (let start = 0; start < path.length;) {
    const found = path.indexOf(sep, start);
    const end = found === -1 ? path.length : found;
    // A name of at most NAME_MAX / 3 UTF-16 units has at most NAME_MAX bytes in UTF-8.
    if (end - start > NAME_MAX / 3 && Buffer.byteLength(path.slice(start, end)) > NAME_MAX) return false;
    start = end + 1;
  }
  return true;
}

/** Whether nothing is at `path` yet; a name that cannot exist there is not free either. */
export function isFreeName(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) === undefined;
  } catch (err) {
    if (unnameable(err)) return false;
    throw err;
  }
}

/** `dir` itself or its nearest ancestor that exists. */
export function deepestExisting(dir: string): string {
  for (let path = dir; ; path = dirname(path)) {
    try {
      lstatSync(path);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) throw err;
    }
  }
}

/**
 * Gives the temp file its final name; false when that name exists. Never replaces anything. The
 * link is synchronous: a name in a folder, one syscall, cheaper than a round trip through the
 * thread pool (see writeNewFile).
 */
export async function linkNoClobber(tempPath: string, finalPath: string): Promise<boolean> {
  try {
    linkSync(tempPath, finalPath);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
  }
  // A filesystem without hard links: check, then rename. Only another writer racing us in the
  // same instant could slip between the two, and the controller's lock rules that out.
  try {
    await lstat(finalPath);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await rename(tempPath, finalPath);
  return true;
}
