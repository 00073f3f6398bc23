// The live recent-files list is fed per file as each is placed, not in one burst after the batch's catalog commit.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ProgressMessage } from '../common/progress.js';
import type { ControllerStatus } from '../common/run-results.js';
import { fakePng, put, putLarge } from './helpers/files.js';
import { PURGE_TOKEN, type Started, TOKEN, startAgent, startProcess, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const auth = { authorization: `Bearer ${TOKEN}` };
const FILES = 30;

describe('file.stored on /v1/progress', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;
  let controller: Started;

  const status = async (): Promise<ControllerStatus> =>
    (await (await fetch(`${controller.url}/v1/status`, { headers: auth })).json()) as ControllerStatus;

  beforeAll(async () => {
    work = await tempDir('fms-live-');
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
      '--no-push',
    ]);
    await waitUntil('the start-up sync', async () => {
      const s = await status();
      return s.lastRun && !s.syncing ? true : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('arrives as files are placed, between the progress updates of their one batch', async () => {
    // 30 × 4 MiB: one archive batch (the default is 256 MiB), long enough for several progress ticks.
    for (let i = 0; i < FILES; i++)
      await putLarge(out, `video/clip_${String(i).padStart(3, '0')}.mkv`, 4 * 1024 * 1024);
    const ws = new WebSocket(`${controller.url.replace('http', 'ws')}/v1/progress`, { headers: auth });
    const messages: ProgressMessage[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as ProgressMessage));
    await new Promise((resolve) => ws.once('open', resolve));
    const response = await fetch(`${controller.url}/v1/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PURGE_TOKEN}` },
    });
    const { runId } = (await response.json()) as { runId: string };
    await waitUntil(
      'the pass to complete',
      () => (messages.some((m) => m.type === 'sync.completed' && m.runId === runId) ? true : undefined),
      { timeoutMs: 120_000, everyMs: 20 },
    );
    ws.close();
    const ofRun = messages.filter((m) => 'runId' in m && m.runId === runId);
    const stored = ofRun.map((m, i) => (m.type === 'file.stored' ? i : -1)).filter((i) => i >= 0);
    expect(stored).toHaveLength(FILES);
    // Before: all 30 came in one burst after the commit, with nothing in between.
    const between = ofRun.slice(stored[0], stored.at(-1)).filter((m) => m.type === 'sync.progress');
    expect(between.length).toBeGreaterThan(0);
  }, 180_000);
});
