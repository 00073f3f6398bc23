// The receipts an agent holds, off the JS heap: fixed-width keys in the order they were added (or
// added again), found through an open-addressing table. After a sync of 200k files a Set of their
// key strings was 11 MiB of live heap that every major collection marked.
import { uint8Column, uint32Column } from '../lib/paged-column.js';
import { SlotBuckets, hashBytes } from '../lib/slot-buckets.js';

/** A receipt key's length in characters (base64url, so one byte each). */
export const RECEIPT_KEY_LENGTH = 22;
const KEYS_PER_PAGE = 2048;
const PAGE_BYTES = KEYS_PER_PAGE * RECEIPT_KEY_LENGTH;
const MAX_ENTRY = 2 ** 30;

/**
 * Entries are numbered in the order keys were added; deleting one leaves a gap, and the entries are
 * numbered again (in order) once gaps outnumber them. About 22 bytes a key, 5 of columns and 8 or
 * more of buckets.
 */
export class ReceiptSet {
  private pages: (Buffer | undefined)[] = [];
  private hashes = uint32Column();
  /** 1 for an entry in the set, 0 for a gap. */
  private alive = uint8Column();
  /** The sweep that last marked each entry (see beginSweep). */
  private marks = uint32Column();
  private buckets = this.newBuckets();
  /** The oldest entry that may be alive, and the number the next one gets. */
  private head = 0;
  private tail = 0;
  private sweepNo = 0;
  /** `keys` iterations under way. */
  private readers = 0;
  private readonly query = Buffer.alloc(RECEIPT_KEY_LENGTH);
  private readonly matchesQuery = (entry: number): boolean => {
    const page = this.pages[Math.floor(entry / KEYS_PER_PAGE)]!;
    const offset = (entry % KEYS_PER_PAGE) * RECEIPT_KEY_LENGTH;
    for (let i = 0; i < RECEIPT_KEY_LENGTH; i++) if (page[offset + i] !== this.query[i]) return false;
    return true;
  };

  get size(): number {
    return this.buckets.size;
  }

  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  /** Adds the key as the newest, moving it there if it is in the set already. */
  add(key: string): void {
    const old = this.find(key);
    if (old >= 0) this.drop(old);
    this.encode(key);
    this.append(this.query, 0, hashBytes(this.query, 0, RECEIPT_KEY_LENGTH), 0);
    this.tidy();
  }

  /** Takes the key out; false when it was not in the set. */
  delete(key: string): boolean {
    const entry = this.find(key);
    if (entry < 0) return false;
    this.drop(entry);
    this.tidy();
    return true;
  }

  /** The oldest key, taken out of the set; undefined when it is empty. */
  shift(): string | undefined {
    while (this.head < this.tail && this.alive.get(this.head) === 0) this.head++;
    if (this.head === this.tail) return undefined;
    const key = this.keyAt(this.head);
    this.drop(this.head);
    this.tidy();
    return key;
  }

  /**
   * The keys, oldest first. A key added while this is read may or may not be listed; one deleted
   * before it is reached is not. Entries are not numbered again while one is being read.
   */
  *keys(): IterableIterator<string> {
    this.readers++;
    try {
      for (let entry = this.head; entry < this.tail; entry = Math.max(entry + 1, this.head)) {
        if (this.alive.get(entry) === 1) yield this.keyAt(entry);
      }
    } finally {
      this.readers--;
    }
  }

  /** Starts a sweep: `mark` each key to keep, then `deleteUnmarked`. */
  beginSweep(): void {
    this.sweepNo = (this.sweepNo % 0xffff_fffe) + 1;
  }

  /** Keeps this key through the sweep; false when it is not in the set. */
  mark(key: string): boolean {
    const entry = this.find(key);
    if (entry >= 0) this.marks.set(entry, this.sweepNo);
    return entry >= 0;
  }

