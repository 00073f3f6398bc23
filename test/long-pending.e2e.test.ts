// A file an agent never offers (a PNG that never gets its IEND) is reported with its reason in sync --json and the agent's /v1/info.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PENDING_REASONS } from '../agent/scanner.js';
import type { LongPendingFile } from '../common/protocol.js';
import { fakePng, put, truncatedPng } from './helpers/files.js';
import { type Started, TOKEN, startAgent, syncJson, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

describe('files pending too long', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    await put(out, 'ComfyUI_00007_.png', truncatedPng(200));
    await put(out, 'ok.png', fakePng(64));
    agent = await startAgent([out], ['--pending-report', '1s']);
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('names the file and why on every pass, once it waited longer than --pending-report', async () => {
    const dest = join(work.path, 'synced');
    const first = await syncJson(dest, { gpu1: agent.url });
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary!.agents[0]).toMatchObject({ filesTransferred: 1, filesPending: 1 });
    const reported = await waitUntil('the stuck PNG to be reported', async () => {
      const pass = await syncJson(dest, { gpu1: agent.url });
      const agentResult = pass.summary!.agents[0] as { longPending?: LongPendingFile[] };
      return agentResult.longPending?.length ? { agentResult, stderr: pass.stderr } : undefined;
    });
    expect(reported.agentResult.longPending).toEqual([
      {
        path: 'output/ComfyUI_00007_.png',
        reason: PENDING_REASONS.incomplete,
        pendingForMs: expect.any(Number),
      },
    ]);
    expect(reported.stderr).toContain('files held back by the agent for longer than its limit');
    const status = (await (
      await fetch(`${agent.url}/v1/info`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { stats: { longPending: LongPendingFile[] } };
    expect(status.stats.longPending.map((file) => file.path)).toEqual(['output/ComfyUI_00007_.png']);
  });
});
