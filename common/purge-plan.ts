// The pure half of a purge: which files in a fresh manifest are stored, old enough, and within the caps.
import type { ManifestEntry } from './manifest.js';
import type { KeepReason } from './run-results.js';

/** A stored copy of one version of a container file, as the catalog knows it. */
export interface StoredCopy {
  storedPath: string;
  size: number;
}

/** For one agent: container path → content hash → its stored copy. */
export type StoredCopies = ReadonlyMap<string, ReadonlyMap<string, StoredCopy>>;

export interface PurgeCandidate {
  entry: ManifestEntry & { ino: number };
  copy: StoredCopy;
}

export interface PurgePlan {
  /** Oldest first. */
  candidates: PurgeCandidate[];
  kept: Partial<Record<KeepReason, number>>;
}

export interface PurgeLimits {
  nowMs: number;
  olderThanMs: number;
}

export function countKept(kept: Partial<Record<KeepReason, number>>, reason: KeepReason, n = 1): void {
  kept[reason] = (kept[reason] ?? 0) + n;
}

/**
 * A manifest entry is a candidate when the catalog holds the same path with the same hash and size
 * and its mtime is older than the threshold. Everything else is kept, counted by reason.
 */
export function planPurge(
  entries: Iterable<ManifestEntry>,
  stored: StoredCopies,
  limits: PurgeLimits,
): PurgePlan {
  const candidates: PurgeCandidate[] = [];
  const kept: Partial<Record<KeepReason, number>> = {};
  for (const entry of entries) {
    const copy = stored.get(entry.path)?.get(entry.xxh64);
    if (!copy || copy.size !== entry.size || entry.ino === undefined) countKept(kept, 'not-synced');
    else if (limits.nowMs - entry.mtimeMs < limits.olderThanMs) countKept(kept, 'too-young');
    else candidates.push({ entry: { ...entry, ino: entry.ino }, copy });
  }
  candidates.sort((a, b) => a.entry.mtimeMs - b.entry.mtimeMs || (a.entry.path < b.entry.path ? -1 : 1));
  return { candidates, kept };
}

/**
 * How many files one run may delete: at most `maxFiles`, and at most `maxPercent` of the files the
 * agent has. Either may be absent.
 */
export function purgeCap(totalFiles: number, caps: { maxFiles?: number; maxPercent?: number }): number {
  let cap = Number.POSITIVE_INFINITY;
  if (caps.maxFiles !== undefined) cap = Math.min(cap, caps.maxFiles);
  if (caps.maxPercent !== undefined) cap = Math.min(cap, Math.floor((totalFiles * caps.maxPercent) / 100));
  return cap;
}
