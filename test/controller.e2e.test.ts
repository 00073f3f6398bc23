// The controller daemon: syncs at start, serves /v1/status and /v1/sync behind the token, never runs two passes at once.
import { once } from 'node:events';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../common/run-results.js';
import { fakePng, put } from './helpers/files.js';
import {
  PURGE_TOKEN,
  type Started,
  TOKEN,
  freePort,
  startAgent,
  startProcess,
  tempDir,
} from './helpers/processes.js';

const auth = { authorization: `Bearer ${TOKEN}` };
const control = { authorization: `Bearer ${PURGE_TOKEN}` };

describe('forge-sync controller', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;
  let controller: Started;

  async function status(): Promise<ControllerStatus> {
    const response = await fetch(`${controller.url}/v1/status`, { headers: auth });
    expect(response.status).toBe(200);
    return (await response.json()) as ControllerStatus;
  }

  async function waitForRun(runId?: string): Promise<ControllerStatus> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const current = await status();
      if (current.lastRun && (!runId || current.lastRun.runId === runId) && !current.syncing) return current;
      expect(Date.now(), 'sync run did not finish in time').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    for (let i = 0; i < 3; i++) await put(out, `ComfyUI_0000${i}_.png`, fakePng(100));
    agent = await startAgent([out]);
    controller = await startProcess('controller', [
      '--dest',
      join(work.path, 'synced'),
      '--agent',
      `gpu1=${agent.url}`,
      '--interval',
      '1h',
    ]);
  });

  afterAll(async () => {
    await controller?.stop();
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('syncs at start and reports it in /v1/status', async () => {
    const current = await waitForRun();
    expect(current.agents).toHaveLength(1);
    expect(current.agents[0]).toMatchObject({
      name: 'gpu1',
      state: 'idle',
      last: { filesTransferred: 3, errors: 0 },
    });
    expect(current.lastRun!.totals).toMatchObject({ filesTransferred: 3, filesUnchanged: 0, errors: 0 });
  });

  it('guards its API with the token, but not health', async () => {
    expect((await fetch(`${controller.url}/v1/status`)).status).toBe(401);
    expect(
      (
        await fetch(`${controller.url}/v1/sync`, {
          method: 'POST',
          headers: { authorization: 'Bearer wrong' },
        })
      ).status,
    ).toBe(401);
    expect((await fetch(`${controller.url}/v1/health`)).status).toBe(200);
  });

  it('syncs on POST /v1/sync and does not start a second pass while one runs', async () => {
    // The read token reads; starting a pass takes the purge token.
    const asReader = await fetch(`${controller.url}/v1/sync`, { method: 'POST', headers: auth });
    expect(asReader.status).toBe(403);
    await put(out, 'ComfyUI_00010_.png', fakePng(100));
    const first = await fetch(`${controller.url}/v1/sync`, { method: 'POST', headers: control });
    expect(first.status).toBe(202);
    const started = (await first.json()) as { started: boolean; runId: string };
    expect(started.started).toBe(true);
    const second = (await (
      await fetch(`${controller.url}/v1/sync`, { method: 'POST', headers: control })
    ).json()) as {
      started: boolean;
      runId: string;
    };
    expect(second).toEqual({ started: false, runId: started.runId });

    const current = await waitForRun(started.runId);
    expect(current.lastRun!.totals).toMatchObject({ filesTransferred: 1, filesUnchanged: 3, errors: 0 });
  });

  it('stops cleanly on SIGTERM and releases the destination lock', async () => {
    controller.child.kill('SIGTERM');
    const [code] = (await once(controller.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    await expect(access(join(work.path, 'synced/.forge-sync/lock'))).rejects.toThrow();
  });
});

describe('forge-sync controller with --purge-after', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;
  let controller: Started;

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    for (let i = 0; i < 4; i++) await put(out, `2026-11-22/ComfyUI_0000${i}_.png`, fakePng(100), twoDaysAgo);
    await put(out, 'ComfyUI_00009_.png', fakePng(100), new Date(Date.now() - 3_600_000 * 2));
    agent = await startAgent([out]);
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    controller = await startProcess('controller', [
      '--dest',
      join(work.path, 'synced'),
      '--agent',
      `gpu1=${agent.url}`,
      '--agent',
      `gpu2=${unreachable}`,
      '--interval',
      '1h',
      '--purge-after',
      '1d',
      '--purge-interval',
      '1h',
    ]);
  });

  afterAll(async () => {
    await controller?.stop();
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('purges what the first sync stored and is old enough, and refuses the agent whose sync failed', async () => {
    const deadline = Date.now() + 60_000;
    let current: ControllerStatus;
    for (;;) {
      const response = await fetch(`${controller.url}/v1/status`, { headers: auth });
      current = (await response.json()) as ControllerStatus;
      if (current.lastPurge) break;
      expect(Date.now(), 'no purge pass in time').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [gpu1, gpu2] = current.lastPurge!.agents;
    expect(gpu1).toMatchObject({ name: 'gpu1', ok: true, filesPurged: 4, kept: { 'too-young': 1 } });
    expect(gpu2).toMatchObject({
      name: 'gpu2',
      ok: false,
      filesPurged: 0,
      error: { code: 'E_PURGE_REFUSED' },
    });
    expect(await readdir(out)).toEqual(['ComfyUI_00009_.png']);
    const stored = await readdir(join(work.path, 'synced/gpu1/output/2026-11-22'));
    expect(stored.sort()).toEqual([0, 1, 2, 3].map((i) => `ComfyUI_0000${i}_.png`));
  });
});
