// Deleting files the controller confirmed as stored, but only if each is still exactly that file, old enough by
// this agent's clock, and streamed whole to a controller that acknowledged it.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, opendir, realpath, rename, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import { versionedPath } from '../common/path-safety.js';
import type { PurgeFileResult, PurgeRequest, PurgeRequestFile } from '../common/protocol.js';
import { hashHandle } from '../lib/file-chunks.js';
import type { FileIdentity, FileIndex } from './file-index.js';
import type { ReceiptLedger } from './receipts.js';
import { locate, type Root } from './roots.js';
import { sameObservation } from './settle.js';

/** Files being deleted are first renamed to this prefix; a dot name no scan ever offers. */
export const QUARANTINE_PREFIX = '.forge-sync-purge.';

export interface PurgeDeps {
  roots: readonly Root[];
  index: FileIndex;
  /** What controllers acknowledged receiving; deletions are journaled there too. */
  receipts: ReceiptLedger;
  /** This agent's clock: file ages are judged by it, never by the controller's. */
  clock: Clock;
  /** The agent's own floor: nothing younger is deleted, whatever the controller says. */
  minPurgeAgeMs: number;
  logger: Logger;
}

type Keep = Omit<PurgeFileResult, 'path' | 'outcome'> & { outcome: 'kept' };

/**
 * Checks and (unless dryRun) deletes each file in turn, then removes folders the deletions emptied,
 * never a root. One purge runs at a time per agent; the caller serializes requests.
 */
export async function executePurge(request: PurgeRequest, deps: PurgeDeps): Promise<PurgeFileResult[]> {
  const results: PurgeFileResult[] = [];
  const emptied = new Map<string, Root>();
  for (const file of request.files) {
    let result: PurgeFileResult;
    try {
      result = { path: file.path, ...(await purgeOne(file, request, deps, emptied)) };
    } catch (err) {
      deps.logger.error({ err, file: file.path, runId: request.runId }, 'purge of file failed; kept');
      result = { path: file.path, outcome: 'kept', reason: 'failed', message: (err as Error).message };
    }
    results.push(withJournal(result, file, deps.receipts));
  }
  for (const [dir, root] of emptied) await removeEmptyFolders(dir, root);
  // The journal of what was deleted is durable before the answer: a controller that misses the
  // answer asks again, and is told.
  await deps.receipts
    .flush()
    .catch((err: unknown) =>
      deps.logger.error({ err }, 'cannot write the purge journal to the state folder'),
    );
  const purged = results.filter((result) => result.outcome === 'purged').length;
  deps.logger.info(
    { runId: request.runId, dryRun: request.dryRun, requested: request.files.length, purged },
    'purge batch done',
  );
  return results;
}

async function purgeOne(
  file: PurgeRequestFile,
  request: PurgeRequest,
  deps: PurgeDeps,
  emptied: Map<string, Root>,
): Promise<Omit<PurgeFileResult, 'path'>> {
  const located = locate(deps.roots, file.path);
  if ('error' in located) return keep(located.error, located.message);
  const { abs, root } = located;
  const confirmed: FileIdentity = { size: file.size, mtimeMs: file.mtimeMs, ino: file.ino };

  const stats = await lstat(abs).catch(() => null);
  if (!stats) return keep('vanished', 'the file no longer exists');
  if (!stats.isFile()) return keep('not-regular', 'not a regular file (a symlink or folder)');
  // Another name for the same bytes (maybe outside the roots, maybe another container's) would
  // keep them alive or lose them unseen: only a file that is its own only name is deleted.
  if (stats.nlink > 1) return keep('hard-linked', `it has ${stats.nlink - 1} other hard link(s)`);
  if ((await realpath(dirname(abs)).catch(() => null)) !== dirname(abs)) {
    return keep('unsafe', 'the path goes through a symlinked folder');
  }
  const identity: FileIdentity = { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino };
  if (!sameObservation(identity, confirmed))
    return keep('changed', 'replaced or modified since it was confirmed');
  if (!(await hasContent(abs, file, identity, deps.index)))
    return keep('changed', 'its content is not the stored one');
  // Ages by this agent's clock: the controller says how old, not what time it is.
  const age = deps.clock.now() - identity.mtimeMs;
  if (age < deps.minPurgeAgeMs) {
    return keep('below-floor', `younger than this agent's --min-purge-age (${Math.round(age / 1000)}s old)`);
  }
  if (request.olderThanMs !== undefined && age < request.olderThanMs) {
    return keep(
      'too-young',
      `${Math.round(age / 1000)}s old by this agent's clock; the purge asked for ${Math.round(request.olderThanMs / 1000)}s`,
    );
  }
  if (!deps.receipts.holds(file.path, identity, file.xxh64)) {
    return keep(
      'no-receipt',
      'no controller acknowledged receiving these bytes from this agent; they must be streamed to it first',
    );
  }
  if (request.dryRun) return { outcome: 'would-purge' };

  // Rename first, then check the renamed file is still the confirmed one: a generator replacing the
  // name in the meantime (Forge's os.replace) only ever loses the race to a restore, never its file.
  const quarantine = join(
    dirname(abs),
    `${QUARANTINE_PREFIX}${randomBytes(6).toString('hex')}.${basename(abs)}`,
  );
  await rename(abs, quarantine);
  const moved = await lstat(quarantine);
  if (
    !moved.isFile() ||
    !sameObservation({ size: moved.size, mtimeMs: moved.mtimeMs, ino: moved.ino }, confirmed)
  ) {
    await restore(quarantine, abs);
    return keep('changed', 'replaced while it was being purged; restored');
  }
  await unlink(quarantine);
  deps.receipts.purged(file.path, identity, file.xxh64, { runId: request.runId, at: deps.clock.now() });
  deps.index.delete(file.path);
  emptied.set(dirname(abs), root);
  return { outcome: 'purged' };
}

