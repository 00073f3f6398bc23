// The rules that keep half-written files out of the manifest.

/** Names that are never offered: writers' temporary files and hidden files. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || /\.(tmp|part|partial|crdownload)$/i.test(name);
}

export interface Observation {
  size: number;
  mtimeMs: number;
}

export interface FirstSeen extends Observation {
  /** When this exact size and mtime were first observed. */
  seenAtMs: number;
}

export type SettleVerdict = 'settled' | 'empty' | 'unsettled';

/**
 * A file is settled when it is not empty and has not changed for `settleMs`: its mtime is at least
 * that old, or (for mtimes in the future, from a skewed clock) the same size and mtime have been
 * observed for that long.
 */
export function settleVerdict(
  current: Observation,
  nowMs: number,
  settleMs: number,
  firstSeen?: FirstSeen,
): SettleVerdict {
  if (current.size === 0) return 'empty';
  if (nowMs - current.mtimeMs >= settleMs) return 'settled';
  const unchanged = firstSeen && firstSeen.size === current.size && firstSeen.mtimeMs === current.mtimeMs;
  if (unchanged && nowMs - firstSeen.seenAtMs >= settleMs) return 'settled';
  return 'unsettled';
}

/** True when two observations of one file show it was not touched in between. */
export function sameObservation(
  a: Observation & { ino?: number },
  b: Observation & { ino?: number },
): boolean {
  return (
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    (a.ino === undefined || b.ino === undefined || a.ino === b.ino)
  );
}
