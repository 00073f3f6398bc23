// Hashing one settled file for the index: only when it is complete and untouched while it is read.
import { type Stats, closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { Logger } from 'pino';
import { bytesReadAt } from '../common/media/read-at.js';
import { createXxh64, xxh64Of } from '../common/xxh64.js';
import { CHUNK_SIZE } from '../lib/file-chunks.js';
import { isCompleteAt, isStructurallyComplete } from './completeness.js';
import type { FileIdentity } from './file-index.js';
import { sameObservation } from './settle.js';

/** Why a settled file got no hash: still unfinished by its format's rules, or touched or unreadable. */
export type HashOutcome = { xxh64: string } | 'incomplete' | 'unstable';

/**
 * Size, mtime and inode of a regular file, without following a symlink; null for anything else.
 * Synchronous: one lstat of a folder entry the kernel has cached costs a microsecond or two, where
 * a round trip through libuv's thread pool cost the agent 20-25 µs of its main thread, most of a
 * scan of cached files.
 */
export function identifySync(abs: string): FileIdentity | null {
  try {
    const stats = lstatSync(abs, { throwIfNoEntry: false });
    return stats?.isFile() ? { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino } : null;
  } catch {
    return null;
  }
}

/** What is at a path now: a regular file (with its identity), a folder, or nothing to list (synchronous, as identifySync). */
export function lookAt(
  abs: string,
): { kind: 'file'; identity: FileIdentity } | { kind: 'folder' } | { kind: 'gone' } {
  try {
    const stats = lstatSync(abs, { throwIfNoEntry: false });
    if (!stats) return { kind: 'gone' };
    if (stats.isFile())
      return { kind: 'file', identity: { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino } };
    return stats.isDirectory() ? { kind: 'folder' } : { kind: 'gone' };
  } catch {
    return { kind: 'gone' };
  }
}

/** Never follows a final symlink, and never waits in open() on a FIFO or a device. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Files up to this size are opened, read whole and checked with synchronous calls. On this kind of
 * machine each call through libuv's thread pool cost the agent 20-30 µs of its main thread: a file
 * of 20 KB took 8 of them, 165 µs, where the same syscalls made directly take 16 µs. A file this
 * small reads from the page cache in well under a millisecond, so the event loop barely notices.
 */
export const SYNC_HASH_BYTES = CHUNK_SIZE;

/**
 * Hashes the file at `abs` if it still has `identity`, passes its format's completeness check, and
 * stays untouched while it is read. `onBytes` sees each chunk's size, for progress.
 */
export async function hashSettledFile(
  abs: string,
  name: string,
  identity: FileIdentity,
  logger: Logger,
  onBytes: (bytes: number) => void,
): Promise<HashOutcome> {
  if (identity.size <= SYNC_HASH_BYTES) return hashSmallFile(abs, name, identity, logger, onBytes);
  let handle;
  try {
    handle = await open(abs, OPEN_FLAGS);
  } catch {
    return 'unstable';
  }
  try {
    const before = await handle.stat();
    if (
      !before.isFile() ||
      !sameObservation(identity, { size: before.size, mtimeMs: before.mtimeMs, ino: before.ino })
    ) {
      return 'unstable';
    }
    if (!(await isStructurallyComplete(handle, name, identity.size))) return 'incomplete';
    const hashed = await hashWithSpareBuffer(handle, identity.size, onBytes).catch((err: unknown) => {
      logger.warn({ err, file: abs }, 'cannot read file; it is offered once it can be');
      return null;
    });
    if (!hashed) return 'unstable';
    const after = await handle.stat();
    const onDisk = identifySync(abs);
    const untouched =
      hashed.bytes === identity.size &&
      sameObservation(identity, { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino }) &&
      onDisk !== null &&
      sameObservation(identity, onDisk);
    return untouched ? { xxh64: hashed.xxh64 } : 'unstable';
  } finally {
    await handle.close();
  }
}

/**
 * hashSettledFile for a file of at most SYNC_HASH_BYTES: read whole into a spare buffer, its
 * completeness checked on the bytes that are hashed, and its identity taken again on the open file
 * and on the path once they are read.
 */
async function hashSmallFile(
  abs: string,
  name: string,
  identity: FileIdentity,
  logger: Logger,
  onBytes: (bytes: number) => void,
): Promise<HashOutcome> {
  let fd: number;
  try {
    fd = openSync(abs, OPEN_FLAGS);
  } catch {
    return 'unstable';
  }
  const buffer = spareBuffers.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE);
  try {
    if (!isSameFile(identity, fstatSync(fd))) return 'unstable';
    let bytes: number;
    try {
      bytes = readUpTo(fd, buffer, identity.size);
    } catch (err) {
      logger.warn({ err, file: abs }, 'cannot read file; it is offered once it can be');
      return 'unstable';
    }
    if (bytes !== identity.size) return 'unstable';
    const body = buffer.subarray(0, bytes);
    if (!(await isCompleteAt(bytesReadAt(body), name))) return 'incomplete';
    const xxh64 = await xxh64Of(body);
    onBytes(bytes);
    const untouched =
      isSameFile(identity, fstatSync(fd)) && isSameFile(identity, lstatSync(abs, { throwIfNoEntry: false }));
    return untouched ? { xxh64 } : 'unstable';
  } finally {
    closeSync(fd);
    if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(buffer);
  }
}

/** A regular file with exactly this identity. */
function isSameFile(identity: FileIdentity, stats: Stats | undefined): boolean {
  return (
    stats !== undefined &&
    stats.isFile() &&
    sameObservation(identity, { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino })
  );
}

/** Reads from the start of `fd` until `size` bytes or the end of the file; the count read. */
function readUpTo(fd: number, buffer: Buffer, size: number): number {
  let filled = 0;
  while (filled < size) {
    const n = readSync(fd, buffer, filled, size - filled, filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/**
 * Read buffers, reused: a scan hashes 200k files, and a fresh buffer for each (as a generic chunk
 * reader makes) is gigabytes of short-lived allocations outside the JS heap that the process's
 * resident memory keeps long after. One per hash running at once.
 */
const spareBuffers: Buffer[] = [];
const MAX_SPARE_BUFFERS = 8;

/** xxh64 of the first `size` bytes of the file (bytes is less when it was shorter), through a reused buffer. */
async function hashWithSpareBuffer(
  handle: FileHandle,
  size: number,
  onBytes: (bytes: number) => void,
): Promise<{ xxh64: string; bytes: number }> {
  const hasher = await createXxh64();
  const buffer = spareBuffers.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE);
  try {
    let position = 0;
    while (position < size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_SIZE, size - position), position);
      if (bytesRead === 0) break;
      // The hasher copies what it is given, so the buffer is free again at once.
      hasher.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
      onBytes(bytesRead);
    }
    return { xxh64: hasher.hex(), bytes: position };
  } finally {
    if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(buffer);
  }
}
