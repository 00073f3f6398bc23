// Keeps the file index true to the roots: full scans (at start, on request, every --rescan) and
// refreshes of the paths a watch saw change. Settled regular files only, each hashed once.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { AgentStats } from '../common/protocol.js';
import { turnTaker } from '../lib/pause.js';
import { forEachLimit } from '../lib/pool.js';
import type { FileIdentity, FileIndex } from './file-index.js';
import type { PathFilter } from './filters.js';
import { type Candidate, type WalkOptions, walkFolders } from './folder-walk.js';
import { hashSettledFile, identifySync, lookAt } from './hash-file.js';
import { HashQueue } from './hash-queue.js';
import { PENDING_REPORT_MS, PendingFiles } from './pending-files.js';
import type { Root } from './roots.js';
import { type Retry, type RootPath, type ScanProgress, ScanSnapshot } from './scan-snapshot.js';
import { isIgnoredName } from './settle.js';

export { PENDING_REASONS, PENDING_REPORT_MS } from './pending-files.js';
export { type Retry, type RootPath, type ScanProgress, ScanSnapshot, listEntries } from './scan-snapshot.js';

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

/**
 * One scan or refresh runs at a time, in order; a scan asked for while one is queued joins it.
 * Between runs the index is committed, so a reader never sees half a run.
 */
export class Scanner {
  private queue: Promise<unknown> = Promise.resolve();
  private nextScan: Promise<ScanSnapshot> | undefined;
  private snapshot: ScanSnapshot | null = null;
  private live: ScanProgress | null = null;
  private readonly pending: PendingFiles;
  private readonly walkOptions: WalkOptions;
  private readonly counters = { scans: 0, filesHashed: 0, bytesHashed: 0, cacheHits: 0 };

