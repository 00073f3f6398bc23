// Walks the roots and builds the manifest: settled regular files, hashed once and then cached.
import { constants } from 'node:fs';
import { lstat, open, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { ManifestEntry } from '../common/manifest.js';
import type { AgentStats } from '../common/protocol.js';
import { hashHandle } from '../lib/file-chunks.js';
import { forEachLimit } from '../lib/pool.js';
import { isStructurallyComplete } from './completeness.js';
import type { PathFilter } from './filters.js';
import type { FileIdentity, HashCache } from './hash-cache.js';
import type { Root } from './roots.js';
import { type FirstSeen, isIgnoredName, sameObservation, settleVerdict } from './settle.js';

export interface ScanSnapshot {
  generation: number;
  /** Sorted by path. */
  entries: ManifestEntry[];
  /** Files that will be offered once they settle: growing, too new, or structurally unfinished. */
  pending: number;
  /** Files hashed by this scan, and files whose cached hash was reused. */
  hashed: number;
  cacheHits: number;
  finishedAtMs: number;
}

export interface ScannerOptions {
  roots: readonly Root[];
  filter: PathFilter;
  settleMs: number;
  cache: HashCache;
  clock: Clock;
  logger: Logger;
  /** Files hashed at once; reads overlap while one is hashed. */
  hashConcurrency?: number;
}

interface Candidate {
  path: string;
  abs: string;
  name: string;
}

type Outcome =
  { kind: 'entry'; entry: ManifestEntry; hashed: boolean } | { kind: 'pending' } | { kind: 'skip' };

/**
 * Owns the agent's view of its roots. One scan runs at a time: a call while a scan runs joins it.
 * The latest snapshot is kept for the archive writer and for `info`.
 */
export class Scanner {
  private running: Promise<ScanSnapshot> | undefined;
  private snapshot: ScanSnapshot | null = null;
  private firstSeen = new Map<string, FirstSeen>();
  private readonly counters = { scans: 0, filesHashed: 0, bytesHashed: 0, cacheHits: 0 };

  constructor(private readonly options: ScannerOptions) {}

  get latest(): ScanSnapshot | null {
    return this.snapshot;
  }

  get stats(): AgentStats {
    return {
      ...this.counters,
      manifestFiles: this.snapshot?.entries.length ?? 0,
      pendingFiles: this.snapshot?.pending ?? 0,
      generation: this.snapshot?.generation ?? 0,
      lastScanAt: this.snapshot ? new Date(this.snapshot.finishedAtMs).toISOString() : null,
    };
  }

  scan(): Promise<ScanSnapshot> {
    this.running ??= this.runScan().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runScan(): Promise<ScanSnapshot> {
    const { roots, cache, clock, logger } = this.options;
    const started = clock.now();
    const candidates: Candidate[] = [];
    for (const root of roots) await this.walk(root, candidates);

    const entries: ManifestEntry[] = [];
    const nextFirstSeen = new Map<string, FirstSeen>();
    let pending = 0;
    let hashed = 0;
    let cacheHits = 0;
    await forEachLimit(candidates, this.options.hashConcurrency ?? 4, async (candidate) => {
      const outcome = await this.examine(candidate, nextFirstSeen);
      if (outcome.kind === 'pending') pending++;
      if (outcome.kind !== 'entry') return;
      entries.push(outcome.entry);
      if (outcome.hashed) {
        hashed++;
        this.counters.bytesHashed += outcome.entry.size;
      } else {
        cacheHits++;
      }
    });
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    this.firstSeen = nextFirstSeen;
    cache.retainOnly(new Set(entries.map((entry) => entry.path)));
    await cache.save().catch((err: unknown) => logger.warn({ err }, 'could not save the hash cache'));

    this.counters.scans++;
    this.counters.filesHashed += hashed;
    this.counters.cacheHits += cacheHits;
    const previous = this.snapshot;
    const changed = !previous || !sameEntries(previous.entries, entries);
    const generation = (previous?.generation ?? 0) + (changed ? 1 : 0);
    this.snapshot = { generation, entries, pending, hashed, cacheHits, finishedAtMs: clock.now() };
    logger.info(
      { files: entries.length, pending, hashed, cacheHits, generation, ms: clock.now() - started },
      'scan done',
    );
    return this.snapshot;
  }

  /** Collects candidate files without following symlinks; hidden folders and names are skipped. */
  private async walk(root: Root, out: Candidate[]): Promise<void> {
    const stack: { abs: string; rel: string }[] = [{ abs: root.dir, rel: '' }];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      let handle;
      try {
        handle = await opendir(dir.abs);
      } catch (err) {
        this.options.logger.warn({ err, dir: dir.abs }, 'cannot read folder; skipping it this scan');
        continue;
      }
      for await (const dirent of handle) {
        if (isIgnoredName(dirent.name)) continue;
        const rel = dir.rel ? `${dir.rel}/${dirent.name}` : dirent.name;
        const abs = join(dir.abs, dirent.name);
        if (dirent.isDirectory()) stack.push({ abs, rel });
        else if (dirent.isFile() && this.options.filter(rel))
          out.push({ path: `${root.name}/${rel}`, abs, name: dirent.name });
      }
    }
  }

  private async examine(candidate: Candidate, nextFirstSeen: Map<string, FirstSeen>): Promise<Outcome> {
    const { cache, clock, settleMs } = this.options;
    const identity = await identify(candidate.abs);
    if (!identity) return { kind: 'skip' };
    const entryOf = (xxh64: string): ManifestEntry => ({
      path: candidate.path,
      size: identity.size,
      mtimeMs: identity.mtimeMs,
      xxh64,
      ino: identity.ino,
    });
    const cached = cache.get(candidate.path, identity);
    if (cached) return { kind: 'entry', entry: entryOf(cached), hashed: false };

    const now = clock.now();
    const verdict = settleVerdict(identity, now, settleMs, this.firstSeen.get(candidate.path));
    if (verdict === 'empty') return { kind: 'skip' };
    if (verdict === 'unsettled') {
      const seen = this.firstSeen.get(candidate.path);
      const keep = seen && sameObservation(seen, identity) ? seen : { ...identity, seenAtMs: now };
      nextFirstSeen.set(candidate.path, keep);
      return { kind: 'pending' };
    }

    let handle;
    try {
      handle = await open(candidate.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return { kind: 'skip' };
    }
    try {
      const before = await handle.stat();
      if (
        !before.isFile() ||
        !sameObservation(identity, { size: before.size, mtimeMs: before.mtimeMs, ino: before.ino })
      ) {
        return { kind: 'pending' };
      }
      if (!(await isStructurallyComplete(handle, candidate.name, identity.size))) return { kind: 'pending' };
      const { xxh64, bytes } = await hashHandle(handle, identity.size);
      const after = await handle.stat();
      const onDisk = await identify(candidate.abs);
      const untouched =
        bytes === identity.size &&
        sameObservation(identity, { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino }) &&
        onDisk !== null &&
        sameObservation(identity, onDisk);
      if (!untouched) return { kind: 'pending' };
      cache.set(candidate.path, identity, xxh64);
      return { kind: 'entry', entry: entryOf(xxh64), hashed: true };
    } finally {
      await handle.close();
    }
  }
}

/** Size, mtime and inode of a regular file, without following a symlink; null for anything else. */
export async function identify(abs: string): Promise<FileIdentity | null> {
  try {
    const stats = await lstat(abs);
    return stats.isFile() ? { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino } : null;
  } catch {
    return null;
  }
}

function sameEntries(a: readonly ManifestEntry[], b: readonly ManifestEntry[]): boolean {
  if (a.length !== b.length) return false;
  return a.every(
    (entry, i) => entry.path === b[i]!.path && entry.xxh64 === b[i]!.xxh64 && entry.mtimeMs === b[i]!.mtimeMs,
  );
}
