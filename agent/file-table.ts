// The index's storage: one numbered slot per listed file, its numbers in typed arrays, not one object each.
import type { FileIdentity } from './file-index.js';

const INITIAL_SLOTS = 1024;

/**
 * Size, mtime, inode, generation and xxh64 of each slot, in columns: about 40 bytes a file, where a
 * JS object with a hex string held about 150. Slots are reused once freed. The path of a slot is kept
 * by the caller (the index's path map), so a path string exists once.
 */
export class FileTable {
  private capacity = 0;
  private sizes = new Float64Array(0);
  private mtimes = new Float64Array(0);
  private inos = new Float64Array(0);
  private gens = new Float64Array(0);
  /** xxh64 as its high and low 32 bits. */
  private hashHi = new Uint32Array(0);
  private hashLo = new Uint32Array(0);
  /** The sweep (see FileIndex.retainMarked) that last saw each slot. */
  private marks = new Uint32Array(0);
  private used = 0;
  private readonly free: number[] = [];

  /** A new slot holding these values. */
  add(identity: FileIdentity, xxh64: string, gen: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.capacity) this.grow();
      slot = this.used++;
    }
    this.sizes[slot] = identity.size;
    this.mtimes[slot] = identity.mtimeMs;
    this.inos[slot] = identity.ino;
    this.gens[slot] = gen;
    this.hashHi[slot] = Number.parseInt(xxh64.slice(0, 8), 16);
    this.hashLo[slot] = Number.parseInt(xxh64.slice(8, 16), 16);
    this.marks[slot] = 0;
    return slot;
  }

  /** The slot may be handed out again. */
  release(slot: number): void {
    this.free.push(slot);
  }

  size(slot: number): number {
    return this.sizes[slot]!;
  }

  mtimeMs(slot: number): number {
    return this.mtimes[slot]!;
  }

  ino(slot: number): number {
    return this.inos[slot]!;
  }

  gen(slot: number): number {
    return this.gens[slot]!;
  }

  mark(slot: number): number {
    return this.marks[slot]!;
  }

  setMark(slot: number, mark: number): void {
    this.marks[slot] = mark;
  }

  xxh64(slot: number): string {
    return hex8(this.hashHi[slot]!) + hex8(this.hashLo[slot]!);
  }

  /** True when the slot holds exactly this identity (and, if given, this hash). */
  matches(slot: number, identity: FileIdentity, xxh64?: string): boolean {
    return (
      this.sizes[slot] === identity.size &&
      this.mtimes[slot] === identity.mtimeMs &&
      this.inos[slot] === identity.ino &&
      (xxh64 === undefined || this.xxh64(slot) === xxh64)
    );
  }

  private grow(): void {
    const capacity = Math.max(INITIAL_SLOTS, this.capacity * 2);
    const widen = <T extends Float64Array | Uint32Array>(old: T, next: T): T => {
      next.set(old);
      return next;
    };
    this.sizes = widen(this.sizes, new Float64Array(capacity));
    this.mtimes = widen(this.mtimes, new Float64Array(capacity));
    this.inos = widen(this.inos, new Float64Array(capacity));
    this.gens = widen(this.gens, new Float64Array(capacity));
    this.hashHi = widen(this.hashHi, new Uint32Array(capacity));
    this.hashLo = widen(this.hashLo, new Uint32Array(capacity));
    this.marks = widen(this.marks, new Uint32Array(capacity));
    this.capacity = capacity;
  }
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}
