// Files seen but not offered yet, and why: still settling, unfinished by their format, or unstable
// while hashed; and the verdict, from metadata alone, on each file a scan or refresh looks at.
import type { Clock } from '../common/clock.js';
import type { LongPendingFile } from '../common/protocol.js';
import type { FileIdentity, FileIndex } from './file-index.js';
import { type FirstSeen, sameObservation, settleVerdict } from './settle.js';

/** Default for ScannerOptions.pendingReportMs. */
export const PENDING_REPORT_MS = 3_600_000;
/** At most this many long-pending files are listed in stats and logs; the count is always whole. */
const MAX_LONG_PENDING_LISTED = 50;

/** Why a file is not offered yet. */
export const PENDING_REASONS = {
  unsettled: 'still changing, or younger than the settle window',
  incomplete:
    'its bytes say it is unfinished (PNG without IEND, WebP shorter than its RIFF length, MP4 without moov, GIF without trailer)',
  unstable: 'it changed or could not be read while it was hashed',
} as const;

/** The short name each pending reason is counted under (the manifest's end line, the dashboard). */
const PENDING_REASON_KEYS = new Map<string, string>([
  [PENDING_REASONS.unsettled, 'settling'],
  [PENDING_REASONS.incomplete, 'incomplete'],
  [PENDING_REASONS.unstable, 'unstable'],
]);

export type Verdict = 'listed' | 'pending' | 'hash' | 'skip';

/**
 * Owned by one Scanner and used only from its queued runs. A full scan starts a new round
 * (`beginScan`): what the last one remembered is consulted, and only what this one sees again is kept.
 */
export class PendingFiles {
  /** Unsettled files: when their current size and mtime were first seen. */
  private firstSeen = new Map<string, FirstSeen>();
  /** Settled files their format says are unfinished, by identity, so they are not re-read each pass. */
  private incomplete = new Map<string, FileIdentity>();
  /** The previous round's maps, during a full scan. */
  private previous: { firstSeen: Map<string, FirstSeen>; incomplete: Map<string, FileIdentity> } | null =
    null;
  /** Files left pending by the latest runs, with why. */
  private readonly reasons = new Map<string, string>();
  /** When each pending file was first left pending; kept across scans, so long waits show. */
  private readonly since = new Map<string, number>();

  constructor(
    private readonly index: FileIndex,
    private readonly clock: Clock,
    private readonly settleMs: number,
    private readonly reportMs = PENDING_REPORT_MS,
  ) {}

  get size(): number {
    return this.reasons.size;
  }

  /** A full scan starts: files it does not see again are forgotten at `endScan`. */
  beginScan(): void {
    this.previous = { firstSeen: this.firstSeen, incomplete: this.incomplete };
    this.firstSeen = new Map();
    this.incomplete = new Map();
    this.reasons.clear();
  }

  /** The scan ended; when it went through (`completed`), pending files it did not see are forgotten. */
  endScan(completed: boolean): void {
    this.previous = null;
    if (!completed) return;
    for (const path of [...this.since.keys()]) if (!this.reasons.has(path)) this.since.delete(path);
  }

  /**
   * Decides from metadata alone: listed already with this identity, left pending (not settled, or
   * known unfinished at this identity), to be hashed, or nothing to offer (empty). Unlisted
   * outcomes take the file out of the index.
   */
  classify(path: string, identity: FileIdentity): Verdict {
    const { index } = this;
    const firstSeen = this.previous?.firstSeen ?? this.firstSeen;
    const incomplete = this.previous?.incomplete ?? this.incomplete;
    this.reasons.delete(path);
    if (index.get(path, identity)) {
      this.since.delete(path);
      return 'listed';
    }
    index.delete(path);
    const known = incomplete.get(path);
    if (known && sameObservation(known, identity)) {
      this.incomplete.set(path, known);
      this.mark(path, PENDING_REASONS.incomplete);
      return 'pending';
    }
    const now = this.clock.now();
    const seen = firstSeen.get(path);
    const verdict = settleVerdict(identity, now, this.settleMs, seen);
    if (verdict === 'empty') {
      this.since.delete(path);
      return 'skip';
    }
    if (verdict === 'unsettled') {
      this.firstSeen.set(
        path,
        seen && sameObservation(seen, identity) ? seen : { ...identity, seenAtMs: now },
      );
      this.mark(path, PENDING_REASONS.unsettled);
      return 'pending';
    }
    this.firstSeen.delete(path);
    return 'hash';
  }

  /** When an unsettled file could have settled: once its mtime, or its first sighting, is settleMs old. */
  settlesAt(path: string, identity: FileIdentity): number | undefined {
    const seenAt = this.firstSeen.get(path);
    // Unfinished by its format: it is looked at again when it changes.
    return seenAt ? Math.min(identity.mtimeMs, seenAt.seenAtMs) + this.settleMs : undefined;
  }

  /** The file was hashed and listed. */
  hashed(path: string): void {
    this.incomplete.delete(path);
    this.since.delete(path);
  }

  /** The file could not be listed after all: unfinished by its format, or it changed while read. */
  notHashed(path: string, identity: FileIdentity, outcome: 'incomplete' | 'unstable'): void {
    if (outcome === 'incomplete') this.incomplete.set(path, identity);
    this.mark(path, outcome === 'incomplete' ? PENDING_REASONS.incomplete : PENDING_REASONS.unstable);
  }

  /** Drops what is remembered about a path (and, for a folder, everything below it). */
  forget(path: string): void {
    const prefix = `${path}/`;
    for (const map of [this.firstSeen, this.incomplete, this.reasons, this.since]) {
      for (const key of [...map.keys()]) if (key === path || key.startsWith(prefix)) map.delete(key);
    }
  }

  private mark(path: string, reason: string): void {
    this.reasons.set(path, reason);
    if (!this.since.has(path)) this.since.set(path, this.clock.now());
  }

  /** How many files are pending for each reason, by its short name. */
  byReason(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const reason of this.reasons.values()) {
      const key = PENDING_REASON_KEYS.get(reason) ?? 'other';
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Files pending longer than the report limit, oldest first, with their reasons. */
  longPending(): LongPendingFile[] {
    const now = this.clock.now();
    const long: LongPendingFile[] = [];
    for (const [path, reason] of this.reasons) {
      const since = this.since.get(path);
      if (since !== undefined && now - since >= this.reportMs)
        long.push({ path, reason, pendingForMs: now - since });
    }
    return long.sort((a, b) => b.pendingForMs - a.pendingForMs).slice(0, MAX_LONG_PENDING_LISTED);
  }
}
