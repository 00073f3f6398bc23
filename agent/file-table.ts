// The index's storage: one numbered slot per listed file, its numbers in typed columns, not one object each.
import { Hex64Column, float64Column, uint32Column } from '../lib/paged-column.js';
import { PathTable } from '../lib/path-table.js';

export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** One listed file, as the index hands it out; made on demand, the index itself holds none. */
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

/**
 * A frozen list of files for a reader that takes its time (a manifest streamed to a slow client):
 * paths and their slots, which the index leaves untouched until `release`. `removed` is set for a
 * list of changes.
 */
export interface IndexListing {
  /** How many files it lists. */
  readonly length: number;
  readonly removed: readonly string[];
  /** The path of the file at position i. */
  path(i: number): string;
  /** The file at position i. */
  file(i: number): IndexedFile;
  /** Ends the reading; the slots may be reused after it. Idempotent. */
  release(): void;
}

/**
 * Path, size, mtime, inode, generation and xxh64 of each slot, in columns and pages off the JS heap:
 * about 60 bytes a file and its path's bytes, where a Map of path strings to objects held about 250
 * on the heap. A slot is keyed by its path (found by it) while it is the file listed there. Slots
 * are reused once freed.
 */
export class FileTable {
  private readonly paths = new PathTable();
  private readonly sizes = float64Column();
  private readonly mtimes = float64Column();
  private readonly inos = float64Column();
  private readonly gens = float64Column();
  /** xxh64 as its high and low 32 bits. */
  private readonly hashes = new Hex64Column();
  /** The sweep (see FileIndex.retainMarked) that last saw each slot. */
  private readonly marks = uint32Column();
  private used = 0;
  private readonly free: number[] = [];
  /** Listings being read: while there are any, released slots wait in `deferred`, not reused. */
  private pins = 0;
  private deferred: number[] = [];
  private sweepNo = 0;

  /** How many slots are keyed: the files listed. */
  get count(): number {
    return this.paths.size;
  }

  /** The slot keyed by `path`, or -1. */
  find(path: string): number {
    return this.paths.find(path);
  }

  /** A new slot keyed by `path` (which no slot may be keyed by) holding these values. */
  add(path: string, identity: FileIdentity, xxh64: string, gen: number): number {
    const slot = this.store(identity, xxh64, gen);
    this.paths.add(slot, path);
    return slot;
  }

  /**
   * A new slot holding these values, keyed by the path of `old` in its place; `old` keeps its values
   * (a listing may be reading it) and its seen mark carries over, until it is released here.
   */
  replace(old: number, identity: FileIdentity, xxh64: string, gen: number): number {
    const slot = this.store(identity, xxh64, gen);
    this.paths.replace(old, slot);
    this.marks.set(slot, this.marks.get(old));
    this.release(old);
    return slot;
  }

  /** Unkeys the slot and releases it. */
  remove(slot: number): void {
    this.paths.unkey(slot);
    this.release(slot);
  }

  /** The keyed slots. */
  keyed(): IterableIterator<number> {
    return this.paths.keyedSlots();
  }

  path(slot: number): string {
    return this.paths.path(slot);
  }

  /** A test of whether a slot's path starts with `prefix`. */
  prefixTest(prefix: string): (slot: number) => boolean {
    return this.paths.prefixTest(prefix);
  }

  private store(identity: FileIdentity, xxh64: string, gen: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.used++;
      for (const column of [this.sizes, this.mtimes, this.inos, this.gens]) column.ensure(slot);
      for (const column of [this.hashes, this.marks]) column.ensure(slot);
    }
    this.sizes.set(slot, identity.size);
    this.mtimes.set(slot, identity.mtimeMs);
    this.inos.set(slot, identity.ino);
    this.gens.set(slot, gen);
    this.hashes.set(slot, xxh64);
    this.marks.set(slot, 0);
    return slot;
  }

  /** The slot may be handed out again (once no listing is being read). */
  private release(slot: number): void {
    if (this.pins > 0) {
      this.deferred.push(slot);
    } else {
      this.paths.free(slot);
      this.free.push(slot);
    }
  }

  /** Keeps every slot as it is until the returned function is called (once or more). */
  pin(): () => void {
    this.pins++;
    let pinned = true;
    return () => {
      if (!pinned) return;
      pinned = false;
      if (--this.pins > 0) return;
      const deferred = this.deferred;
      this.deferred = [];
      for (const slot of deferred) this.release(slot);
    };
  }

  /** The file a slot holds, as an object. */
  file(slot: number): IndexedFile {
    return new IndexedFile(
      this.size(slot),
      this.mtimeMs(slot),
      this.ino(slot),
      this.xxh64(slot),
      this.gen(slot),
    );
  }

  /** Starts a sweep: no slot counts as seen until `markSeen`. */
  beginSweep(): void {
    this.sweepNo = (this.sweepNo % 0xffff_fffe) + 1;
  }

  markSeen(slot: number): void {
    this.marks.set(slot, this.sweepNo);
  }

  /** Whether the slot was marked since the sweep began. */
  seen(slot: number): boolean {
    return this.marks.get(slot) === this.sweepNo;
  }

  size(slot: number): number {
    return this.sizes.get(slot);
  }

  mtimeMs(slot: number): number {
    return this.mtimes.get(slot);
  }

  ino(slot: number): number {
    return this.inos.get(slot);
  }

  gen(slot: number): number {
    return this.gens.get(slot);
  }

  xxh64(slot: number): string {
    return this.hashes.get(slot);
  }

  /** True when the slot holds exactly this identity (and, if given, this hash). */
  matches(slot: number, identity: FileIdentity, xxh64?: string): boolean {
    return (
      this.sizes.get(slot) === identity.size &&
      this.mtimes.get(slot) === identity.mtimeMs &&
      this.inos.get(slot) === identity.ino &&
      (xxh64 === undefined || this.xxh64(slot) === xxh64)
    );
  }
}
