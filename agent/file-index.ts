// The agent's index of listed files: hash by (path, size, mtime, inode), so an unchanged file is never
// read twice, and a change journal (epoch, generation, tombstones) that answers "what changed since G".
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
export type { FileIdentity } from './file-table.js';
import { type FileIdentity, FileTable, IndexedFile, type IndexListing } from './file-table.js';

export { IndexedFile, type IndexListing } from './file-table.js';
import { exists, readStateFile, writeStateFile } from './index-state-file.js';

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
  /** Listed files: each keyed by its path in the table. */
  private readonly table = new FileTable();
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
    return this.table.count;
  }

  get epoch(): string {
    return this.epochId;
  }

  get generation(): number {
    return this.generationNo;
  }

  /** The cached hash when the file's identity is exactly the one it was hashed with. */
  get(path: string, identity: FileIdentity): string | undefined {
    const slot = this.table.find(path);
    if (slot < 0 || !this.table.matches(slot, identity)) return undefined;
    return this.table.xxh64(slot);
  }

  /** Lists a file with this identity and hash; a no-op when it is listed exactly so already. */
  set(path: string, identity: FileIdentity, xxh64: string): void {
    const old = this.table.find(path);
    if (old >= 0 && this.table.matches(old, identity, xxh64)) return;
    // A new slot even for a listed path: a listing being read may still show the old one.
    if (old >= 0) this.table.replace(old, identity, xxh64, this.generationNo + 1);
    else this.table.add(path, identity, xxh64, this.generationNo + 1);
    this.tombstones.delete(path);
    this.uncommitted = this.dirty = true;
  }

  delete(path: string): void {
    const slot = this.table.find(path);
    if (slot < 0) return;
    this.table.remove(slot);
    this.tombstones.delete(path);
    this.tombstones.set(path, this.generationNo + 1);
    this.uncommitted = this.dirty = true;
  }

  /** Unlists every file below a folder that is gone. */
  deleteUnder(folder: string): void {
    this.deleteWhere(this.table.prefixTest(`${folder}/`));
  }

  /** Unlists every path not in `keep`: files that are gone. */
  retainOnly(keep: ReadonlySet<string>): void {
    this.deleteWhere((slot) => !keep.has(this.table.path(slot)));
  }

  /** Unlists every listed file whose slot passes `test`. */
  private deleteWhere(test: (slot: number) => boolean): void {
    const gone: string[] = [];
    for (const slot of this.table.keyed()) if (test(slot)) gone.push(this.table.path(slot));
    for (const path of gone) this.delete(path);
  }

  /**
   * Starts a sweep: `mark` each path still there, then `retainMarked` unlists the others. Does what
   * `retainOnly` does without a set of every path (a full scan's 200k strings).
   */
  beginSweep(): void {
    this.table.beginSweep();
  }

  /** This listed path is still there (see beginSweep). */
  mark(path: string): void {
    const slot = this.table.find(path);
    if (slot >= 0) this.table.markSeen(slot);
  }

  /** Unlists every path not marked since `beginSweep`. */
  retainMarked(): void {
    this.deleteWhere((slot) => !this.table.seen(slot));
  }

  /** Unlists every path below `folder` not marked since `beginSweep`. */
  retainMarkedUnder(folder: string): void {
    const under = this.table.prefixTest(`${folder}/`);
    this.deleteWhere((slot) => under(slot) && !this.table.seen(slot));
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

  /** Every listed file, in no particular order; each entry is made as it is read. */
  *listed(): IterableIterator<[string, IndexedFile]> {
    for (const slot of this.table.keyed()) yield [this.table.path(slot), this.table.file(slot)];
  }

  /**
   * What changed after generation `since` of `epoch`, or null when this index cannot say (another
   * epoch, a generation it never had, or removals it has forgotten): the client needs a full list.
   */
  changesSince(epoch: string, since: number): IndexChanges | null {
    const listing = this.listing({ epoch, generation: since });
    if (!listing) return null;
    try {
      const files = Array.from({ length: listing.length }, (_, i): [string, IndexedFile] => [
        listing.path(i),
        listing.file(i),
      ]);
      return { files, removed: [...listing.removed] };
    } finally {
      listing.release();
    }
  }

  /**
   * The listed files (all of them, or, given a position, those changed after it, with the paths
   * removed since), frozen until the listing is released. Null when the index cannot say what
   * changed since that position (see changesSince).
   */
  listing(since?: { epoch: string; generation: number }): IndexListing | null {
    const { table } = this;
    let slots: Int32Array;
    const removed: string[] = [];
    if (since) {
      const { epoch, generation } = since;
      if (epoch !== this.epochId || generation > this.generationNo || generation < this.horizon) return null;
      const changed: number[] = [];
      if (generation < this.generationNo) {
        for (const slot of table.keyed()) if (table.gen(slot) > generation) changed.push(slot);
      }
      slots = Int32Array.from(changed);
      for (const [path, gen] of this.tombstones) if (gen > generation) removed.push(path);
    } else {
      slots = new Int32Array(table.count);
      let i = 0;
      for (const slot of table.keyed()) slots[i++] = slot;
    }
    const unpin = table.pin();
    return {
      length: slots.length,
      removed,
      path: (i) => table.path(slots[i]!),
      file: (i) => table.file(slots[i]!),
      release: unpin,
    };
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
    const reader = {
      header: (header: { epoch: string; generation: number; horizon: number }) => {
        this.epochId = header.epoch;
        this.generationNo = header.generation;
        this.horizon = header.horizon;
      },
      file: (path: string, identity: FileIdentity, xxh64: string, gen: number) => {
        const old = this.table.find(path);
        if (old >= 0) this.table.replace(old, identity, xxh64, gen);
        else this.table.add(path, identity, xxh64, gen);
      },
      tombstone: (path: string, gen: number) => void this.tombstones.set(path, gen),
    };
    if (!(await readStateFile(join(this.stateDir, FILE_NAME), reader)))
      await readStateFile(join(this.stateDir, V1_FILE_NAME), reader);
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
    // The files as they are now, frozen while they are written out; what changes meanwhile marks the
    // index dirty again.
    const listing = this.listing()!;
    try {
      await writeStateFile(join(this.stateDir, FILE_NAME), async (out) => {
        await out.line({ v: 2, epoch: this.epochId, generation: this.generationNo, horizon: this.horizon });
        for (let i = 0; i < listing.length; i++) {
          const { size, mtimeMs, ino, xxh64, gen } = listing.file(i);
          await out.line([listing.path(i), size, mtimeMs, ino, xxh64, gen]);
        }
        for (const [path, gen] of this.tombstones) await out.line([path, gen]);
      });
    } catch (err) {
      this.dirty = true;
      throw err;
    } finally {
      listing.release();
    }
    await rm(join(this.stateDir, V1_FILE_NAME), { force: true });
  }
}
