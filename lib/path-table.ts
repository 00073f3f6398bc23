// Paths kept off the JS heap: UTF-8 bytes in fixed pages, found again through an open-addressing
// table of slot numbers. 200k paths as strings in a Map were 22 MiB of live heap that every major
// collection marked, and the heap the collector keeps grows with what it marks.
import { float64Column, uint8Column, uint32Column } from './paged-column.js';
import { SlotBuckets, hashBytes } from './slot-buckets.js';

/** Bytes of one page; a longer path gets a page of its own. */
const PAGE_BYTES = 64 * 1024;
/** Dead bytes are reclaimed once they are this many (by default) and outnumber the live ones. */
const COMPACT_AFTER_BYTES = 4 * 1024 * 1024;

/** A slot's states. */
const FREE = 0;
const HELD = 1;
const KEYED = 2;

/**
 * Append-only UTF-8 storage: each text is put in one page, where it is found by a location number
 * (page × PAGE_BYTES + offset, exact in a double) and its byte length. Locations grow in the order
 * texts are put.
 */
export class TextPages {
  private readonly pages: (Buffer | undefined)[] = [];
  /** The page being filled, its number, and where its next text goes. */
  private current: Buffer | undefined;
  private currentNo = 0;
  private top = 0;
  /** Bytes held by all pages. */
  private heldBytes = 0;

  get bytes(): number {
    return this.heldBytes;
  }

  /** Stores `length` bytes of `source` (at `start`); returns where they are. */
  put(source: Uint8Array, start: number, length: number): number {
    if (length > PAGE_BYTES) {
      // A page of its own, and the next text starts a new page: locations grow in the order texts
      // are put, which dropBefore relies on.
      const own = Buffer.allocUnsafeSlow(length);
      own.set(source.subarray(start, start + length));
      this.heldBytes += length;
      this.current = undefined;
      return (this.pages.push(own) - 1) * PAGE_BYTES;
    }
    if (!this.current || this.top + length > PAGE_BYTES) {
      this.current = Buffer.allocUnsafeSlow(PAGE_BYTES);
      this.currentNo = this.pages.push(this.current) - 1;
      this.heldBytes += PAGE_BYTES;
      this.top = 0;
    }
    this.current.set(source.subarray(start, start + length), this.top);
    const at = this.currentNo * PAGE_BYTES + this.top;
    this.top += length;
    return at;
  }

  /**
   * Lets go of every page before the one holding location `at` (and pages of their own texts put
   * before it); nothing in them may be read again.
   */
  dropBefore(at: number): void {
    for (let page = Math.floor(at / PAGE_BYTES) - 1; page >= 0 && this.pages[page]; page--) {
      this.heldBytes -= this.pages[page]!.length;
      this.pages[page] = undefined;
    }
  }

  /** The page holding a location. */
  page(at: number): Buffer {
    return this.pages[Math.floor(at / PAGE_BYTES)]!;
  }

  text(at: number, length: number): string {
    const offset = at % PAGE_BYTES;
    return this.page(at).toString('utf8', offset, offset + length);
  }

  /** True when the bytes at `at` equal `length` bytes of `source`. */
  equals(at: number, source: Uint8Array, length: number): boolean {
    const page = this.page(at);
    const offset = at % PAGE_BYTES;
    for (let i = 0; i < length; i++) if (page[offset + i] !== source[i]) return false;
    return true;
  }

  /** True when the text at `at` (of `length` bytes) starts with the `prefixLength` bytes of `prefix`. */
  startsWith(at: number, length: number, prefix: Uint8Array, prefixLength: number): boolean {
    return length >= prefixLength && this.equals(at, prefix, prefixLength);
  }

  /** Copies `length` bytes at `at` of another store into this one; returns where they are now. */
  copyFrom(other: TextPages, at: number, length: number): number {
    return this.put(other.page(at), at % PAGE_BYTES, length);
  }
}

/** A reusable buffer holding one string's UTF-8 bytes at a time. */
export class Utf8Scratch {
  bytes = Buffer.allocUnsafeSlow(4096);
  length = 0;

  of(text: string): this {
    // Three bytes at most per UTF-16 unit.
    if (text.length * 3 > this.bytes.length) this.bytes = Buffer.allocUnsafeSlow(text.length * 3);
    this.length = this.bytes.write(text, 0, 'utf8');
    return this;
  }
}

/**
 * One path per slot (slot numbers are the caller's), and a lookup from path to the one slot keyed
 * by it. A slot can hold a path without being keyed (an entry replaced while a listing still reads
 * it); its bytes stay until it is freed. About 17 bytes a slot, the path's bytes, and 8 bytes or
 * more a keyed slot in the buckets.
 */
