// The agent's index of listed files: hash by (path, size, mtime, inode), so an unchanged file is never
// read twice, and a change journal (epoch, generation, tombstones) that answers "what changed since G".
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isXxh64 } from '../common/manifest.js';

export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** One listed file. A class, so 200k of them share one hidden shape and stay small. */
export class IndexedFile {
  constructor(
    readonly size: number,
    readonly mtimeMs: number,
    readonly ino: number,
    readonly xxh64: string,
    /** The generation that last changed this entry. */
    readonly gen: number,
  ) {}
}

/** What changed after a generation: files added or changed, and paths no longer listed. */
export interface IndexChanges {
  files: [string, IndexedFile][];
  removed: string[];
}

const FILE_NAME = 'file-index.v2.ndjson';
/** The hash cache of earlier versions: its hashes are kept, its generations start again. */
const V1_FILE_NAME = 'hash-cache.v1.ndjson';
/** Present while an agent runs on this state folder; found at start, it means the last run crashed. */
const OPEN_MARKER = 'file-index.open';
/** Removed paths remembered for incremental manifests; older removals make a client take a full one. */
export const MAX_TOMBSTONES = 50_000;

const newEpoch = (): string => randomBytes(6).toString('hex');

/**
 * One instance belongs to one agent process; scanner, archive writer and purge share it from the
 * single event loop, so it needs no locking. Changes are stamped with the next generation; `commit`
 * makes them that generation and wakes waiters. Callers commit before `changesSince`: until then it
 * may already report some of them (it keeps only each path's newest entry, so hiding them could
 * lose an older committed one), which is harmless, as they are reported again. With a state folder
 * it is loaded at start and written back atomically (temp file, fsync, rename). The epoch names one
 * unbroken history of generations: a new index, or one whose last run crashed (it may have served
 * generations it never saved), starts a new epoch, so no client can mistake an old position for a
 * current one.
 */
