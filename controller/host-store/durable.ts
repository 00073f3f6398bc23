// fsync helpers: a copy counts as stored only once its bytes and its folder entry are on disk.
import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { forEachLimit } from '../../lib/pool.js';
import { syncFilesystem } from './sync-runner.js';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Folders whose entries changed in a batch. Each is fsynced once, however many files landed in it,
 * before the batch's catalog records are committed.
 */
export class DirtyDirs {
  private readonly dirs = new Set<string>();

  /** Marks the folder of a placed file, and the parents of folders created on the way down to it. */
  add(filePath: string, createdFrom?: string): void {
    this.dirs.add(dirname(filePath));
    if (!createdFrom) return;
    for (let dir = dirname(filePath); dir.length >= createdFrom.length; dir = dirname(dir)) {
      this.dirs.add(dirname(dir));
      if (dir === createdFrom) break;
    }
  }

  /** Forgets the marked folders: something else made them durable. */
  clear(): void {
    this.dirs.clear();
  }

  async flush(): Promise<void> {
    const dirs = [...this.dirs];
    this.dirs.clear();
    for (const dir of dirs) await fsyncDir(dir);
  }
}

/**
 * How a batch becomes durable before it is catalogued. `syncfs`: files are written without an
 * fsync each, and one syncfs(2) of the destination's filesystem (coreutils' or busybox's
 * `sync -f`) commits the whole batch: the journal commits once per batch, not once per file.
 * `fsync`: every file and every changed folder is fsynced, where no `sync` command runs (a
 * distroless image). Either way a record is written only after its copy is on disk.
 */
export type DurabilityMode = 'syncfs' | 'fsync';

/**
 * `syncfs` when a `sync` command is on the PATH, else `fsync`. Looked up, not run: a `sync -f` at
 * every start would flush every other writer's dirty pages on that filesystem first (seconds on a
 * busy disk). A `sync` that cannot do `-f` fails its first batch, which then falls back (see
 * BatchDurability), so the guess never costs durability.
 */
export async function probeDurability(): Promise<DurabilityMode> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const found = await access(join(dir, 'sync'), constants.X_OK).then(
      () => true,
      () => false,
    );
    if (found) return 'syncfs';
  }
  return 'fsync';
}

/**
 * Makes a batch of placed files durable. In `syncfs` mode one filesystem sync covers them; should
 * it fail, the batch falls back to fsyncing each file and folder, and later batches do so too.
 */
export class BatchDurability {
  constructor(
    private mode: DurabilityMode,
    private readonly root: string,
  ) {}

  /** Whether each file must be fsynced as it is written. */
  get fsyncEachFile(): boolean {
    return this.mode === 'fsync';
  }

  /**
   * `filesSynced`: whether the files were fsynced as they were written, as `fsyncEachFile` said
   * when the batch began. A batch written without, whose commit comes after another batch's
   * syncfs failed, has each of its files fsynced here: the mode it was written under is gone.
   */
  async commit(dirty: DirtyDirs, files: readonly string[], filesSynced: boolean): Promise<void> {
    if (this.mode === 'syncfs') {
      try {
        await syncFilesystem(this.root);
        dirty.clear();
        return;
      } catch {
        this.mode = 'fsync';
      }
    }
    if (!filesSynced) await forEachLimit(files, 16, fsyncFile);
    await dirty.flush();
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