/**
 * A file that is gone, or has other content now, may be one this agent deleted itself: its journal
 * says in which run and when, so a controller that never heard the answer can settle its record.
 */
function withJournal(
  result: PurgeFileResult,
  file: PurgeRequestFile,
  receipts: ReceiptLedger,
): PurgeFileResult {
  if (result.outcome !== 'kept' || (result.reason !== 'vanished' && result.reason !== 'changed'))
    return result;
  const by = receipts.purgedBy(file.path, file.xxh64);
  return by ? { ...result, purgedBy: { runId: by.runId, at: new Date(by.at).toISOString() } } : result;
}

function keep(reason: Keep['reason'], message: string): Keep {
  return { outcome: 'kept', reason, message };
}

/** Whether the file at `abs` has the confirmed hash: from the index for this identity, else by reading it. */
async function hasContent(
  abs: string,
  file: PurgeRequestFile,
  identity: FileIdentity,
  index: FileIndex,
): Promise<boolean> {
  const cached = index.get(file.path, identity);
  if (cached) return cached === file.xxh64;
  const handle = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const opened = await handle.stat();
    if (!sameObservation(identity, { size: opened.size, mtimeMs: opened.mtimeMs, ino: opened.ino }))
      return false;
    const { xxh64, bytes } = await hashHandle(handle, identity.size);
    if (bytes !== identity.size) return false;
    if (xxh64 !== file.xxh64) return false;
    // Only bytes the manifest listed go into the index: other bytes have not settled there.
    index.set(file.path, identity, xxh64);
    return true;
  } finally {
    await handle.close();
  }
}

/** Puts a quarantined file back under its name, or beside it when that name was taken meanwhile. */
async function restore(quarantine: string, abs: string): Promise<string> {
  for (const target of [abs, versionedPath(abs, `restored-${randomBytes(4).toString('hex')}`)]) {
    try {
      await link(quarantine, target);
      await unlink(quarantine);
      return target;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    }
    // A filesystem without hard links: rename, but only onto a name that is free.
    if ((await lstat(target).catch(() => null)) === null) {
      await rename(quarantine, target);
      return target;
    }
  }
  throw new Error(`could not restore ${quarantine}`);
}

const DATE_FOLDER = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Removes `dir` if it is a date folder (YYYY-MM-DD, as Forge makes) that the purge emptied, never a
 * root. Other folders stay even when empty: a generator may have just made one and be about to write
 * into it (ComfyUI creates the folder, then encodes, then saves).
 */
async function removeEmptyFolders(dir: string, root: Root): Promise<void> {
  if (!dir.startsWith(root.dir + sep) || !DATE_FOLDER.test(basename(dir))) return;
  await rmdir(dir).catch(() => undefined); // not empty, or gone: either way, leave it
}

/**
 * Restores files a crash left in quarantine, so nothing renamed for deletion is ever lost. Run at
 * start, before the agent serves requests.
 */
export async function recoverQuarantine(roots: readonly Root[], logger: Logger): Promise<number> {
  let restored = 0;
  for (const root of roots) {
    const stack = [root.dir];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      const handle = await opendir(dir).catch(() => null);
      if (!handle) continue;
      for await (const dirent of handle) {
        const path = join(dir, dirent.name);
        if (dirent.isDirectory()) stack.push(path);
        else if (dirent.isFile() && dirent.name.startsWith(QUARANTINE_PREFIX)) {
          const original = dirent.name.slice(QUARANTINE_PREFIX.length).replace(/^[0-9a-f]+\./, '');
          try {
            const target = await restore(path, join(dir, original));
            logger.warn({ file: target }, 'restored a file an interrupted purge had set aside');
            restored++;
          } catch (err) {
            logger.error(
              { err, file: path },
              'cannot restore a file an interrupted purge set aside; it stays there',
            );
          }
        }
      }
    }
  }
  return restored;
}
