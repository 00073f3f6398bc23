// fsync helpers: a copy counts as stored only once its bytes and its folder entry are on disk.
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

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

  async flush(): Promise<void> {
    const dirs = [...this.dirs];
    this.dirs.clear();
    for (const dir of dirs) await fsyncDir(dir);
  }
}
