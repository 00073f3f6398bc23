// Hashes remembered by (path, size, mtime, inode), so an unchanged file is never read twice.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isXxh64 } from '../common/manifest.js';

export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ino: number;
}

interface CachedHash extends FileIdentity {
  xxh64: string;
}

const FILE_NAME = 'hash-cache.v1.ndjson';

/**
 * The agent's memory of file hashes. One instance belongs to one agent process; the scanner and
 * the archive writer share it from the single event loop, so it needs no locking. With a state
 * folder it is loaded at start and written back after each scan that changed it, atomically
 * (temp file, fsync, rename), so a crash leaves the previous copy.
 */
export class HashCache {
  private readonly entries = new Map<string, CachedHash>();
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly stateDir?: string) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached hash when the file's identity is exactly the one it was hashed with. */
  get(path: string, identity: FileIdentity): string | undefined {
    const cached = this.entries.get(path);
    if (!cached) return undefined;
    const same =
      cached.size === identity.size && cached.mtimeMs === identity.mtimeMs && cached.ino === identity.ino;
    return same ? cached.xxh64 : undefined;
  }

  set(path: string, identity: FileIdentity, xxh64: string): void {
    this.entries.set(path, { size: identity.size, mtimeMs: identity.mtimeMs, ino: identity.ino, xxh64 });
    this.dirty = true;
  }

  delete(path: string): void {
    if (this.entries.delete(path)) this.dirty = true;
  }

  /** Forgets every path not in `keep`: files that are gone. */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const path of this.entries.keys()) {
      if (!keep.has(path)) {
        this.entries.delete(path);
        this.dirty = true;
      }
    }
  }

  async load(): Promise<void> {
    if (!this.stateDir) return;
    let text: string;
    try {
      text = await readFile(join(this.stateDir, FILE_NAME), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const [path, size, mtimeMs, ino, xxh64] = JSON.parse(line) as [
          string,
          number,
          number,
          number,
          string,
        ];
        if (typeof path === 'string' && isXxh64(xxh64)) this.entries.set(path, { size, mtimeMs, ino, xxh64 });
      } catch {
        // A damaged line only costs one re-hash.
      }
    }
  }

  /** Writes the cache if it changed; saves that overlap run one after the other. */
  save(): Promise<void> {
    this.saving = this.saving.catch(() => undefined).then(() => this.write());
    return this.saving;
  }

  private async write(): Promise<void> {
    if (!this.stateDir || !this.dirty) return;
    this.dirty = false; // changes made while writing mark it again
    await mkdir(this.stateDir, { recursive: true });
    const target = join(this.stateDir, FILE_NAME);
    const temp = `${target}.${process.pid}.tmp`;
    const handle = await open(temp, 'w');
    try {
      let chunk = '';
      for (const [path, entry] of this.entries) {
        chunk += `${JSON.stringify([path, entry.size, entry.mtimeMs, entry.ino, entry.xxh64])}\n`;
        if (chunk.length > 1 << 20) {
          await handle.write(chunk);
          chunk = '';
        }
      }
      await handle.write(chunk);
      await handle.sync();
    } catch (err) {
      this.dirty = true;
      await handle.close();
      await rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    await rename(temp, target);
  }
}
