// An open-addressing table of slot numbers, for sets and maps whose entries live in columns off the
// JS heap: it holds no keys, only where to find them, and asks its owner for a slot's hash.

/** The smallest number of buckets; the table doubles when half of them are used. */
const MIN_BUCKETS = 1024;

/**
 * Linear probing over an Int32Array of slot + 1 (0 is an empty bucket), with backward-shift
 * deletion, so no run is ever broken and no tombstones pile up. 8 bytes or more a slot.
 */
export class SlotBuckets {
  private buckets = new Int32Array(MIN_BUCKETS);
  private count = 0;

  /** `hashOf(slot)` must stay the same while the slot is in the table. */
  constructor(private readonly hashOf: (slot: number) => number) {}

  get size(): number {
    return this.count;
  }

  /** The first slot with this hash that `matches` accepts, or -1. */
  find(hash: number, matches: (slot: number) => boolean): number {
    const mask = this.buckets.length - 1;
    for (let b = hash & mask; ; b = (b + 1) & mask) {
      const entry = this.buckets[b]!;
      if (entry === 0) return -1;
      if (this.hashOf(entry - 1) === hash && matches(entry - 1)) return entry - 1;
    }
  }

  insert(slot: number): void {
    if ((this.count + 1) * 2 > this.buckets.length) this.grow();
    this.count++;
    this.place(slot);
  }

  /** Puts slot `to` (with the same hash) where `from` is. */
  replace(from: number, to: number): void {
    this.buckets[this.bucketOf(from)] = to + 1;
  }

  remove(slot: number): void {
    const mask = this.buckets.length - 1;
    let hole = this.bucketOf(slot);
    this.count--;
    // Later entries of the run move up into the hole when their home bucket allows it.
    for (let b = (hole + 1) & mask; this.buckets[b] !== 0; b = (b + 1) & mask) {
      const home = this.hashOf(this.buckets[b]! - 1) & mask;
      const movable = hole <= b ? home <= hole || home > b : home <= hole && home > b;
      if (movable) {
        this.buckets[hole] = this.buckets[b]!;
        hole = b;
      }
    }
    this.buckets[hole] = 0;
  }

  /** Empties the table. */
  clear(): void {
    this.buckets = new Int32Array(MIN_BUCKETS);
    this.count = 0;
  }

  private place(slot: number): void {
    const mask = this.buckets.length - 1;
    let b = this.hashOf(slot) & mask;
    while (this.buckets[b] !== 0) b = (b + 1) & mask;
    this.buckets[b] = slot + 1;
  }

  private bucketOf(slot: number): number {
    const mask = this.buckets.length - 1;
    for (let b = this.hashOf(slot) & mask; ; b = (b + 1) & mask) {
      const entry = this.buckets[b]!;
      if (entry === slot + 1) return b;
      if (entry === 0) throw new Error(`slot ${slot} is not in the table`);
    }
  }

  private grow(): void {
    const old = this.buckets;
    this.buckets = new Int32Array(old.length * 2);
    for (const entry of old) if (entry !== 0) this.place(entry - 1);
  }
}

/** FNV-1a over bytes [start, end), finalized so that the low bits (which the table takes) mix well. */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  // Murmur3's finalizer.
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