  constructor(private readonly options: ScannerOptions) {
    this.pending = new PendingFiles(options.index, options.clock, options.settleMs, options.pendingReportMs);
    this.walkOptions = { filter: options.filter, logger: options.logger, onFolder: options.onFolder };
  }

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
      pendingFiles: this.pending.size,
      longPending: this.pending.longPending(),
      generation: index.generation,
      epoch: index.epoch,
      lastScanAt: this.snapshot ? new Date(this.snapshot.finishedAtMs).toISOString() : null,
    };
  }

  /** How many files are pending for each reason, by its short name. */
  pendingByReason(): Record<string, number> {
    return this.pending.byReason();
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
    this.pending.beginScan();
    index.beginSweep();
    let completed = false;
    try {
      // Each batch of a folder is checked (identity and cache, cheap) as the walk lists it, so no
      // list of every file is built; the bytes left to hash are still known before hashing starts.
      // A batch is at most a few hundred lstats of entries just listed: done in one go, not queued.
      const toHash = new HashQueue();
      let cacheHits = 0;
      for (const root of roots) {
        for await (const batch of walkFolders(root, '', this.walkOptions)) {
          live.phase = 'checking';
          live.filesSeen += batch.length;
          for (const candidate of batch) {
            const identity = identifySync(candidate.abs);
            if (!identity) continue;
            const verdict = this.pending.classify(candidate.path, identity);
            if (verdict === 'listed') {
              index.mark(candidate.path);
              cacheHits++;
            } else if (verdict === 'pending') {
              const retry = this.retryOf(candidate, identity);
              if (retry) this.options.onUnsettled?.(retry);
            } else if (verdict === 'hash') {
              toHash.push(candidate, identity);
              live.filesToHash++;
              live.bytesToHash += identity.size;
            }
          }
          live.phase = 'walking';
        }
      }
      live.phase = 'hashing';
      let hashed = 0;
      const turn = turnTaker();
      await forEachLimit(
        toHash.take(),
        this.options.hashConcurrency ?? 4,
        async ({ candidate, identity }) => {
          if (await this.hash(candidate, identity, (bytes) => (live.bytesHashed += bytes))) {
            index.mark(candidate.path);
            hashed++;
          }
          live.filesHashed++;
          // Small files are hashed with synchronous calls: requests still get their turns.
          await turn();
        },
      );
      index.retainMarked();
      index.commit();
      await index.save().catch((err: unknown) => logger.warn({ err }, 'could not save the file index'));
      completed = true;
      this.pending.endScan(true);
      this.counters.scans++;
      this.counters.filesHashed += hashed;
      this.counters.cacheHits += cacheHits;
      return this.finishScan(started, hashed, cacheHits);
    } finally {
      if (!completed) this.pending.endScan(false);
      this.live = null;
    }
  }

  private finishScan(started: number, hashed: number, cacheHits: number): ScanSnapshot {
    const { index, clock, logger } = this.options;
    const pending = this.pending.size;
    const longPending = this.pending.longPending();
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
  }

  private async runRefresh(paths: readonly RootPath[]): Promise<Retry[]> {
    const { index, filter } = this.options;
    const retries: Retry[] = [];
    const wanted = paths.filter(({ rel }) => !rel.split('/').some(isIgnoredName));
    // What each path is now: a batch is often hundreds of files a generator (or a copy) just wrote,
    // each one lstat of a name the kernel has cached, made directly (see identifySync).
    const turn = turnTaker();
    const seen = new Array<ReturnType<typeof lookAt>>(wanted.length);
    for (const [i, { root, rel }] of wanted.entries()) {
      seen[i] = lookAt(rel ? join(root.dir, rel) : root.dir);
      await turn();
    }
    const files: { candidate: Candidate; identity: FileIdentity }[] = [];
    for (const [i, { root, rel }] of wanted.entries()) {
      const path = rel ? `${root.name}/${rel}` : root.name;
      const now = seen[i]!;
      if (now.kind === 'gone') {
        index.delete(path);
        index.deleteUnder(path);
        this.pending.forget(path);
      } else if (now.kind === 'folder') {
        // A folder swapped for another (renamed over, restored from elsewhere) may lack files the
        // index still lists: what the walk did not find is gone. Sweeps run one at a time, before
        // any file of the batch is looked at, so no new entry lands between a sweep's marks.
        index.beginSweep();
        for await (const batch of walkFolders(root, rel, this.walkOptions)) {
          for (const candidate of batch) {
            await this.look(candidate, retries);
            index.mark(candidate.path);
          }
        }
        index.retainMarkedUnder(path);
      } else if (rel && filter(rel)) {
        const name = rel.slice(rel.lastIndexOf('/') + 1);
        const abs = join(root.dir, rel);
        if (!isIgnoredName(name))
          files.push({ candidate: { root, path, abs, name }, identity: now.identity });
      }
    }
    // Files are independent of each other: hashed a few at once, as a scan does.
    await forEachLimit(files, this.options.hashConcurrency ?? 4, async ({ candidate, identity }) => {
      await this.look(candidate, retries, identity);
      await turn();
    });
    index.commit();
    return retries;
  }

  /**
   * A refresh's look at one file: listed as it is, hashed, or left pending (with when to look again).
   * `known` is its identity when it was looked up a moment ago.
   */
  private async look(candidate: Candidate, retries: Retry[], known?: FileIdentity): Promise<void> {
    const identity = known ?? identifySync(candidate.abs);
    if (!identity) return;
    const verdict = this.pending.classify(candidate.path, identity);
    if (verdict === 'hash') await this.hash(candidate, identity, () => undefined);
    const retry = verdict === 'pending' ? this.retryOf(candidate, identity) : undefined;
    if (retry) retries.push(retry);
  }

  private retryOf(candidate: Candidate, identity: FileIdentity): Retry | undefined {
    const atMs = this.pending.settlesAt(candidate.path, identity);
    if (atMs === undefined) return undefined;
    const { root } = candidate;
    return { root, rel: candidate.path.slice(root.name.length + 1), atMs };
  }

  /** Hashes a settled file into the index; false (and pending) when it is unfinished or changes. */
  private async hash(
    candidate: Candidate,
    identity: FileIdentity,
    onBytes: (bytes: number) => void,
  ): Promise<boolean> {
    const { index, logger } = this.options;
    const outcome = await hashSettledFile(candidate.abs, candidate.name, identity, logger, onBytes);
    if (typeof outcome === 'object') {
      index.set(candidate.path, identity, outcome.xxh64);
      this.counters.bytesHashed += identity.size;
      this.pending.hashed(candidate.path);
      return true;
    }
    this.pending.notHashed(candidate.path, identity, outcome);
    return false;
  }
}