export class FileIndex {
  private readonly files = new Map<string, IndexedFile>();
  private readonly tombstones = new Map<string, number>();
  private epochId = newEpoch();
  private generationNo = 0;
  /** A client whose position is older than this must take a full manifest. */
  private horizon = 0;
  private uncommitted = false;
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly stateDir?: string) {}

  get size(): number {
    return this.files.size;
  }

  get epoch(): string {
    return this.epochId;
  }

  get generation(): number {
    return this.generationNo;
  }

  /** The cached hash when the file's identity is exactly the one it was hashed with. */
  get(path: string, identity: FileIdentity): string | undefined {
    const file = this.files.get(path);
    if (!file) return undefined;
    const same =
      file.size === identity.size && file.mtimeMs === identity.mtimeMs && file.ino === identity.ino;
    return same ? file.xxh64 : undefined;
  }

  /** Lists a file with this identity and hash; a no-op when it is listed exactly so already. */
  set(path: string, identity: FileIdentity, xxh64: string): void {
    const file = this.files.get(path);
    const same =
      file &&
      file.xxh64 === xxh64 &&
      file.size === identity.size &&
      file.mtimeMs === identity.mtimeMs &&
      file.ino === identity.ino;
    if (same) return;
    this.files.set(
      path,
      new IndexedFile(identity.size, identity.mtimeMs, identity.ino, xxh64, this.generationNo + 1),
    );
    this.tombstones.delete(path);
    this.uncommitted = this.dirty = true;
  }

  delete(path: string): void {
    if (!this.files.delete(path)) return;
    this.tombstones.delete(path);
    this.tombstones.set(path, this.generationNo + 1);
    this.uncommitted = this.dirty = true;
  }

  /** Unlists every file below a folder that is gone. */
  deleteUnder(folder: string): void {
    const prefix = `${folder}/`;
    for (const path of [...this.files.keys()]) if (path.startsWith(prefix)) this.delete(path);
  }

  /** Unlists every path below `folder` that is not in `keep`: what a fresh walk of it no longer found. */
  retainUnder(folder: string, keep: ReadonlySet<string>): void {
    const prefix = `${folder}/`;
    for (const path of [...this.files.keys()])
      if (path.startsWith(prefix) && !keep.has(path)) this.delete(path);
  }

  /** Unlists every path not in `keep`: files that are gone. */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const path of [...this.files.keys()]) if (!keep.has(path)) this.delete(path);
  }

  /** Makes the changes so far one new generation; true when there were any. */
  commit(): boolean {
    if (!this.uncommitted) return false;
    this.uncommitted = false;
    this.generationNo++;
    for (const [path, gen] of this.tombstones) {
      if (this.tombstones.size <= MAX_TOMBSTONES) break;
      this.tombstones.delete(path);
      this.horizon = Math.max(this.horizon, gen);
    }
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    return true;
  }

  /** Every listed file, in no particular order. */
  listed(): IterableIterator<[string, IndexedFile]> {
    return this.files.entries();
  }

  /**
   * What changed after generation `since` of `epoch`, or null when this index cannot say (another
   * epoch, a generation it never had, or removals it has forgotten): the client needs a full list.
   */
  changesSince(epoch: string, since: number): IndexChanges | null {
    if (epoch !== this.epochId || since > this.generationNo || since < this.horizon) return null;
    const files: [string, IndexedFile][] = [];
    if (since < this.generationNo) {
      for (const entry of this.files) if (entry[1].gen > since) files.push(entry);
    }
    const removed: string[] = [];
    for (const [path, gen] of this.tombstones) if (gen > since) removed.push(path);
    return { files, removed };
  }

  /** Resolves at the next commit that changes something, or after `ms`, or when `signal` aborts. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Loads the state folder's index (or an older hash cache) and marks the folder as in use. */
  async load(): Promise<void> {
    if (!this.stateDir) return;
    const crashed = await exists(join(this.stateDir, OPEN_MARKER));
    const text =
      (await readIfThere(join(this.stateDir, FILE_NAME))) ??
      (await readIfThere(join(this.stateDir, V1_FILE_NAME)));
    if (text !== null) this.parse(text);
    // The last run may have served generations after its last save: its positions are void. The new
    // epoch is saved even if nothing else changes, or a clean stop would leave the old one on disk.
    if (crashed) {
      this.epochId = newEpoch();
      this.dirty = true;
    }
    await mkdir(this.stateDir, { recursive: true });
    const marker = await open(join(this.stateDir, OPEN_MARKER), 'w');
    await marker.sync();
    await marker.close();
  }

  private parse(text: string): void {
    for (const line of text.split('\n')) {
      if (!line) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue; // A damaged line only costs one re-hash.
      }
      if (!Array.isArray(value)) {
        const header = value as { v?: unknown; epoch?: unknown; generation?: unknown; horizon?: unknown };
        if (header?.v === 2 && typeof header.epoch === 'string' && Number.isSafeInteger(header.generation)) {
          this.epochId = header.epoch;
          this.generationNo = header.generation as number;
          this.horizon = Number.isSafeInteger(header.horizon) ? (header.horizon as number) : 0;
        }
        continue;
      }
      const [path, a, b, c, xxh64, gen] = value as unknown[];
      if (typeof path !== 'string') continue;
      if (value.length === 2 && Number.isSafeInteger(a)) {
        this.tombstones.set(path, a as number);
      } else if (isXxh64(xxh64) && [a, b, c].every((n) => typeof n === 'number')) {
        const stamp = Number.isSafeInteger(gen) ? (gen as number) : 0;
        this.files.set(path, new IndexedFile(a as number, b as number, c as number, xxh64, stamp));
      }
    }
  }

  /** Writes the index if it changed; saves that overlap run one after the other. */
  save(): Promise<void> {
    this.saving = this.saving.catch(() => undefined).then(() => this.write());
    return this.saving;
  }

  /** The last save of a clean shutdown: after it, the next start keeps this epoch. */
  async close(): Promise<void> {
    this.commit();
    await this.save();
    if (this.stateDir) await rm(join(this.stateDir, OPEN_MARKER), { force: true });
  }

  private async write(): Promise<void> {
    if (!this.stateDir || !this.dirty) return;
    this.dirty = false; // changes made while writing mark it again
    await mkdir(this.stateDir, { recursive: true });
    const target = join(this.stateDir, FILE_NAME);
    const temp = `${target}.${process.pid}.tmp`;
    const handle = await open(temp, 'w');
    try {
      const header = { v: 2, epoch: this.epochId, generation: this.generationNo, horizon: this.horizon };
      let chunk = `${JSON.stringify(header)}\n`;
      const flushAt = 1 << 20;
      for (const [path, file] of this.files) {
        chunk += `${JSON.stringify([path, file.size, file.mtimeMs, file.ino, file.xxh64, file.gen])}\n`;
        if (chunk.length > flushAt) {
          await handle.write(chunk);
          chunk = '';
        }
      }
      for (const [path, gen] of this.tombstones) {
        chunk += `${JSON.stringify([path, gen])}\n`;
        if (chunk.length > flushAt) {
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
    await rm(join(this.stateDir, V1_FILE_NAME), { force: true });
  }
}

async function readIfThere(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await (await open(path, 'r')).close();
    return true;
  } catch {
    return false;
  }
}
