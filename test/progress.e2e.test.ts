// Live progress end to end: several WebSocket clients watch a real sync; a client that never reads costs nothing; /metrics agrees.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ProgressMessage } from '../common/progress.js';
import type { ControllerStatus } from '../common/run-results.js';
import { fakePng, put, putLarge } from './helpers/files.js';
import { PURGE_TOKEN, type Started, TOKEN, startAgent, startProcess, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const auth = { authorization: `Bearer ${TOKEN}` };
/** Starting a pass is control: the purge token, when one is set. */
const control = { authorization: `Bearer ${PURGE_TOKEN}` };

const until = (condition: () => boolean | Promise<boolean>, what: string, ms = 120_000): Promise<true> =>
  waitUntil(what, async () => ((await condition()) ? true : undefined), { timeoutMs: ms, everyMs: 20 });

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

describe('live progress over /v1/progress', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;
  let controller: Started;

  function listen(): { ws: WebSocket; messages: ProgressMessage[] } {
    const ws = new WebSocket(`${controller.url.replace('http', 'ws')}/v1/progress`, { headers: auth });
    const messages: ProgressMessage[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as ProgressMessage));
    return { ws, messages };
  }

  async function syncNow(): Promise<string> {
    const response = await fetch(`${controller.url}/v1/sync`, { method: 'POST', headers: control });
    return ((await response.json()) as { runId: string }).runId;
  }

  async function finished(runId: string): Promise<ControllerStatus> {
    let status: ControllerStatus | undefined;
    await until(async () => {
      status = (await (
        await fetch(`${controller.url}/v1/status`, { headers: auth })
      ).json()) as ControllerStatus;
      return status.lastRun?.runId === runId && !status.syncing;
    }, `run ${runId}`);
    return status!;
  }

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    await put(out, 'seed.png', fakePng());
    agent = await startAgent([out]);
    controller = await startProcess('controller', [
      '--dest',
      join(work.path, 'synced'),
      '--agent',
      `gpu1=${agent.url}`,
      '--interval',
      '1h',
      // One pass at a time, started by the test: no pass started by an agent's change channel.
      '--no-push',
    ]);
    await until(async () => {
      const status = (await (
        await fetch(`${controller.url}/v1/status`, { headers: auth })
      ).json()) as ControllerStatus;
      return status.lastRun !== null && !status.syncing;
    }, 'the start-up sync');
  }, 180_000);

  afterAll(async () => {
    await controller?.stop();
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it(
    'gives every client a snapshot, monotonic progress, honest ETAs, and a final event equal to the summary',
    { timeout: 240_000 },
    async () => {
      for (let i = 0; i < 40; i++)
        await putLarge(out, `batch1/AnimateDiff_${String(i).padStart(5, '0')}.mkv`, 12 * 1024 * 1024);
      const clients = [listen(), listen(), listen()];
      await until(() => clients.every((client) => client.messages.length > 0), 'snapshots');
      const runId = await syncNow();
      const status = await finished(runId);
      const summary = status.lastRun!.agents[0]!;
      expect(summary).toMatchObject({
        filesTransferred: 40,
        bytesTransferred: 40 * 12 * 1024 * 1024,
        errors: 0,
      });

      for (const { ws, messages } of clients) {
        await until(
          () => messages.some((m) => m.type === 'sync.completed' && m.runId === runId),
          'sync.completed',
        );
        ws.close();
        expect(messages[0]!.type).toBe('snapshot');
        const run = messages.filter((m) => 'runId' in m && m.runId === runId);
        const types = run.map((m) => m.type);
        expect(types.indexOf('scan.started')).toBeLessThan(types.indexOf('sync.started'));
        expect(types.indexOf('sync.started')).toBeLessThan(types.indexOf('sync.completed'));
        expect(types.filter((type) => type === 'file.stored')).toHaveLength(40);
        const progress = run.flatMap((m) =>
          m.type === 'sync.started' || m.type === 'sync.progress' || m.type === 'sync.completed'
            ? [m.progress]
            : [],
        );
        expect(progress.length).toBeGreaterThan(3);
        for (let i = 1; i < progress.length; i++)
          expect(progress[i]!.bytesDone).toBeGreaterThanOrEqual(progress[i - 1]!.bytesDone);
        for (const p of progress) {
          if (p.etaSeconds !== null) expect(p.etaSeconds).toBeGreaterThanOrEqual(0);
          if (p.rateBps !== null) expect(p.rateBps).toBeGreaterThan(0);
        }
        // Once a rate is known, the ETA stays known for the rest of the run.
        const firstKnown = progress.findIndex((p) => p.rateBps !== null);
        if (firstKnown >= 0)
          expect(progress.slice(firstKnown).every((p) => p.etaSeconds !== null)).toBe(true);
        const completed = run.find((m) => m.type === 'sync.completed')!;
        expect(completed.type === 'sync.completed' && completed.result).toEqual(summary);
        expect(completed.type === 'sync.completed' && completed.progress).toMatchObject({
          filesDone: 40,
          bytesDone: summary.bytesTransferred,
        });
      }
    },
  );

  it('keeps its memory and its pace when a client never reads', { timeout: 300_000 }, async () => {
    // Baseline: a sync with no slow client.
    for (let i = 0; i < 600; i++)
      await put(out, `baseline/ComfyUI_${String(i).padStart(5, '0')}_.png`, fakePng(20_000));
    const rssBefore = await rssMiB(controller.child.pid!);
    let started = Date.now();
    await finished(await syncNow());
    const baselineMs = Date.now() - started;

    // Again with a client that connects and then never reads a byte.
    for (let i = 0; i < 600; i++)
      await put(out, `stalled/ComfyUI_${String(i).padStart(5, '0')}_.png`, fakePng(20_000));
    const stalled = listen();
    await until(() => stalled.messages.length > 0, 'the stalled client to connect');
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    let peak = 0;
    const sampler = setInterval(
      () => void rssMiB(controller.child.pid!).then((mib) => (peak = Math.max(peak, mib))),
      50,
    );
    started = Date.now();
    const status = await finished(await syncNow());
    const stalledMs = Date.now() - started;
    clearInterval(sampler);
    stalled.ws.terminate();

    expect(status.lastRun!.agents[0]).toMatchObject({ filesTransferred: 600, errors: 0 });
    expect(peak - rssBefore, `RSS grew from ${rssBefore} MiB to ${peak} MiB`).toBeLessThan(150);
    expect(stalledMs, `baseline ${baselineMs} ms, with a stalled client ${stalledMs} ms`).toBeLessThan(
      baselineMs * 2 + 3000,
    );
  });

  it('counts in /metrics exactly what the summaries say', async () => {
    const status = (await (
      await fetch(`${controller.url}/v1/status`, { headers: auth })
    ).json()) as ControllerStatus;
    expect((await fetch(`${controller.url}/metrics`)).status).toBe(401);
    const text = await (await fetch(`${controller.url}/metrics`, { headers: auth })).text();
    const value = (name: string): number =>
      Number(new RegExp(`^${name}\\{agent="gpu1"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    // 1 at start-up + 40 videos + 600 + 600 images.
    expect(value('forge_sync_files_transferred_total')).toBe(1 + 40 + 1200);
    const bytes = 40 * 12 * 1024 * 1024 + 1200 * (8 + 20_000 + 12) + (8 + 64 + 12);
    expect(value('forge_sync_bytes_transferred_total')).toBe(bytes);
    expect(value('forge_sync_manifest_files')).toBe(1 + 40 + 1200);
    expect(value('forge_sync_files_pending')).toBe(status.lastRun!.agents[0]!.filesPending);
    expect(value('forge_sync_sync_duration_seconds_count')).toBe(4);
    expect(value('forge_sync_last_success_timestamp_seconds')).toBe(
      Date.parse(status.lastRun!.agents[0]!.finishedAt) / 1000,
    );
  });
});
