// The index's storage: one numbered slot per listed file, its numbers in typed columns, not one object each.
import { float64Column, uint32Column } from './paged-column.js';

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
  readonly paths: readonly string[];
  readonly slots: Int32Array;
  readonly removed: readonly string[];
  /** The file at position i of `paths`. */
  file(i: number): IndexedFile;
  /** Ends the reading; the slots may be reused after it. Idempotent. */
  release(): void;
}

/**
 * Size, mtime, inode, generation and xxh64 of each slot, in columns: about 44 bytes a file, where a
 * JS object with a hex string held about 150. Slots are reused once freed. The path of a slot is kept
 * by the caller (the index's path map), so a path string exists once.
 */
export class FileTable {
  private readonly sizes = float64Column();
  private readonly mtimes = float64Column();
  private readonly inos = float64Column();
  private readonly gens = float64Column();
  /** xxh64 as its high and low 32 bits. */
  private readonly hashHi = uint32Column();
  private readonly hashLo = uint32Column();
  /** The sweep (see FileIndex.retainMarked) that last saw each slot. */
  private readonly marks = uint32Column();
  private used = 0;
  private readonly free: number[] = [];
  /** Listings being read: while there are any, released slots wait in `deferred`, not reused. */
  private pins = 0;
  private deferred: number[] = [];
  private sweepNo = 0;

  /** A new slot holding these values. */
  add(identity: FileIdentity, xxh64: string, gen: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.used++;
      for (const column of [this.sizes, this.mtimes, this.inos, this.gens]) column.ensure(slot);
      for (const column of [this.hashHi, this.hashLo, this.marks]) column.ensure(slot);
    }
    this.sizes.set(slot, identity.size);
    this.mtimes.set(slot, identity.mtimeMs);
    this.inos.set(slot, identity.ino);
    this.gens.set(slot, gen);
    this.hashHi.set(slot, Number.parseInt(xxh64.slice(0, 8), 16));
    this.hashLo.set(slot, Number.parseInt(xxh64.slice(8, 16), 16));
    this.marks.set(slot, 0);
    return slot;
  }

  /** The slot may be handed out again (once no listing is being read). */
  release(slot: number): void {
    if (this.pins > 0) this.deferred.push(slot);
    else this.free.push(slot);
  }

  /** Keeps every slot as it is until the returned function is called (once or more). */
  pin(): () => void {
    this.pins++;
    let pinned = true;
    return () => {
      if (!pinned) return;
      pinned = false;
      if (--this.pins > 0) return;
      for (const slot of this.deferred) this.free.push(slot);
      this.deferred = [];
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

  /** Carries the seen mark of a slot over to the one replacing it. */
  copyMark(from: number, to: number): void {
    this.marks.set(to, this.marks.get(from));
  }

  xxh64(slot: number): string {
    return hex8(this.hashHi.get(slot)) + hex8(this.hashLo.get(slot));
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

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}
