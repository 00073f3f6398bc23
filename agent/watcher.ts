// Watches every folder of the roots (one inotify watch each, via fs.watch) and hands the paths that
// changed to the scanner in small batches; files not settled yet are looked at again once they could be.
import { type FSWatcher, lstatSync, type Stats, watch } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { Root } from './roots.js';
import type { RootPath, Scanner } from './scanner.js';

/** How long events gather before one refresh handles them all. */
const BATCH_MS = 100;
/**
 * Refreshes a drain waits for at most: under a steady stream of writes it would never end, and what
 * the last round leaves is reported by the next manifest.
 */
const MAX_DRAIN_ROUNDS = 8;

/** Errors that concern one folder (gone, replaced by a file, unreadable), not watching as a whole. */
const FOLDER_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM']);

/**
 * A folder's watch, with the folder it was set on: a folder removed and made again under the same
 * name is another one, though it often gets the same inode number back; its birth time tells them
 * apart (where the file system has none, Node reports the ctime, which at worst costs a re-walk).
 */
interface Watched {
  watcher: FSWatcher;
  ino: number;
  bornMs: number;
}

/**
 * Folder watches are added as scans walk (Scanner's `onFolder`), so a folder made after the start
 * is watched once the refresh of its creation walks it. When a watch cannot be added (inotify
 * limits, a file system without events) `active` turns false for good and the agent falls back to
 * scanning before each incremental manifest; rescans catch anything a watch missed either way. A
 * folder that is gone or unreadable by the time it is watched is skipped: its parent's event, or
 * the scan that cannot list it either, covers it.
 */
export class FolderWatcher {
  private scanner: Scanner | undefined;
  private readonly watchers = new Map<string, Watched>();
  private readonly queued = new Map<string, RootPath>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private batch: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private failed = false;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The scanner whose refreshes this feeds; set once, after both exist. */
  attach(scanner: Scanner): void {
    this.scanner = scanner;
  }

  /** True while every folder seen is watched, so the index follows the disk without a scan. */
  get active(): boolean {
    return !this.failed && !this.stopped && this.scanner !== undefined;
  }

  get folders(): number {
    return this.watchers.size;
  }

  /** Watches one folder, once; called by the scanner as it walks. */
  watchFolder(root: Root, rel: string): void {
    const key = keyOf(root, rel);
    if (this.failed || this.stopped || this.watchers.has(key)) return;
    const abs = rel ? join(root.dir, rel) : root.dir;
    let watcher: FSWatcher;
    let stats: Stats;
    try {
      // The folder's identity first: if it is replaced before the watch is set, the two differ
      // and closeGone sets the watch again, rather than keep one on a folder that is gone.
      stats = lstatSync(abs);
      watcher = watch(abs, { persistent: false });
    } catch (err) {
      if (FOLDER_ERRORS.has((err as NodeJS.ErrnoException).code ?? '')) return;
      this.failed = true;
      this.logger.warn(
        { err, folder: rel ? `${root.name}/${rel}` : root.name },
        'cannot watch folders; new files are found by scans only (raise fs.inotify.max_user_watches?)',
      );
      return;
    }
    watcher.on('change', (_event, name) => {
      if (typeof name !== 'string' || name === '') this.queue(root, rel);
      else this.queue(root, rel ? `${rel}/${name}` : name);
    });
    // The folder itself went away (or the watch broke): its parent's event, or the rescan, handles it.
    watcher.on('error', () => this.unwatch(root, rel));
    this.watchers.set(key, { watcher, ino: stats.ino, bornMs: stats.birthtimeMs });
  }

  /**
   * Waits until every event seen so far has been handed to the scanner and handled, and those that
   * arrived meanwhile too. A request can be read in the same turn of the event loop as the events
   * of the writes before it, and handled first: those events are read while the first refresh runs,
   * so they are refreshed before the answer rather than left for a second pass.
   */
  async drain(): Promise<void> {
    for (let rounds = 0; rounds < MAX_DRAIN_ROUNDS; rounds++) {
      if (this.batch) {
        clearTimeout(this.batch);
        this.batch = undefined;
        this.flush();
      }
      const running = this.running;
      await running;
      if (this.queued.size === 0 && this.running === running) return;
    }
  }

  close(): void {
    this.stopped = true;
    if (this.batch) clearTimeout(this.batch);
    for (const timer of this.retries.values()) clearTimeout(timer);
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private queue(root: Root, rel: string): void {
    if (this.stopped) return;
    this.queued.set(keyOf(root, rel), { root, rel });
    this.batch ??= setTimeout(() => {
      this.batch = undefined;
      this.flush();
    }, BATCH_MS);
  }

  private flush(): void {
    const scanner = this.scanner;
    if (!scanner || this.queued.size === 0) return;
    const paths = [...this.queued.values()];
    this.queued.clear();
    this.running = this.running
      .then(async () => {
        const retries = await scanner.refresh(paths);
        for (const { root, rel } of paths) await this.closeGone(root, rel);
        for (const retry of retries) this.retryAt(retry.root, retry.rel, retry.atMs);
      })
      .catch((err: unknown) => this.logger.error({ err }, 'refresh after a change failed'));
  }

  /**
   * Closes the watches of a folder that no longer exists, and of everything below it. A folder
   * replaced under the same name (removed and made again within one batch) gets a new look, whose
   * walk watches the new folder: the old watch would never report anything again.
   */
  private async closeGone(root: Root, rel: string): Promise<void> {
    const watched = this.watchers.get(keyOf(root, rel));
    if (!watched) return;
    const stats = await lstat(rel ? join(root.dir, rel) : root.dir).catch(() => null);
    const same = stats && stats.ino === watched.ino && stats.birthtimeMs === watched.bornMs;
    if (same && stats.isDirectory()) return;
    this.unwatch(root, rel);
    if (stats?.isDirectory()) this.queue(root, rel);
  }

  private unwatch(root: Root, rel: string): void {
    const key = keyOf(root, rel);
    for (const [other, { watcher }] of this.watchers) {
      if (other === key || other.startsWith(`${key}/`)) {
        watcher.close();
        this.watchers.delete(other);
      }
    }
  }

  /** Looks at a path again at `atMs` (a file that could have settled by then), once. */
  retryAt(root: Root, rel: string, atMs: number): void {
    const key = keyOf(root, rel);
    if (this.stopped || this.retries.has(key)) return;
    const delay = Math.max(0, atMs - this.clock.now()) + 20;
    const timer = setTimeout(() => {
      this.retries.delete(key);
      this.queue(root, rel);
    }, delay);
    timer.unref();
    this.retries.set(key, timer);
  }
}

function keyOf(root: Root, rel: string): string {
  return rel ? `${root.name}/${rel}` : root.name;
}
