// The host-side destination folder: checked writable, locked to one controller, temp files cleaned.
import { constants } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { access, mkdir, readFile, readdir, realpath, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { AppError } from '../common/errors.js';
import { type DurabilityMode, probeDurability } from './durable.js';

export const STATE_DIR = '.forge-sync';

export interface Destination {
  /** Absolute path of --dest, with symlinks resolved. */
  root: string;
  /** Where incoming files are written before they are verified and moved into place. */
  tmpDir: string;
  /** Where each batch lists the names it creates in place before it creates them (see Placer). */
  journalDir: string;
  /** The embedded catalog's data folder. */
  catalogDir: string;
  /** How batches are made durable here: one filesystem sync per batch, or an fsync per file. */
  durability: DurabilityMode;
  /** Releases the lock. */
  release(): Promise<void>;
}

/**
 * Makes --dest ready: creates it if missing, checks it is a writable folder, takes the lock file
 * (one controller per destination: the embedded catalog allows one process), and removes temp files
 * an interrupted run left behind.
 */
export async function openDestination(dest: string): Promise<Destination> {
  let root = resolve(dest);
  const existing = await stat(root).catch(() => null);
  if (existing && !existing.isDirectory()) {
    throw new AppError('E_DEST_NOT_WRITABLE', `--dest ${dest}: not a writable folder (it is a file)`);
  }
  try {
    await mkdir(root, { recursive: true });
    // Placer refuses any folder whose real path differs from its name, so name --dest by its real path.
    root = await realpath(root);
    if (!(await stat(root)).isDirectory()) throw new Error('not a folder');
    await access(root, constants.W_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new AppError('E_DEST_NOT_WRITABLE', `--dest ${dest}: not a writable folder (${why})`, {
      cause: err,
    });
  }
  const state = join(root, STATE_DIR);
  const tmpDir = join(state, 'tmp');
  const journalDir = join(state, 'inflight');
  try {
    await mkdir(tmpDir, { recursive: true });
    await mkdir(journalDir, { recursive: true });
  } catch (err) {
    throw new AppError(
      'E_DEST_NOT_WRITABLE',
      `--dest ${dest}: cannot create ${tmpDir} (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  const lockPath = join(state, 'lock');
  const release = await takeLock(lockPath, dest);
  for (const name of await readdir(tmpDir)) await rm(join(tmpDir, name), { force: true, recursive: true });
  return {
    root,
    tmpDir,
    journalDir,
    catalogDir: join(state, 'catalog'),
    durability: await probeDurability(root),
    release,
  };
}

/** A lock not refreshed for this long belongs to a process that is gone (on any host or container). */
const LOCK_STALE_MS = 60_000;
const LOCK_REFRESH_MS = 10_000;

interface LockOwner {
  host: string;
  pid: number;
  token: string;
}

/**
 * Takes <dest>/.forge-sync/lock, or fails naming who holds it. The holder refreshes the file's mtime
 * every 10 s, so a lock survives being shared across containers (where every process may be pid 1)
 * and a crashed holder's lock goes stale within a minute. Returns the release function.
 */
async function takeLock(lockPath: string, dest: string): Promise<() => Promise<void>> {
  const me: LockOwner = { host: hostname(), pid: process.pid, token: randomUUID() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(lockPath, `${JSON.stringify(me)}\n`, { flag: 'wx' });
      const timer = setInterval(() => {
        const now = new Date();
        void utimes(lockPath, now, now).catch(() => undefined);
      }, LOCK_REFRESH_MS);
      timer.unref();
      return async () => {
        clearInterval(timer);
        const owner = await readOwner(lockPath);
        if (owner?.token === me.token) await rm(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(lockPath);
    const age = Date.now() - ((await stat(lockPath).catch(() => null))?.mtimeMs ?? 0);
    const deadHere = owner !== null && owner.host === me.host && owner.pid !== me.pid && !isAlive(owner.pid);
    if (age < LOCK_STALE_MS && !deadHere) {
      const who = owner ? `pid ${owner.pid} on ${owner.host}` : 'a process that is starting';
      throw new AppError('E_DEST_LOCKED', `--dest ${dest}: another forge-sync process (${who}) is using it`);
    }
    await rm(lockPath, { force: true }); // stale: its holder stopped refreshing it, or died on this host
  }
  throw new AppError('E_DEST_LOCKED', `--dest ${dest}: cannot take the lock ${lockPath}`);
}

async function readOwner(lockPath: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse(await readFile(lockPath, 'utf8')) as LockOwner;
    return typeof owner.token === 'string' ? owner : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
