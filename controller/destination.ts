// The host-side destination folder: checked writable, locked to one controller, temp files cleaned.
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, readdir, realpath, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError } from '../common/errors.js';

export const STATE_DIR = '.forge-sync';

export interface Destination {
  /** Absolute path of --dest, with symlinks resolved. */
  root: string;
  /** Where incoming files are written before they are verified and moved into place. */
  tmpDir: string;
  /** The embedded catalog's data folder. */
  catalogDir: string;
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
  try {
    await mkdir(tmpDir, { recursive: true });
  } catch (err) {
    throw new AppError(
      'E_DEST_NOT_WRITABLE',
      `--dest ${dest}: cannot create ${tmpDir} (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  const lockPath = join(state, 'lock');
  await takeLock(lockPath, dest);
  for (const name of await readdir(tmpDir)) await rm(join(tmpDir, name), { force: true, recursive: true });
  return {
    root,
    tmpDir,
    catalogDir: join(state, 'catalog'),
    release: () => rm(lockPath, { force: true }),
  };
}

async function takeLock(lockPath: string, dest: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    if (pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new AppError(
        'E_DEST_LOCKED',
        `--dest ${dest}: another forge-sync process (pid ${pid}) is using it`,
      );
    }
    await rm(lockPath, { force: true }); // stale: its process is gone
  }
  throw new AppError('E_DEST_LOCKED', `--dest ${dest}: cannot take the lock ${lockPath}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
