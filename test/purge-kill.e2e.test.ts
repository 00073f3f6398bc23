// kill -9 of the controller or of the agent at each stage of a purge: before the agent hears the request,
// while it deletes a batch, after it answered but before the answer is recorded. Nothing is lost, and the
// next purge settles every `requested` audit row and finishes the work.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PurgeSummary } from '../common/run-results.js';
import { fakePng, put } from './helpers/files.js';
import { type Fault, FaultProxy } from './helpers/fault-proxy.js';
import { type Container, catalogRows, expectNothingLost } from './helpers/nothing-lost.js';
import {
  BIN,
  PURGE_TOKEN,
  type Started,
  TOKEN,
  runCli,
  startAgent,
  syncJson,
  tempDir,
} from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const OLD = new Date(Date.now() - 2 * 24 * 3600_000);
const PURGE = /^POST \/v1\/purge /m;

/** `forge-sync purge` of gpu1 at `url`, as a child the test may kill. */
function spawnPurge(dest: string, url: string): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(
    process.execPath,
    [BIN, 'purge', '--dest', dest, '--agent', `gpu1=${url}`, '--older-than', '1d', '--json'],
    {
      env: { ...process.env, FORGE_SYNC_TOKEN: TOKEN, FORGE_SYNC_PURGE_TOKEN: PURGE_TOKEN },
      stdio: 'ignore',
    },
  );
  return { child, exited: once(child, 'exit') };
}

async function purgeJson(dest: string, url: string): Promise<{ code: number | null; summary: PurgeSummary }> {
  const result = await runCli([
    'purge',
    '--dest',
    dest,
    '--agent',
    `gpu1=${url}`,
    '--older-than',
    '1d',
    '--json',
  ]);
  expect(result.stdout, result.stderr).not.toBe('');
  return { code: result.code, summary: JSON.parse(result.stdout) as PurgeSummary };
}