export class PathTable {
  private store = new TextPages();
  private readonly at = float64Column();
  private readonly lengths = uint32Column();
  private readonly hashes = uint32Column();
  /** The keyed slots, by their path's hash. */
  private readonly buckets = new SlotBuckets((slot) => this.hashes.get(slot));
  private liveBytes = 0;
  /** The path `find` looks for, as `matchesQuery` compares it. */
  private readonly query = new Utf8Scratch();
  private readonly matchesQuery = (slot: number): boolean =>
    this.lengths.get(slot) === this.query.length &&
    this.store.equals(this.at.get(slot), this.query.bytes, this.query.length);
  /** Each slot's state: FREE, HELD or KEYED. Held and keyed paths are copied when pages are compacted. */
  private readonly states = uint8Column();
  /** One more than the highest slot that ever held a path. */
  private slots = 0;

  constructor(private readonly compactAfterBytes = COMPACT_AFTER_BYTES) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Bytes of the pages holding paths. */
  get storedBytes(): number {
    return this.store.bytes;
  }

  /** The slot keyed by this path, or -1. */
  find(path: string): number {
    const { bytes, length } = this.query.of(path);
    return this.buckets.find(hashBytes(bytes, 0, length), this.matchesQuery);
  }

  /** Stores `path` as the slot's and keys the slot by it; no slot may be keyed by it already. */
  add(slot: number, path: string): void {
    const { bytes, length } = this.query.of(path);
    this.keyNew(slot, length, hashBytes(bytes, 0, length));
  }

  /**
   * `add`, unless a slot is keyed by `path` already: then false, and nothing stored. The path is
   * encoded and hashed once for the lookup and the store.
   */
  addIfAbsent(slot: number, path: string): boolean {
    const { bytes, length } = this.query.of(path);
    const hash = hashBytes(bytes, 0, length);
    if (this.buckets.find(hash, this.matchesQuery) >= 0) return false;
    this.keyNew(slot, length, hash);
    return true;
  }

  /** Gives slot `to` the path of keyed slot `from` and keys `to` by it in its place. */
  replace(from: number, to: number): void {
    const length = this.lengths.get(from);
    this.hold(to, this.store.copyFrom(this.store, this.at.get(from), length), length, this.hashes.get(from));
    this.buckets.replace(from, to);
    this.states.set(from, HELD);
    this.states.set(to, KEYED);
  }

  /** No longer keyed by its path; the path stays readable until `free`. */
  unkey(slot: number): void {
    if (this.states.get(slot) !== KEYED) return;
    this.states.set(slot, HELD);
    this.buckets.remove(slot);
  }

  /** The slot's path is not needed any more. */
  free(slot: number): void {
    if (slot >= this.slots || this.states.get(slot) === FREE) return;
    this.drop(slot);
    const dead = this.store.bytes - this.liveBytes;
    if (dead > this.compactAfterBytes && dead > this.liveBytes) this.compact();
  }

  /** The keyed slots, lowest first. */
  *keyedSlots(): IterableIterator<number> {
    for (let slot = 0; slot < this.slots; slot++) if (this.states.get(slot) === KEYED) yield slot;
  }

  path(slot: number): string {
    return this.store.text(this.at.get(slot), this.lengths.get(slot));
  }

  /** A prefix test for many slots, encoding the prefix once. */
  prefixTest(prefix: string): (slot: number) => boolean {
    const bytes = Buffer.from(prefix, 'utf8');
    return (slot) => this.store.startsWith(this.at.get(slot), this.lengths.get(slot), bytes, bytes.length);
  }

  /** Stores the `length` bytes in the query scratch as the slot's path and keys the slot by it. */
  private keyNew(slot: number, length: number, hash: number): void {
    this.hold(slot, this.store.put(this.query.bytes, 0, length), length, hash);
    this.insert(slot);
  }

  private hold(slot: number, at: number, length: number, hash: number): void {
    if (slot >= this.slots) {
      for (const column of [this.at, this.lengths, this.hashes]) column.ensure(slot);
      this.states.ensure(slot);
      this.slots = slot + 1;
    }
    // Never compacts here: `at` is a location in the current pages.
    if (this.states.get(slot) !== FREE) this.drop(slot);
    this.at.set(slot, at);
    this.lengths.set(slot, length);
    this.hashes.set(slot, hash);
    this.states.set(slot, HELD);
    this.liveBytes += length;
  }

  private drop(slot: number): void {
    this.unkey(slot);
    this.states.set(slot, FREE);
    this.liveBytes -= this.lengths.get(slot);
  }

  private insert(slot: number): void {
    this.states.set(slot, KEYED);
    this.buckets.insert(slot);
  }

  /** Copies the paths still held into new pages, dropping the dead bytes between them. */
  private compact(): void {
    const store = new TextPages();
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.states.get(slot) !== FREE)
        this.at.set(slot, store.copyFrom(this.store, this.at.get(slot), this.lengths.get(slot)));
    }
    this.store = store;
  }
}
