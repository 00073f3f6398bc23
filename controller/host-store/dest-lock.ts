// The destination lock: one controller per --dest, held by a live process judged by its identity or its
// heartbeat, never by the age of a file (a clock set forward or back changes nothing).
import { randomUUID } from 'node:crypto';
import { type FileHandle, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../common/errors.js';
import { type ProcessIdentity, processState, selfIdentity } from '../../lib/process-identity.js';

/** The lock file is always this long, so each heartbeat overwrites it in place. */
const LOCK_BYTES = 512;

export interface LockTiming {
  /** How often the holder counts its heartbeat up. */
  beatMs: number;
  /** A holder this process cannot see (another container or host) is alive if it beats within this. */
  watchMs: number;
}

export const LOCK_TIMING: LockTiming = { beatMs: 2_000, watchMs: 15_000 };

/** What the lock file holds: who took it, and how to tell whether they still live. */
export interface LockOwner {
  host: string;
  pid: number;
  token: string;
  /** Where `pid` names this process: the kernel's boot id and the pid namespace (absent in older locks). */
  boot?: string;
  pidns?: string;
  /** The holder's start time: a pid reused by another process has another. */
  start?: string;
  /** Counts up every beat while the holder lives. */
  beat?: number;
}

type Verdict = { alive: true } | { alive: false; why: string };

/**
 * Takes the lock file, or fails naming who holds it. The holder keeps the file open and rewrites
 * its heartbeat counter in place every beat. A contender on the same kernel and pid namespace
 * judges the holder by /proc: a pid that is gone, a zombie, or a pid reused by a process started
 * at another time is dead, whatever the file says; a live one keeps the lock, however old the file
 * looks. A contender that cannot see the holder's process (another container or host) watches the
 * file, with the monotonic clock, for a heartbeat. Returns the release function.
 */
export async function takeLock(
  lockPath: string,
  dest: string,
  timing: LockTiming = LOCK_TIMING,
): Promise<() => Promise<void>> {
  const self = selfIdentity();
  const me: LockOwner = {
    host: hostname(),
    pid: process.pid,
    token: randomUUID(),
    ...(self ? { boot: self.boot, pidns: self.pidns, start: self.start } : {}),
    beat: 0,
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    let handle: FileHandle | undefined;
    try {
      handle = await open(lockPath, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (handle) return hold(handle, lockPath, me, timing);
    const owner = await readOwner(lockPath);
    const verdict = await judge(lockPath, owner, self, timing);
    if (verdict.alive) {
      const who = owner ? `pid ${owner.pid} on ${owner.host}` : 'a process that is starting';
      throw new AppError('E_DEST_LOCKED', `--dest ${dest}: another forge-sync process (${who}) is using it`);
    }
    // Dead: removed, unless another contender has meanwhile put its own lock there.
    const current = await readOwner(lockPath);
    if ((current?.token ?? null) === (owner?.token ?? null)) await rm(lockPath, { force: true });
  }
  throw new AppError('E_DEST_LOCKED', `--dest ${dest}: cannot take the lock ${lockPath}`);
}

async function hold(
  handle: FileHandle,
  lockPath: string,
  me: LockOwner,
  timing: LockTiming,
): Promise<() => Promise<void>> {
  const write = (): Promise<unknown> => {
    const text = JSON.stringify(me);
    const bytes = Buffer.alloc(LOCK_BYTES, ' ');
    bytes.write(text);
    bytes[LOCK_BYTES - 1] = 0x0a;
    return handle.write(bytes, 0, LOCK_BYTES, 0);
  };
  try {
    await write();
  } catch (err) {
    await handle.close();
    await rm(lockPath, { force: true });
    throw err;
  }
  let writing: Promise<unknown> = Promise.resolve();
  // A libuv timer: it runs on the monotonic clock, so a wall-clock jump neither stops nor hurries it.
  const timer = setInterval(() => {
    me.beat = (me.beat ?? 0) + 1;
    writing = writing.then(write).catch(() => undefined);
  }, timing.beatMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await writing;
    await handle.close().catch(() => undefined);
    const owner = await readOwner(lockPath);
    if (owner?.token === me.token) await rm(lockPath, { force: true });
  };
}

async function judge(
  lockPath: string,
  owner: LockOwner | null,
  self: ProcessIdentity | undefined,
  timing: LockTiming,
): Promise<Verdict> {
  const visible =
    owner !== null &&
    self !== undefined &&
    (owner.boot !== undefined
      ? owner.boot === self.boot && owner.pidns === self.pidns
      : owner.host === hostname()); // a lock of an older version: the pid is all it says
  if (visible) {
    const state = processState(owner.pid);
    if (!state.alive) return { alive: false, why: state.why };
    if (owner.start !== undefined && state.start !== owner.start) return { alive: false, why: 'pid reused' };
    return { alive: true };
  }
  return watchHeartbeat(lockPath, timing.watchMs);
}

/** Alive when the lock file changes (a heartbeat, or an older version touching it) within `watchMs`. */
async function watchHeartbeat(lockPath: string, watchMs: number): Promise<Verdict> {
  const look = async (): Promise<string | null> => {
    const [text, stats] = await Promise.all([
      readFile(lockPath, 'utf8').catch(() => ''),
      stat(lockPath).catch(() => null),
    ]);
    return stats ? `${stats.mtimeMs}\n${text}` : null;
  };
  const first = await look();
  const started = performance.now();
  while (first !== null && performance.now() - started < watchMs) {
    await sleep(250);
    const now = await look();
    if (now === null) break;
    if (now !== first) return { alive: true };
  }
  if ((await look()) === null) return { alive: false, why: 'released' };
  return { alive: false, why: `no heartbeat for ${watchMs / 1000} s` };
}

async function readOwner(lockPath: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse((await readFile(lockPath, 'utf8')).trim()) as LockOwner;
    return typeof owner.token === 'string' && Number.isSafeInteger(owner.pid) ? owner : null;
  } catch {
    return null;
  }
}