async function countFiles(dir: string): Promise<number> {
  return (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.png')).length;
}

// Each case syncs up to 1,100 files before it kills anything: on a loaded 2-core machine that alone can
// take most of a minute, so the cases get three.
describe('purge killed at each stage', { timeout: 180_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let run = 0;
  const started: Started[] = [];
  let proxy: FaultProxy | undefined;

  beforeAll(async () => {
    work = await tempDir('fms-purge-kill-');
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    for (const process of started.splice(0)) await process.stop();
  });

  afterAll(async () => {
    await work?.[Symbol.asyncDispose]();
  });

  /** `files` old files in a fresh container, served by an agent with --state-dir, synced into a fresh --dest. */
  async function synced(files: number) {
    const base = join(work.path, `case-${++run}`);
    const out = join(base, 'output');
    const state = join(base, 'state');
    const written = new Map<string, Buffer>();
    for (let i = 0; i < files; i++) {
      const rel = `${String(i).padStart(5, '0')}.png`;
      const bytes = fakePng(200);
      written.set(rel, bytes);
      await put(out, rel, bytes, OLD);
    }
    const startIt = async (): Promise<Started> => {
      const agent = await startAgent([out], ['--state-dir', state]);
      started.push(agent);
      return agent;
    };
    const agent = await startIt();
    const dest = join(base, 'synced');
    const sync = await syncJson(dest, { gpu1: agent.url });
    expect(sync.code, sync.stderr).toBe(0);
    const container: Container[] = [{ agent: 'gpu1', rootDir: out, rootName: 'output', written }];
    return { out, dest, agent, startAgent: startIt, container, files };
  }

  /** A purge through a proxy with `fault` on its purge request, killed once `ready` holds. */
  async function killControllerWhen(
    dest: string,
    agentUrl: string,
    fault: Fault,
    ready: () => boolean | Promise<boolean>,
  ): Promise<void> {
    proxy = await FaultProxy.start(agentUrl, fault);
    const { child, exited } = spawnPurge(dest, proxy.url);
    await waitUntil(
      'the stage to kill the controller at',
      async () => {
        expect(child.exitCode, 'the purge ended before it could be killed').toBeNull();
        return (await ready()) ? true : undefined;
      },
      { everyMs: 20 },
    );
    child.kill('SIGKILL');
    await exited;
    await proxy.close();
    proxy = undefined;
  }

  /** The next purge settles every row and deletes what is left; nothing was lost on the way. */
  async function expectSettledAfterNextPurge(
    setup: Awaited<ReturnType<typeof synced>>,
    url: string,
    options: { unknownVanished?: boolean } = {},
  ): Promise<{ rows: Awaited<ReturnType<typeof catalogRows>>; summary: PurgeSummary }> {
    const { code, summary } = await purgeJson(setup.dest, url);
    expect(code, JSON.stringify(summary)).toBe(0);
    const rows = await catalogRows(setup.dest);
    expect(rows.filter((row) => row.purge_outcome === 'requested')).toEqual([]);
    // An agent killed between deleting a file and journaling it cannot say who deleted it: `unknown:vanished`.
    const allowed = new Set(['purged', ...(options.unknownVanished ? ['unknown:vanished'] : [])]);
    expect(
      rows.filter((row) => !allowed.has(row.purge_outcome ?? '')).map((row) => row.purge_outcome),
    ).toEqual([]);
    expect(await countFiles(setup.out)).toBe(0);
    const counts = await expectNothingLost(setup.dest, setup.container);
    expect(counts.onlyOnHost).toBe(setup.files);
    return { rows, summary };
  }

  it('controller killed after marking the batch requested, before the agent hears of it', async () => {
    const setup = await synced(40);
    // The purge request is held in the proxy: the agent never gets it.
    await killControllerWhen(
      setup.dest,
      setup.agent.url,
      { kind: 'stall', direction: 'up', when: PURGE },
      () => Boolean(proxy && proxy.heldBytes > 0),
    );
    expect(await countFiles(setup.out)).toBe(40);
    const before = await catalogRows(setup.dest);
    expect(before.filter((row) => row.purge_outcome === 'requested')).toHaveLength(40);
    await expectNothingLost(setup.dest, setup.container);

    const { summary } = await expectSettledAfterNextPurge(setup, setup.agent.url);
    // Still in the container, so not deleted then: this purge deleted them.
    expect(summary.agents[0]!.filesPurged).toBe(40);
  });

  it('controller killed after the agent deleted and answered, before the answer is recorded', async () => {
    const setup = await synced(40);
    // The agent's answer is held in the proxy: it deleted the files, the controller never hears.
    await killControllerWhen(
      setup.dest,
      setup.agent.url,
      { kind: 'stall', direction: 'down', when: PURGE },
      async () => Boolean(proxy && proxy.heldBytes > 0) && (await countFiles(setup.out)) === 0,
    );
    const before = await catalogRows(setup.dest);
    const deadRun = before[0]!.purge_run_id;
    expect(before.filter((row) => row.purge_outcome === 'requested')).toHaveLength(40);
    expect((await expectNothingLost(setup.dest, setup.container)).onlyOnHost).toBe(40);

    const { rows, summary } = await expectSettledAfterNextPurge(setup, setup.agent.url);
    expect(summary.agents[0]!.filesPurged).toBe(0);
    // The agent's journal says the interrupted run deleted them, and when.
    expect(new Set(rows.map((row) => row.purge_run_id))).toEqual(new Set([deadRun]));
    for (const row of rows) expect(row.purged_at).not.toBeNull();
  });

  it('controller killed while the agent deletes a batch: the agent finishes it', async () => {
    const setup = await synced(1000);
    const { child, exited } = spawnPurge(setup.dest, setup.agent.url);
    await waitUntil(
      'the agent to be deleting',
      async () => {
        expect(child.exitCode, 'the purge ended before it could be killed').toBeNull();
        return (await countFiles(setup.out)) < 1000 ? true : undefined;
      },
      { everyMs: 2 },
    );
    child.kill('SIGKILL');
    await exited;
    expect(await countFiles(setup.out), 'killed before the batch ended').toBeGreaterThan(0);
    // The batch (one of 1000 files) goes on to its end without the controller, which recorded no outcome.
    await waitUntil('the batch to end', async () => ((await countFiles(setup.out)) === 0 ? true : undefined));
    const before = await catalogRows(setup.dest);
    expect(before.filter((row) => row.purge_outcome === 'requested')).toHaveLength(1000);
    await expectNothingLost(setup.dest, setup.container);
    await expectSettledAfterNextPurge(setup, setup.agent.url);
  });

  it('agent killed while it deletes a batch: set-aside files come back, rows settle', async () => {
    const setup = await synced(1100);
    const { child, exited } = spawnPurge(setup.dest, setup.agent.url);
    await waitUntil(
      'the agent to be deleting',
      async () => {
        expect(child.exitCode, 'the purge ended before the agent could be killed').toBeNull();
        return (await countFiles(setup.out)) < 1100 ? true : undefined;
      },
      { everyMs: 2 },
    );
    setup.agent.child.kill('SIGKILL');
    await once(setup.agent.child, 'exit');
    await exited;
    expect(child.exitCode, 'the purge saw the agent die').not.toBe(0);
    const left = await countFiles(setup.out);
    expect(left, 'killed in the middle of the purge').toBeGreaterThan(0);
    expect(
      (await catalogRows(setup.dest)).filter((row) => row.purge_outcome === 'requested').length,
    ).toBeGreaterThan(0);

    const agent = await setup.startAgent();
    const { rows } = await expectSettledAfterNextPurge(setup, agent.url, { unknownVanished: true });
    expect(rows.filter((row) => row.purge_outcome === 'unknown:vanished').length).toBeLessThan(10);
  });

  it('agent killed after deleting, before its answer reaches the controller', async () => {
    const setup = await synced(40);
    proxy = await FaultProxy.start(setup.agent.url, { kind: 'stall', direction: 'down', when: PURGE });
    const { child, exited } = spawnPurge(setup.dest, proxy.url);
    await waitUntil(
      'the answer to be held',
      async () => {
        expect(child.exitCode).toBeNull();
        return proxy!.heldBytes > 0 && (await countFiles(setup.out)) === 0 ? true : undefined;
      },
      { everyMs: 20 },
    );
    setup.agent.child.kill('SIGKILL');
    await once(setup.agent.child, 'exit');
    await exited;
    expect(child.exitCode, 'the purge saw the agent die').not.toBe(0);
    const before = await catalogRows(setup.dest);
    const deadRun = before[0]!.purge_run_id;
    expect(before.filter((row) => row.purge_outcome === 'requested')).toHaveLength(40);

    const agent = await setup.startAgent();
    const { rows } = await expectSettledAfterNextPurge(setup, agent.url);
    // The journal the agent made durable before answering names the run that deleted them.
    expect(new Set(rows.map((row) => row.purge_run_id))).toEqual(new Set([deadRun]));
  });
});
