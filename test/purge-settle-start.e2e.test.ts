// The daemon settles, at start, the `requested` purge rows a killed purge left: the rows of files still in
// the container with its read token alone, the rows of deleted files (the agent's journal) with the purge token.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakePng, put } from './helpers/files.js';
import { FaultProxy } from './helpers/fault-proxy.js';
import { type Container, catalogRows, expectNothingLost } from './helpers/nothing-lost.js';
import {
  BIN,
  PURGE_TOKEN,
  type Started,
  TOKEN,
  startAgent,
  startProcess,
  syncJson,
  tempDir,
} from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const OLD = new Date(Date.now() - 2 * 24 * 3600_000);
const PURGE = /^POST \/v1\/purge /m;
const SETTLED = 'settled deletions an interrupted purge left without an outcome';
const LEFT_OPEN = /^deletions an interrupted purge left without an outcome stay open/;

describe('settling an interrupted purge at daemon start', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let dest: string;
  const agents: Record<string, Started> = {};
  const containers: Container[] = [];
  let deadRun: string;

  beforeAll(async () => {
    work = await tempDir('fms-settle-');
    dest = join(work.path, 'synced');
    for (const name of ['gpu1', 'gpu2']) {
      const out = join(work.path, name, 'output');
      const written = new Map<string, Buffer>();
      for (let i = 0; i < 10; i++) {
        const bytes = fakePng(300);
        written.set(`${i}.png`, bytes);
        await put(out, `${i}.png`, bytes, OLD);
      }
      agents[name] = await startAgent([out], ['--state-dir', join(work.path, name, 'state')]);
      containers.push({ agent: name, rootDir: out, rootName: 'output', written });
    }
    const sync = await syncJson(dest, { gpu1: agents.gpu1!.url, gpu2: agents.gpu2!.url });
    expect(sync.code, sync.stderr).toBe(0);

    // A purge killed with gpu1's answer held (it deleted everything, unheard) and gpu2's request held
    // (it never heard of the purge): every row of both is left `requested`.
    const answerHeld = await FaultProxy.start(agents.gpu1!.url, { kind: 'stall', when: PURGE });
    const requestHeld = await FaultProxy.start(agents.gpu2!.url, {
      kind: 'stall',
      direction: 'up',
      when: PURGE,
    });
    const child: ChildProcess = spawn(
      process.execPath,
      [
        BIN,
        'purge',
        '--dest',
        dest,
        '--agent',
        `gpu1=${answerHeld.url}`,
        '--agent',
        `gpu2=${requestHeld.url}`,
        '--older-than',
        '1d',
      ],
      {
        env: { ...process.env, FORGE_SYNC_TOKEN: TOKEN, FORGE_SYNC_PURGE_TOKEN: PURGE_TOKEN },
        stdio: 'ignore',
      },
    );
    const exited = once(child, 'exit');
    await waitUntil(
      'both purge requests to be held',
      async () => {
        expect(child.exitCode).toBeNull();
        const deleted = (await readdir(containers[0]!.rootDir)).length === 0;
        return answerHeld.heldBytes > 0 && requestHeld.heldBytes > 0 && deleted ? true : undefined;
      },
      { everyMs: 20 },
    );
    child.kill('SIGKILL');
    await exited;
    await answerHeld.close();
    await requestHeld.close();
    const rows = await catalogRows(dest);
    expect(rows.filter((row) => row.purge_outcome === 'requested')).toHaveLength(20);
    deadRun = rows[0]!.purge_run_id!;
  });

  afterAll(async () => {
    for (const agent of Object.values(agents)) await agent.stop();
    await work?.[Symbol.asyncDispose]();
  });

  /** Runs the daemon until it logs `done` for each of `names`, then stops it (SIGTERM). */
  async function daemonUntil(
    env: NodeJS.ProcessEnv,
    names: string[],
    done: (log: Record<string, unknown>) => boolean,
  ) {
    const daemon = await startProcess(
      'controller',
      [
        '--dest',
        dest,
        '--agent',
        `gpu1=${agents.gpu1!.url}`,
        '--agent',
        `gpu2=${agents.gpu2!.url}`,
        '--interval',
        '1h',
      ],
      env,
    );
    try {
      await waitUntil(
        `${names.join(' and ')} settled at start`,
        () => {
          const seen = new Set(daemon.logs.filter(done).map((log) => log.agent));
          return names.every((name) => seen.has(name)) ? true : undefined;
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      await daemon.stop();
    }
  }

  it('with the read token alone: settles the rows of files still there, leaves the others open', async () => {
    await daemonUntil(
      { FORGE_SYNC_PURGE_TOKEN: undefined },
      ['gpu1', 'gpu2'],
      (log) =>
        (log.agent === 'gpu2' && log.msg === SETTLED) ||
        (log.agent === 'gpu1' && LEFT_OPEN.test(String(log.msg))),
    );
    const rows = await catalogRows(dest);
    const outcomes = (agent: string) =>
      new Set(rows.filter((row) => row.agent === agent).map((row) => row.purge_outcome));
    expect(outcomes('gpu2')).toEqual(new Set(['kept:interrupted']));
    expect(outcomes('gpu1')).toEqual(new Set(['requested']));
    // Nothing was deleted by the settling.
    expect((await readdir(containers[1]!.rootDir)).length).toBe(10);
    await expectNothingLost(dest, containers);
  });

  it('with the purge token: asks the agent, whose journal names the run that deleted them', async () => {
    await daemonUntil({}, ['gpu1'], (log) => log.msg === SETTLED);
    const rows = await catalogRows(dest);
    expect(rows.filter((row) => row.purge_outcome === 'requested')).toEqual([]);
    for (const row of rows.filter((row) => row.agent === 'gpu1')) {
      expect(row).toMatchObject({ purge_outcome: 'purged', purge_run_id: deadRun });
      expect(row.purged_at).not.toBeNull();
    }
    expect((await readdir(containers[1]!.rootDir)).length).toBe(10);
    const counts = await expectNothingLost(dest, containers);
    expect(counts).toMatchObject({ onlyOnHost: 10, inContainer: 10 });
  });
});
