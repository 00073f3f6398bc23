// The destination lock against real processes: a live holder keeps it whatever its file's age, a dead,
// zombie or reused pid loses it, and a holder out of sight is judged by its heartbeat.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockOwner as Lock } from '../controller/host-store/dest-lock.js';
import { processState, selfIdentity } from '../lib/process-identity.js';
import { fakePng, put } from './helpers/files.js';
import { type Started, startAgent, startProcess, syncJson, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const DAY = 24 * 3600_000;
const self = selfIdentity();
const onLinux = self !== undefined;

describe.skipIf(!onLinux)('the destination lock', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let agent: Started;
  let n = 0;

  beforeAll(async () => {
    work = await tempDir('fms-lock-');
    const out = join(work.path, 'output');
    await put(out, 'a.png', fakePng(100));
    agent = await startAgent([out]);
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  /** A fresh destination whose lock file says `lock`. */
  async function lockedDest(lock: Lock): Promise<{ dest: string; lockPath: string }> {
    const dest = join(work.path, `dest-${n++}`);
    await mkdir(join(dest, '.forge-sync'), { recursive: true });
    const lockPath = join(dest, '.forge-sync/lock');
    await writeFile(lockPath, `${JSON.stringify(lock)}\n`);
    return { dest, lockPath };
  }

  const here = (pid: number, start: string): Lock => ({
    host: hostname(),
    pid,
    token: 'someone-else',
    boot: self!.boot,
    pidns: self!.pidns,
    start,
    beat: 0,
  });

  async function sync(dest: string) {
    const result = await syncJson(dest, { gpu1: agent.url });
    return { ...result, refused: result.stderr.includes('is using it') };
  }

  it('keeps a live holder in place however old or new its lock file looks', async () => {
    const dest = join(work.path, 'live');
    const daemon = await startProcess('controller', ['--serve-only', '--dest', dest]);
    try {
      const lockPath = join(dest, '.forge-sync/lock');
      const held = JSON.parse((await readFile(lockPath, 'utf8')).trim()) as Lock;
      expect(held.pid).toBe(daemon.child.pid);
      // What a clock set days forward (or back) would make of the file: no reason to take the lock.
      for (const when of [new Date(Date.now() - DAY), new Date(Date.now() + DAY)]) {
        await utimes(lockPath, when, when);
        const result = await sync(dest);
        expect(result.code).not.toBe(0);
        expect(result.refused, result.stderr).toBe(true);
      }
      const after = JSON.parse((await readFile(lockPath, 'utf8')).trim()) as Lock;
      expect(after.token).toBe(held.token);
      // Its heartbeat counts on while it lives.
      await waitUntil('the heartbeat to move', async () => {
        const now = JSON.parse((await readFile(lockPath, 'utf8')).trim()) as Lock;
        return now.beat! > after.beat! ? true : undefined;
      });
    } finally {
      await daemon.stop();
    }
  });

  it('takes over from a zombie: a holder that exited but was never reaped', async () => {
    // `sleep` never reaps the child its shell left behind, so that child stays a zombie. The child
    // outlives the shell's exec by a second: a child that ended first could be reaped by the shell.
    const parent = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 60'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [line] = (await once(createInterface({ input: parent.stdout }), 'line')) as [string];
      const zombie = Number(line);
      const start = await waitUntil(
        'the child to be a zombie',
        () => {
          const stat = readFileSyncSafe(`/proc/${zombie}/stat`);
          return stat && / Z /.test(stat.slice(stat.lastIndexOf(')'))) ? stat : undefined;
        },
        { timeoutMs: 20_000, seen: () => readFileSyncSafe(`/proc/${zombie}/stat`) ?? 'no such process' },
      );
      expect(processState(zombie)).toEqual({ alive: false, why: 'zombie' });
      const startTicks = start.slice(start.lastIndexOf(')') + 2).split(' ')[19]!;
      const { dest } = await lockedDest(here(zombie, startTicks));
      const result = await sync(dest);
      expect(result.code, result.stderr).toBe(0);
      expect(result.summary!.totals.filesTransferred).toBe(1);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('takes over from a pid that is gone, and from a pid now used by another process', async () => {
    const gone = spawn('true');
    await once(gone, 'exit');
    const first = await lockedDest(here(gone.pid!, '1'));
    const afterGone = await sync(first.dest);
    expect(afterGone.code, afterGone.stderr).toBe(0);

    // This very test process is alive, but it started at another time than the lock says.
    const reused = await lockedDest(here(process.pid, String(Number(self!.start) + 1)));
    const afterReuse = await sync(reused.dest);
    expect(afterReuse.code, afterReuse.stderr).toBe(0);

    // With its real start time, the same pid is a live holder.
    const live = await lockedDest(here(process.pid, self!.start));
    const refused = await sync(live.dest);
    expect(refused.refused, refused.stderr).toBe(true);
  });

  it('judges a holder it cannot see (another container) by its heartbeat, not by the time', async () => {
    const elsewhere: Lock = {
      host: 'other-host',
      pid: 1,
      token: 'elsewhere',
      boot: 'other-boot',
      pidns: 'pid:[1]',
      start: '5',
      beat: 0,
    };
    const beating = await lockedDest(elsewhere);
    // The file looks a day old, but it is rewritten every half second: someone is alive.
    const old = new Date(Date.now() - DAY);
    const timer = setInterval(() => {
      elsewhere.beat!++;
      void writeFile(beating.lockPath, `${JSON.stringify(elsewhere)}\n`).then(() =>
        utimes(beating.lockPath, old, old),
      );
    }, 500);
    try {
      const refused = await sync(beating.dest);
      expect(refused.refused, refused.stderr).toBe(true);
    } finally {
      clearInterval(timer);
    }
    // The same lock with a fresh mtime but no heartbeat: its holder is gone.
    const silent = await lockedDest({ ...elsewhere, token: 'silent' });
    const taken = await sync(silent.dest);
    expect(taken.code, taken.stderr).toBe(0);
  }, 60_000);
});

function readFileSyncSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
