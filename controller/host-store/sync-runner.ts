// `sync -f` for every batch, run by one long-lived shell rather than a fork of the controller each time.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

const SYNC_TIMEOUT_MS = 600_000;

/**
 * Reads one path a line and answers `ok` or `fail <message>` for each, in order. The shell forks
 * `sync` from its own few hundred KiB; the controller, forking itself per batch, paid 15-20 ms of its
 * event loop each time (the page tables of hundreds of MiB), more than a small batch's writes.
 */
const SCRIPT = `while IFS= read -r p; do
  if e=$(sync -f "$p" 2>&1); then printf 'ok\\n'; else printf 'fail %s\\n' "$(printf '%s' "$e" | tr '\\r\\n' '  ')"; fi
done`;

interface Waiter {
  path: string;
  /** When it was asked (performance.now()), for its timeout. */
  at: number;
  resolve(): void;
  reject(err: Error): void;
}

/** A reply that is the sync's own failure, as opposed to the helper's. */
class SyncFailed extends Error {}

/**
 * One helper shell and the requests written to it, answered in order. Its replies go to its own
 * requests only: a helper that died or timed out fails what it owed, and a reply it still sends
 * afterwards is dropped, never taken for another helper's request.
 */
class SyncHelper {
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly child: ChildProcess,
    private readonly onGone: (helper: SyncHelper) => void,
  ) {
    child.on('error', (err) => this.end(err));
    child.on('exit', () => this.end(new Error('the sync helper ended')));
    if (!child.stdin || !child.stdout) {
      // Not started (no file descriptors left, say): its 'error' event follows, and ends it too.
      this.end(new Error('the sync helper did not start'));
      return;
    }
    // An idle helper never holds the controller open; a reply awaited is held by the timer.
    child.unref();
    for (const pipe of [child.stdin, child.stdout] as (Readable & { unref?: () => void })[]) pipe.unref?.();
    child.stdin.on('error', () => undefined);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (this.done) return;
      const waiter = this.waiting.shift();
      this.arm();
      if (!waiter) return;
      if (line === 'ok') waiter.resolve();
      else waiter.reject(new SyncFailed(`sync -f ${waiter.path} failed: ${line.slice(5).trim() || line}`));
    });
  }

  get ended(): boolean {
    return this.done;
  }

  run(path: string): Promise<void> {
    if (this.done) return Promise.reject(new Error('the sync helper ended'));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ path, at: performance.now(), resolve, reject });
      this.arm();
      (this.child.stdin as Writable).write(`${path}\n`);
    });
  }

  /** One timer, for the oldest request's deadline; none while idle. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const oldest = this.waiting[0];
    if (!oldest || this.done) return;
    const left = Math.max(0, oldest.at + SYNC_TIMEOUT_MS - performance.now());
    this.timer = setTimeout(() => {
      // The shell and the sync it runs: they are a process group of their own.
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        this.child.kill('SIGKILL');
      }
      this.end(new Error(`sync -f did not finish in ${SYNC_TIMEOUT_MS / 1000} s`));
    }, left);
  }

  private end(err: Error): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.child.stdin?.destroy();
    this.child.stdout?.destroy();
    for (const waiter of this.waiting.splice(0)) waiter.reject(err);
    this.onGone(this);
  }
}

/** The helper in use: started at first use, and again after one ended. */
class SyncShell {
  private helper: SyncHelper | undefined;

  run(path: string): Promise<void> {
    if (!this.helper || this.helper.ended) {
      const child = spawn('sh', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
      this.helper = new SyncHelper(child, (gone) => {
        if (this.helper === gone) this.helper = undefined;
      });
    }
    return this.helper.run(path);
  }
}

const shell = new SyncShell();

/** `sync -f path` in a child of its own, the way it ran before the helper: its fallback. */
function syncDirectly(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', path], { timeout: SYNC_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`sync -f ${path} failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/** syncfs(2) through the helper; should the helper itself fail (no `sh`), `sync` is run directly. */
async function runSync(path: string): Promise<void> {
  if (path.includes('\n')) return syncDirectly(path);
  try {
    await shell.run(path);
  } catch (err) {
    if (err instanceof SyncFailed) throw err;
    await syncDirectly(path);
  }
}

/** Per path: the sync that has not started yet. Any caller may join it: it starts after their writes. */
const queued = new Map<string, Promise<void>>();
/** Per path: the sync running now, which may have started before a caller's writes. */
const running = new Map<string, Promise<void>>();

/**
 * syncfs(2) of the filesystem holding `path`: every dirty page and inode on it reaches the disk.
 * Calls for one path while a sync runs share the one that starts after it: two batches ending
 * together cost two syncs at most, never a sync each.
 */
export function syncFilesystem(path: string): Promise<void> {
  const waiting = queued.get(path);
  if (waiting) return waiting;
  const before = running.get(path) ?? Promise.resolve();
  const mine = before
    .catch(() => undefined)
    .then(() => {
      queued.delete(path);
      running.set(path, mine);
      return runSync(path);
    })
    .finally(() => {
      if (running.get(path) === mine) running.delete(path);
    });
  queued.set(path, mine);
  return mine;
}