  /** Takes out every key not marked since `beginSweep`; returns them, oldest first. */
  deleteUnmarked(): string[] {
    const gone: number[] = [];
    for (let entry = this.head; entry < this.tail; entry++) {
      if (this.alive.get(entry) === 1 && this.marks.get(entry) !== this.sweepNo) gone.push(entry);
    }
    const keys = gone.map((entry) => this.keyAt(entry));
    for (const entry of gone) this.drop(entry);
    this.tidy();
    return keys;
  }

  private find(key: string): number {
    this.encode(key);
    return this.buckets.find(hashBytes(this.query, 0, RECEIPT_KEY_LENGTH), this.matchesQuery);
  }

  /** Puts the key's bytes in `query`. */
  private encode(key: string): void {
    if (key.length !== RECEIPT_KEY_LENGTH || this.query.write(key, 'latin1') !== RECEIPT_KEY_LENGTH) {
      throw new Error(`a receipt key has ${RECEIPT_KEY_LENGTH} characters, not ${key.length}`);
    }
  }

  /** A new newest entry: the key at `offset` of `source`. */
  private append(source: Uint8Array, offset: number, hash: number, mark: number): void {
    const entry = this.tail++;
    const pageNo = Math.floor(entry / KEYS_PER_PAGE);
    while (this.pages.length <= pageNo) this.pages.push(undefined);
    const page = (this.pages[pageNo] ??= Buffer.allocUnsafeSlow(PAGE_BYTES));
    page.set(
      source.subarray(offset, offset + RECEIPT_KEY_LENGTH),
      (entry % KEYS_PER_PAGE) * RECEIPT_KEY_LENGTH,
    );
    for (const column of [this.hashes, this.marks]) column.ensure(entry);
    this.alive.ensure(entry);
    this.hashes.set(entry, hash);
    this.alive.set(entry, 1);
    this.marks.set(entry, mark);
    this.buckets.insert(entry);
  }

  private keyAt(entry: number): string {
    const offset = (entry % KEYS_PER_PAGE) * RECEIPT_KEY_LENGTH;
    return this.pages[Math.floor(entry / KEYS_PER_PAGE)]!.toString(
      'latin1',
      offset,
      offset + RECEIPT_KEY_LENGTH,
    );
  }

  /** Takes one entry out; `tidy` afterwards. */
  private drop(entry: number): void {
    this.buckets.remove(entry);
    this.alive.set(entry, 0);
  }

  /** Lets go of the pages wholly before the oldest live entry, and numbers entries again when gaps outnumber them. */
  private tidy(): void {
    while (this.head < this.tail && this.alive.get(this.head) === 0) this.head++;
    for (let page = Math.floor(this.head / KEYS_PER_PAGE) - 1; page >= 0 && this.pages[page]; page--) {
      this.pages[page] = undefined;
    }
    for (const column of [this.hashes, this.marks]) column.dropBefore(this.head);
    this.alive.dropBefore(this.head);
    // Entry numbers must also stay within the buckets' Int32Array.
    const gappy = this.tail - this.head > 2 * this.size + KEYS_PER_PAGE;
    if (this.readers === 0 && (gappy || this.tail > MAX_ENTRY)) this.renumber();
  }

  /** Numbers the live entries again from 0, in order, dropping the gaps. */
  private renumber(): void {
    const { pages, hashes, alive, marks, head, tail } = this;
    this.pages = [];
    this.hashes = uint32Column();
    this.alive = uint8Column();
    this.marks = uint32Column();
    this.buckets = this.newBuckets();
    this.head = this.tail = 0;
    for (let entry = head; entry < tail; entry++) {
      if (alive.get(entry) !== 1) continue;
      const page = pages[Math.floor(entry / KEYS_PER_PAGE)]!;
      this.append(page, (entry % KEYS_PER_PAGE) * RECEIPT_KEY_LENGTH, hashes.get(entry), marks.get(entry));
    }
  }

  private newBuckets(): SlotBuckets {
    return new SlotBuckets((entry) => this.hashes.get(entry));
  }
}
