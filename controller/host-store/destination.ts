// The host-side destination folder: checked writable, locked to one controller, temp files cleaned.
import { constants } from 'node:fs';
import { access, mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError } from '../../common/errors.js';
import { takeLock } from './dest-lock.js';
import { type DurabilityMode, probeDurability } from './durable.js';

export const STATE_DIR = '.forge-sync';

export interface Destination {
  /** --dest as given, for messages that name it. */
  name: string;
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
    name: dest,
    root,
    tmpDir,
    journalDir,
    catalogDir: join(state, 'catalog'),
    durability: await probeDurability(),
    release,
  };
}
