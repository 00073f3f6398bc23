// Walks the roots and builds the manifest: settled regular files, hashed once and then cached.
import { constants } from 'node:fs';
import { lstat, open, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { ManifestEntry } from '../common/manifest.js';
import type { AgentStats } from '../common/protocol.js';
import { hashChunks } from '../common/xxh64.js';
import { readChunks } from '../lib/file-chunks.js';
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

type Classified =
  | { kind: 'entry'; entry: ManifestEntry }
  | { kind: 'hash'; candidate: Candidate; identity: FileIdentity }
  | { kind: 'pending' }
  | { kind: 'skip' };

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

/**
 * Owns the agent's view of its roots. One scan runs at a time: a call while a scan runs joins it.
 * The latest snapshot is kept for the archive writer and for `info`.
 */
export class Scanner {
  private running: Promise<ScanSnapshot> | undefined;
  private snapshot: ScanSnapshot | null = null;
  private live: ScanProgress | null = null;
  private firstSeen = new Map<string, FirstSeen>();
  private readonly counters = { scans: 0, filesHashed: 0, bytesHashed: 0, cacheHits: 0 };

  constructor(private readonly options: ScannerOptions) {}

  get latest(): ScanSnapshot | null {
    return this.snapshot;
  }

  /** The running scan's counters, or null when no scan runs. */
  get progress(): ScanProgress | null {
    return this.live;
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
      this.live = null;
    });
    return this.running;
  }

  private async runScan(): Promise<ScanSnapshot> {
    const { roots, cache, clock, logger } = this.options;
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
    const candidates: Candidate[] = [];
    for (const root of roots) await this.walk(root, candidates);
    live.filesSeen = candidates.length;

    // First every file's identity and the cache (cheap), so the bytes left to hash are known up front.
    const entries: ManifestEntry[] = [];
    const nextFirstSeen = new Map<string, FirstSeen>();
    const toHash: { candidate: Candidate; identity: FileIdentity }[] = [];
    let pending = 0;
    live.phase = 'checking';
    await forEachLimit(candidates, 8, async (candidate) => {
      const outcome = await this.classify(candidate, nextFirstSeen);
      if (outcome.kind === 'pending') pending++;
      else if (outcome.kind === 'entry') entries.push(outcome.entry);
      else if (outcome.kind === 'hash') {
        toHash.push(outcome);
        live.filesToHash++;
        live.bytesToHash += outcome.identity.size;
      }
    });
    const cacheHits = entries.length;

    live.phase = 'hashing';
    let hashed = 0;
    await forEachLimit(toHash, this.options.hashConcurrency ?? 4, async ({ candidate, identity }) => {
      const entry = await this.hashOne(candidate, identity, live);
      if (entry) {
        entries.push(entry);
        hashed++;
        this.counters.bytesHashed += entry.size;
      } else {
        pending++;
      }
      live.filesHashed++;
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
    this.live = null;
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
      try {
        for await (const dirent of handle) {
          if (isIgnoredName(dirent.name)) continue;
          const rel = dir.rel ? `${dir.rel}/${dirent.name}` : dirent.name;
          const abs = join(dir.abs, dirent.name);
          if (dirent.isDirectory()) stack.push({ abs, rel });
          else if (dirent.isFile() && this.options.filter(rel))
            out.push({ path: `${root.name}/${rel}`, abs, name: dirent.name });
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

  /** Decides from metadata alone: a cached hash, not settled yet, to be hashed, or not a candidate. */
  private async classify(candidate: Candidate, nextFirstSeen: Map<string, FirstSeen>): Promise<Classified> {
    const { cache, clock, settleMs } = this.options;
    const identity = await identify(candidate.abs);
    if (!identity) return { kind: 'skip' };
    const cached = cache.get(candidate.path, identity);
    if (cached) return { kind: 'entry', entry: entryOf(candidate, identity, cached) };

    const now = clock.now();
    const verdict = settleVerdict(identity, now, settleMs, this.firstSeen.get(candidate.path));
    if (verdict === 'empty') return { kind: 'skip' };
    if (verdict === 'unsettled') {
      const seen = this.firstSeen.get(candidate.path);
      const keep = seen && sameObservation(seen, identity) ? seen : { ...identity, seenAtMs: now };
      nextFirstSeen.set(candidate.path, keep);
      return { kind: 'pending' };
    }
    return { kind: 'hash', candidate, identity };
  }

  /** Hashes a settled file; null when it turns out unfinished or changes while it is read. */
  private async hashOne(
    candidate: Candidate,
    identity: FileIdentity,
    live: ScanProgress,
  ): Promise<ManifestEntry | null> {
    let handle;
    try {
      handle = await open(candidate.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return null;
    }
    try {
      const before = await handle.stat();
      if (
        !before.isFile() ||
        !sameObservation(identity, { size: before.size, mtimeMs: before.mtimeMs, ino: before.ino })
      ) {
        return null;
      }
      if (!(await isStructurallyComplete(handle, candidate.name, identity.size))) return null;
      const hashed = await hashChunks(countBytes(readChunks(handle, identity.size), live)).catch(
        (err: unknown) => {
          this.options.logger.warn(
            { err, file: candidate.path },
            'cannot read file; it is offered once it can be',
          );
          return null;
        },
      );
      if (!hashed) return null;
      const { xxh64, bytes } = hashed;
      const after = await handle.stat();
      const onDisk = await identify(candidate.abs);
      const untouched =
        bytes === identity.size &&
        sameObservation(identity, { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino }) &&
        onDisk !== null &&
        sameObservation(identity, onDisk);
      if (!untouched) return null;
      this.options.cache.set(candidate.path, identity, xxh64);
      return entryOf(candidate, identity, xxh64);
    } finally {
      await handle.close();
    }
  }
}

function entryOf(candidate: Candidate, identity: FileIdentity, xxh64: string): ManifestEntry {
  return { path: candidate.path, size: identity.size, mtimeMs: identity.mtimeMs, xxh64, ino: identity.ino };
}

/** Passes chunks through, adding their sizes to the scan's live counter. */
async function* countBytes(chunks: AsyncIterable<Buffer>, live: ScanProgress): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    live.bytesHashed += chunk.length;
    yield chunk;
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
