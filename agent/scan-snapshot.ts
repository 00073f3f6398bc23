// What scans report: progress while one runs, the outcome of the last, and the paths they look at.
import type { ScanLine } from '../common/protocol.js';
import type { ManifestEntry } from '../common/manifest.js';
import type { FileIndex } from './file-index.js';
import type { Root } from './roots.js';

/** A path under a root, as the watcher reports it: `rel` is '' for the root itself. */
export interface RootPath {
  root: Root;
  rel: string;
}

/** When a path left pending should be looked at again: once it would settle. */
export interface Retry extends RootPath {
  atMs: number;
}

/** What a running scan has done so far, for progress relayed to the controller. */
export type ScanProgress = Omit<ScanLine, 'type'> & { startedAtMs: number };

/** The outcome of one full scan; `entries` lists the index as it is when read (sorted by path). */
export class ScanSnapshot {
  constructor(
    private readonly index: FileIndex,
    readonly generation: number,
    /** Files that will be offered once they settle: growing, too new, or structurally unfinished. */
    readonly pending: number,
    readonly hashed: number,
    readonly cacheHits: number,
    readonly finishedAtMs: number,
  ) {}

  get entries(): ManifestEntry[] {
    return listEntries(this.index);
  }
}

/** The index as manifest entries, sorted by path. */
export function listEntries(index: FileIndex): ManifestEntry[] {
  const entries = [...index.listed()].map(([path, f]) => ({
    path,
    size: f.size,
    mtimeMs: f.mtimeMs,
    xxh64: f.xxh64,
    ino: f.ino,
  }));
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
