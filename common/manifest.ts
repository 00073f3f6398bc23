// Manifest entries and the pure diff that decides what the controller pulls.

/** One settled, hashed regular file an agent offers. `path` is `<root name>/<relative path>`. */
export interface ManifestEntry {
  path: string;
  size: number;
  mtimeMs: number;
  /** xxh64 of the whole content, 16 lowercase hex digits. */
  xxh64: string;
  /** The file's inode in the container, so a purge can tell a replaced file from the one it confirmed. */
  ino?: number;
}

/** What the catalog already holds for one agent: container path to the hashes stored for it. */
export type StoredIndex = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * A manifest's files by row number, each path on one row: the controller's ManifestTable, which
 * keeps the first listing of a path listed twice.
 */
export interface ManifestRows {
  readonly length: number;
  path(row: number): string;
  xxh64(row: number): string;
}

export interface ManifestDiff {
  /** Rows whose (path, hash) is not stored yet, in row order. */
  toPull: number[];
  /** Rows already stored with the same content. */
  unchanged: number;
}

/** Same path and same hash means stored; any other row is pulled. */
export function diffManifest(rows: ManifestRows, stored: StoredIndex): ManifestDiff {
  const toPull: number[] = [];
  let unchanged = 0;
  for (let row = 0; row < rows.length; row++) {
    // An empty index (a first sync) needs no path read back.
    if (stored.size > 0 && stored.get(rows.path(row))?.has(rows.xxh64(row))) unchanged++;
    else toPull.push(row);
  }
  return { toPull, unchanged };
}

export interface BatchLimits {
  maxBytes: number;
  maxFiles: number;
}

/**
 * Groups items (manifest entries, or rows of a manifest table) into archive requests of at most
 * `maxFiles` files and about `maxBytes` bytes, `sizeOf` giving an item's size. A file larger than
 * `maxBytes` travels alone. Order is kept.
 */
export function planBatches<T>(items: readonly T[], limits: BatchLimits, sizeOf: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    const full = current.length >= limits.maxFiles || (current.length > 0 && bytes + size > limits.maxBytes);
    if (full) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

const HEX64 = /^[0-9a-f]{16}$/;

export function isXxh64(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}
