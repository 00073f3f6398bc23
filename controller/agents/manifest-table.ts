// A manifest's files in columns: no object per file while a pass holds the whole list. 200,000
// entries as objects (path and hash strings, a boxed mtime) were 45 MiB of live heap through a
// whole cold sync, and the collector let the heap grow to four times that between collections.
import type { ManifestEntry, ManifestRows } from '../../common/manifest.js';
import { Hex64Column, float64Column } from '../../lib/paged-column.js';
import { PathTable } from '../../lib/path-table.js';

/**
 * Paths as UTF-8 in pages (found again by path, so a path listed twice is kept once), sizes,
 * mtimes and inodes as doubles, the hash as two 32-bit halves: about 60 bytes a file plus its
 * path's bytes. Rows are numbered in the order files were added; an entry object is made only
 * when a row is read.
 */
export class ManifestTable implements ManifestRows {
  private readonly paths = new PathTable();
  private readonly sizes = float64Column();
  private readonly mtimes = float64Column();
  /** NaN when the agent sent no inode. */
  private readonly inos = float64Column();
  private readonly hashes = new Hex64Column();
  private rows = 0;

  get length(): number {
    return this.rows;
  }

  /**
   * Adds a checked entry (`xxh64` 16 lowercase hex digits); false, and nothing added, when its
   * path is in the table already: the first listing of a path stands.
   */
  add(entry: ManifestEntry): boolean {
    const row = this.rows;
    if (!this.paths.addIfAbsent(row, entry.path)) return false;
    this.rows++;
    for (const column of [this.sizes, this.mtimes, this.inos, this.hashes]) {
      column.ensure(row);
    }
    this.sizes.set(row, entry.size);
    this.mtimes.set(row, entry.mtimeMs);
    this.inos.set(row, entry.ino ?? NaN);
    this.hashes.set(row, entry.xxh64);
    return true;
  }

  path(row: number): string {
    return this.paths.path(row);
  }

  size(row: number): number {
    return this.sizes.get(row);
  }

  xxh64(row: number): string {
    return this.hashes.get(row);
  }

  /** Row `row` as an entry object, made now. */
  entry(row: number): ManifestEntry {
    const ino = this.inos.get(row);
    return {
      path: this.path(row),
      size: this.size(row),
      mtimeMs: this.mtimes.get(row),
      xxh64: this.xxh64(row),
      ...(Number.isNaN(ino) ? {} : { ino }),
    };
  }

  /** Every row's entry, in order, each made as it is reached. */
  *entries(): IterableIterator<ManifestEntry> {
    for (let row = 0; row < this.rows; row++) yield this.entry(row);
  }

  /** Every row's path, in order. */
  allPaths(): string[] {
    const out: string[] = [];
    for (let row = 0; row < this.rows; row++) out.push(this.path(row));
    return out;
  }
}
