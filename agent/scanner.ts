// Keeps the file index true to the roots: full scans (at start, on request, every --rescan) and
// refreshes of the paths a watch saw change. Settled regular files only, each hashed once.
import { opendir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { ManifestEntry } from '../common/manifest.js';
import type { AgentStats, LongPendingFile } from '../common/protocol.js';
import { forEachLimit } from '../lib/pool.js';
import type { FileIdentity, FileIndex } from './file-index.js';
import { hashSettledFile, identify, lookAt } from './hash-file.js';
import type { PathFilter } from './filters.js';
import type { Root } from './roots.js';
import { type FirstSeen, isIgnoredName, sameObservation, settleVerdict } from './settle.js';

export interface ScannerOptions {
  roots: readonly Root[];
  filter: PathFilter;
  settleMs: number;
  index: FileIndex;
  clock: Clock;
  logger: Logger;
  /** Files hashed at once; reads overlap while one is hashed. */
  hashConcurrency?: number;
  /** Called for every folder a walk enters, before it is listed (the watcher watches it). */
  onFolder?: (root: Root, rel: string) => void;
  /** Called for a file a scan left unsettled, with when it could settle (the watcher looks again then). */
  onUnsettled?: (retry: Retry) => void;
  /** A file pending longer than this is reported, with its reason, after every scan (default 1 h). */
  pendingReportMs?: number;
}

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

/** A path under a root, as the watcher reports it: `rel` is '' for the root itself. */
export interface RootPath {
  root: Root;
  rel: string;
}

interface Candidate {
  root: Root;
  path: string;
  abs: string;
  name: string;
}

/** What a running scan has done so far, for progress relayed to the controller. */
export interface ScanProgress {
  phase: 'walking' | 'checking' | 'hashing';
  filesSeen: number;
  filesToHash: number;
  filesHashed: number;
  bytesToHash: number;
  bytesHashed: number;
  startedAtMs: number;
}

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

/** When a path left pending should be looked at again: once it would settle. */
export interface Retry extends RootPath {
  atMs: number;
}

/**
 * One scan or refresh runs at a time, in order; a scan asked for while one is queued joins it.
 * Between runs the index is committed, so a reader never sees half a run.
 */
export class Scanner {
  private queue: Promise<unknown> = Promise.resolve();
  private nextScan: Promise<ScanSnapshot> | undefined;
  private snapshot: ScanSnapshot | null = null;
  private live: ScanProgress | null = null;
  /** Unsettled files: when their current size and mtime were first seen. */
  private firstSeen = new Map<string, FirstSeen>();
  /** Settled files their format says are unfinished, by identity, so they are not re-read each pass. */
  private incomplete = new Map<string, FileIdentity>();
  /** Files left pending by the latest runs, with why. */
  private readonly pendingPaths = new Map<string, string>();
  /** When each pending file was first left pending; kept across scans, so long waits show. */
  private readonly pendingSince = new Map<string, number>();
  private readonly counters = { scans: 0, filesHashed: 0, bytesHashed: 0, cacheHits: 0 };

  constructor(private readonly options: ScannerOptions) {}

  get index(): FileIndex {
    return this.options.index;
  }

  get latest(): ScanSnapshot | null {
    return this.snapshot;
  }

  /** The running scan's counters, or null when no scan runs. */
  get progress(): ScanProgress | null {
    return this.live;
  }

  get stats(): AgentStats {
    const { index } = this.options;
    return {
      ...this.counters,
      manifestFiles: index.size,
      pendingFiles: this.pendingPaths.size,
      longPending: this.longPending(),
      generation: index.generation,
      epoch: index.epoch,
      lastScanAt: this.snapshot ? new Date(this.snapshot.finishedAtMs).toISOString() : null,
    };
  }

  /** Waits for every queued scan and refresh; what they changed is committed after it. */
  settled(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  scan(): Promise<ScanSnapshot> {
    this.nextScan ??= this.enqueue(() => {
      this.nextScan = undefined;
      return this.runScan();
    });
    return this.nextScan;
  }

  /** Looks again at paths that changed; returns the ones to look at once they could have settled. */
  refresh(paths: readonly RootPath[]): Promise<Retry[]> {
    return this.enqueue(() => this.runRefresh(paths));
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runScan(): Promise<ScanSnapshot> {
    const { roots, index, clock, logger } = this.options;
    const started = clock.now();
    const live: ScanProgress = {
      phase: 'walking',
      filesSeen: 0,
      filesToHash: 0,
      filesHashed: 0,
      bytesToHash: 0,
      bytesHashed: 0,
      startedAtMs: started,
    };
    this.live = live;
    try {
      const candidates: Candidate[] = [];
      for (const root of roots) await this.walk(root, '', candidates);
      live.filesSeen = candidates.length;
      const firstSeen = this.firstSeen;
      const incomplete = this.incomplete;
      this.firstSeen = new Map();
      this.incomplete = new Map();
      this.pendingPaths.clear();
      const keep = new Set<string>();
      const toHash: { candidate: Candidate; identity: FileIdentity }[] = [];
      let cacheHits = 0;
      live.phase = 'checking';
      // First every file's identity and the cache (cheap), so the bytes left to hash are known up front.
      await forEachLimit(candidates, 8, async (candidate) => {
        const identity = await identify(candidate.abs);
        if (!identity) return;
        const verdict = this.classify(candidate, identity, firstSeen, incomplete);
        if (verdict === 'listed') {
          keep.add(candidate.path);
          cacheHits++;
        } else if (verdict === 'pending') {
          const retry = this.retryOf(candidate, identity);
          if (retry) this.options.onUnsettled?.(retry);
        } else if (verdict === 'hash') {
          toHash.push({ candidate, identity });
          live.filesToHash++;
          live.bytesToHash += identity.size;
        }
      });
      live.phase = 'hashing';
      let hashed = 0;
      await forEachLimit(toHash, this.options.hashConcurrency ?? 4, async ({ candidate, identity }) => {
        if (await this.hash(candidate, identity, (bytes) => (live.bytesHashed += bytes))) {
          keep.add(candidate.path);
          hashed++;
        }
        live.filesHashed++;
      });
      index.retainOnly(keep);
      index.commit();
      await index.save().catch((err: unknown) => logger.warn({ err }, 'could not save the file index'));
      this.counters.scans++;
      this.counters.filesHashed += hashed;
      this.counters.cacheHits += cacheHits;
      for (const path of [...this.pendingSince.keys()]) {
        if (!this.pendingPaths.has(path)) this.pendingSince.delete(path);
      }
      const pending = this.pendingPaths.size;
      const longPending = this.longPending();
      if (longPending.length > 0) {
        // Every pass, so a file that never settles is never silent.
        logger.warn(
          { longPending, limitMs: this.options.pendingReportMs ?? PENDING_REPORT_MS },
          'files pending for longer than the limit',
        );
      }
      this.snapshot = new ScanSnapshot(index, index.generation, pending, hashed, cacheHits, clock.now());
      logger.info(
        {
          files: index.size,
          pending,
          hashed,
          cacheHits,
          generation: index.generation,
          ms: clock.now() - started,
        },
        'scan done',
      );
      return this.snapshot;
    } finally {
      this.live = null;
    }
  }

  private async runRefresh(paths: readonly RootPath[]): Promise<Retry[]> {
    const { index, filter } = this.options;
    const retries: Retry[] = [];
    for (const { root, rel } of paths) {
      if (rel.split('/').some(isIgnoredName)) continue;
      const path = rel ? `${root.name}/${rel}` : root.name;
      const abs = rel ? join(root.dir, rel) : root.dir;
      const seen = await lookAt(abs);
      if (seen.kind === 'gone') {
        index.delete(path);
        index.deleteUnder(path);
        this.forget(path);
        continue;
      }
      const candidates: Candidate[] = [];
      if (seen.kind === 'folder') {
        await this.walk(root, rel, candidates);
        // A folder swapped for another (renamed over, restored from elsewhere) may lack files the
        // index still lists: what the walk did not find is gone.
        index.retainUnder(path, new Set(candidates.map((candidate) => candidate.path)));
      } else if (rel && !isIgnoredName(basename(rel)) && filter(rel)) {
        candidates.push({ root, path, abs, name: basename(rel) });
      }
      for (const candidate of candidates) {
        const identity = await identify(candidate.abs);
        if (!identity) continue;
        const verdict = this.classify(candidate, identity, this.firstSeen, this.incomplete);
        if (verdict === 'hash') await this.hash(candidate, identity, () => undefined);
        const retry = verdict === 'pending' ? this.retryOf(candidate, identity) : undefined;
        if (retry) retries.push(retry);
      }
    }
    index.commit();
    return retries;
  }

  /** When an unsettled file could have settled: once its mtime, or its first sighting in this state, is settleMs old. */
  private retryOf(candidate: Candidate, identity: FileIdentity): Retry | undefined {
    const seenAt = this.firstSeen.get(candidate.path);
    if (!seenAt) return undefined; // unfinished by its format: it is looked at again when it changes
    const atMs = Math.min(identity.mtimeMs, seenAt.seenAtMs) + this.options.settleMs;
    const { root } = candidate;
    return { root, rel: candidate.path.slice(root.name.length + 1), atMs };
  }

  /** Drops what is remembered about a path (and, for a folder, everything below it). */
  private forget(path: string): void {
    const prefix = `${path}/`;
    for (const map of [this.firstSeen, this.incomplete]) {
      for (const key of [...map.keys()]) if (key === path || key.startsWith(prefix)) map.delete(key);
    }
    for (const map of [this.pendingPaths, this.pendingSince]) {
      for (const key of [...map.keys()]) if (key === path || key.startsWith(prefix)) map.delete(key);
    }
  }

  private markPending(path: string, reason: string): void {
    this.pendingPaths.set(path, reason);
    if (!this.pendingSince.has(path)) this.pendingSince.set(path, this.options.clock.now());
  }

  /** How many files are pending for each reason, by its short name. */
  pendingByReason(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const reason of this.pendingPaths.values()) {
      const key = PENDING_REASON_KEYS.get(reason) ?? 'other';
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Files pending longer than pendingReportMs, oldest first, with their reasons. */
  private longPending(): LongPendingFile[] {
    const limit = this.options.pendingReportMs ?? PENDING_REPORT_MS;
    const now = this.options.clock.now();
    const long: LongPendingFile[] = [];
    for (const [path, reason] of this.pendingPaths) {
      const since = this.pendingSince.get(path);
      if (since !== undefined && now - since >= limit) long.push({ path, reason, pendingForMs: now - since });
    }
    return long.sort((a, b) => b.pendingForMs - a.pendingForMs).slice(0, MAX_LONG_PENDING_LISTED);
  }

  /**
   * Decides from metadata alone: listed already with this identity, left pending (not settled, or
   * known unfinished at this identity), to be hashed, or nothing to offer (empty). Unlisted
   * outcomes take the file out of the index.
   */
  private classify(
    candidate: Candidate,
    identity: FileIdentity,
    firstSeen: ReadonlyMap<string, FirstSeen>,
    incomplete: ReadonlyMap<string, FileIdentity>,
  ): 'listed' | 'pending' | 'hash' | 'skip' {
    const { index, clock, settleMs } = this.options;
    const { path } = candidate;
    this.pendingPaths.delete(path);
    if (index.get(path, identity)) {
      this.pendingSince.delete(path);
      return 'listed';
    }
    index.delete(path);
    const known = incomplete.get(path);
    if (known && sameObservation(known, identity)) {
      this.incomplete.set(path, known);
      this.markPending(path, PENDING_REASONS.incomplete);
      return 'pending';
    }
    const now = clock.now();
    const seen = firstSeen.get(path);
    const verdict = settleVerdict(identity, now, settleMs, seen);
    if (verdict === 'empty') {
      this.pendingSince.delete(path);
      return 'skip';
    }
    if (verdict === 'unsettled') {
      this.firstSeen.set(
        path,
        seen && sameObservation(seen, identity) ? seen : { ...identity, seenAtMs: now },
      );
      this.markPending(path, PENDING_REASONS.unsettled);
      return 'pending';
    }
    this.firstSeen.delete(path);
    return 'hash';
  }

  /** Hashes a settled file into the index; false (and pending) when it is unfinished or changes. */
  private async hash(
    candidate: Candidate,
    identity: FileIdentity,
    onBytes: (bytes: number) => void,
  ): Promise<boolean> {
    const outcome = await hashSettledFile(
      candidate.abs,
      candidate.name,
      identity,
      this.options.logger,
      onBytes,
    );
    if (typeof outcome === 'object') {
      this.options.index.set(candidate.path, identity, outcome.xxh64);
      this.counters.bytesHashed += identity.size;
      this.incomplete.delete(candidate.path);
      this.pendingSince.delete(candidate.path);
      return true;
    }
    if (outcome === 'incomplete') this.incomplete.set(candidate.path, identity);
    this.markPending(
      candidate.path,
      outcome === 'incomplete' ? PENDING_REASONS.incomplete : PENDING_REASONS.unstable,
    );
    return false;
  }

  /** Collects candidate files below `rel` without following symlinks; hidden folders and names are skipped. */
  private async walk(root: Root, rel: string, out: Candidate[]): Promise<void> {
    const stack: { abs: string; rel: string }[] = [{ abs: rel ? join(root.dir, rel) : root.dir, rel }];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      this.options.onFolder?.(root, dir.rel);
      let handle;
      try {
        handle = await opendir(dir.abs);
      } catch (err) {
        this.options.logger.warn({ err, dir: dir.abs }, 'cannot read folder; skipping it this scan');
        continue;
      }
      try {
        for await (const dirent of handle) {
          if (isIgnoredName(dirent.name)) continue;
          const childRel = dir.rel ? `${dir.rel}/${dirent.name}` : dirent.name;
          const abs = join(dir.abs, dirent.name);
          if (dirent.isDirectory()) stack.push({ abs, rel: childRel });
          else if (dirent.isFile() && this.options.filter(childRel))
            out.push({ root, path: `${root.name}/${childRel}`, abs, name: dirent.name });
        }
      } catch (err) {
        // A folder that vanishes or fails while it is read: what was listed stays, the rest waits a scan.
        this.options.logger.warn(
          { err, dir: dir.abs },
          'cannot finish reading folder; skipping the rest this scan',
        );
      }
    }
  }
}
