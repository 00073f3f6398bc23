// Least privilege against real processes: a purge token apart from the read token, receipts that survive a
// restart and are renewed by a purge, and wrong tokens rate-limited on agent and controller.
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { PurgeSummary } from '../common/run-results.js';
import { manifestOf, purgeAuth, purgeDirect, readAuth } from './helpers/agent-api.js';
import { fakePng, put } from './helpers/files.js';
import {
  PURGE_TOKEN,
  type Started,
  TOKEN,
  plainLines,
  runCli,
  startAgent,
  startProcess,
  syncJson,
  tempDir,
} from './helpers/processes.js';

const OLD = new Date(Date.now() - 2 * 24 * 3600_000);

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function purgeJson(dest: string, url: string, env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(
    ['purge', '--dest', dest, '--agent', `gpu1=${url}`, '--older-than', '1d', '--json'],
    env,
  );
  let summary: PurgeSummary | undefined;
  try {
    summary = JSON.parse(result.stdout) as PurgeSummary;
  } catch {
    summary = undefined;
  }
  return { ...result, summary };
}

describe('least privilege', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    work = await tempDir('fms-privilege-');
  });

  afterAll(async () => {
    await work?.[Symbol.asyncDispose]();
  });

  describe('an agent without a purge token', () => {
    let out: string;
    let agent: Started;

    beforeAll(async () => {
      out = join(work.path, 'no-purge/output');
      await put(out, 'a.png', fakePng(100), OLD);
      agent = await startAgent([out], [], { FORGE_SYNC_PURGE_TOKEN: '' });
    });

    afterAll(async () => {
      await agent?.stop();
    });

    it('deletes nothing, whatever token comes, and says why; the controller reports it per agent', async () => {
      const [file] = [...(await manifestOf(agent.url)).values()];
      for (const headers of [readAuth, purgeAuth]) {
        const answer = await purgeDirect(agent.url, { files: [file!] }, headers);
        expect(answer.status).toBe(403);
        expect(answer.error?.message).toMatch(/no purge token.*deletes nothing/);
      }
      const dest = join(work.path, 'no-purge/synced');
      expect((await syncJson(dest, { gpu1: agent.url })).code).toBe(0);
      const purge = await purgeJson(dest, agent.url);
      expect(purge.code).toBe(1);
      expect(purge.summary!.agents[0]!.error?.code).toBe('E_FORBIDDEN');
      expect(await exists(join(out, 'a.png'))).toBe(true);
    });
  });

  it('will not purge without a purge token, and refuses one equal to the read token', async () => {
    const root = join(work.path, 'config-root');
    await mkdir(root, { recursive: true });
    const noToken = await runCli(
      ['purge', '--dest', join(work.path, 'config-dest'), '--agent', 'gpu1=http://127.0.0.1:9'],
      { FORGE_SYNC_PURGE_TOKEN: '' },
    );
    expect(noToken.code).toBe(2);
    expect(plainLines(noToken.stderr).join('\n')).toMatch(
      /purge needs the agents' purge token.*FORGE_SYNC_PURGE_TOKEN/,
    );
    for (const command of [
      ['agent', '--root', root, '--port', '0'],
      ['sync', '--dest', root, '--agent', 'a=http://x'],
    ]) {
      const same = await runCli(command, { FORGE_SYNC_PURGE_TOKEN: TOKEN });
      expect(same.code).toBe(2);
      expect(plainLines(same.stderr).join('\n')).toMatch(/purge token.*equals the read token/);
    }
  });

  describe('receipts', () => {
    it('survive a restart of an agent with --state-dir', async () => {
      const out = join(work.path, 'durable/output');
      const state = join(work.path, 'durable/state');
      await put(out, 'kept.png', fakePng(120), OLD);
      let agent = await startAgent([out], ['--state-dir', state]);
      try {
        const sync = await syncJson(join(work.path, 'durable/synced'), { gpu1: agent.url });
        expect(sync.code, sync.stderr).toBe(0);
        await agent.stop();
        agent = await startAgent([out], ['--state-dir', state]);
        const file = (await manifestOf(agent.url)).get('output/kept.png')!;
        // Acknowledged by the sync before the restart: no stream needed now.
        const answer = await purgeDirect(agent.url, { files: [file] });
        expect(answer.results).toEqual([{ path: 'output/kept.png', outcome: 'purged' }]);
        expect(await exists(join(out, 'kept.png'))).toBe(false);
      } finally {
        await agent.stop();
      }
    });

    it('are renewed by a purge, which streams a stored file again, when the agent lost them', async () => {
      const out = join(work.path, 'renew/output');
      const dest = join(work.path, 'renew/synced');
      await put(out, 'one.png', fakePng(130), OLD);
      await put(out, 'two.png', fakePng(140), OLD);
      let agent = await startAgent([out]);
      try {
        expect((await syncJson(dest, { gpu1: agent.url })).code).toBe(0);
        // Restarted without a state folder: every receipt is gone.
        await agent.stop();
        agent = await startAgent([out]);
        const files = [...(await manifestOf(agent.url)).values()];
        const before = await purgeDirect(agent.url, { dryRun: true, files });
        expect(before.results.map((item) => item.reason)).toEqual(['no-receipt', 'no-receipt']);
        const purge = await purgeJson(dest, agent.url);
        expect(purge.code, purge.stderr).toBe(0);
        expect(purge.summary!.agents[0]!.purged).toEqual(['output/one.png', 'output/two.png']);
        expect(purge.stderr).toContain('receipts refreshed');
        expect(await exists(join(out, 'one.png'))).toBe(false);
      } finally {
        await agent.stop();
      }
    });
  });

  describe('wrong tokens', () => {
    let out: string;
    let agent: Started;
    let controller: Started;

    beforeAll(async () => {
      out = join(work.path, 'limits/output');
      await put(out, 'a.png', fakePng(100), OLD);
      agent = await startAgent([out]);
      controller = await startProcess('controller', [
        '--dest',
        join(work.path, 'limits/synced'),
        '--serve-only',
      ]);
    });

    afterAll(async () => {
      await Promise.all([agent?.stop(), controller?.stop()]);
    });

    /** Sends wrong tokens until the server answers 429; returns how many were refused with 401 before. */
    async function hammer(url: string): Promise<{ refused: number; limited: Response }> {
      for (let refused = 0; refused < 50; refused++) {
        const response = await fetch(url, { headers: { authorization: `Bearer wrong-${refused}` } });
        if (response.status === 429) return { refused, limited: response };
        expect(response.status).toBe(401);
      }
      throw new Error('never rate-limited');
    }

    it('are rate-limited per address on the agent: 429 with Retry-After, even for the right token then', async () => {
      const { refused, limited } = await hammer(`${agent.url}/v1/info`);
      expect(refused).toBeGreaterThanOrEqual(10);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('E_RATE_LIMITED');
      // While limited, a right guess cannot be told from a wrong one.
      expect((await fetch(`${agent.url}/v1/info`, { headers: readAuth })).status).toBe(429);
      expect((await purgeDirect(agent.url, { files: [] })).status).toBe(429);
      const wait = Number(limited.headers.get('retry-after')) * 1000;
      await new Promise((resolve) => setTimeout(resolve, wait + 100));
      expect((await fetch(`${agent.url}/v1/info`, { headers: readAuth })).status).toBe(200);
    });

    it('are rate-limited on the controller, its progress socket included', async () => {
      const { refused, limited } = await hammer(`${controller.url}/v1/status`);
      expect(refused).toBeGreaterThanOrEqual(10);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const auth = { authorization: `Bearer ${TOKEN}` };
      expect((await fetch(`${controller.url}/v1/status`, { headers: auth })).status).toBe(429);
      expect((await fetch(`${controller.url}/metrics`, { headers: auth })).status).toBe(429);
      const status = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`${controller.url.replace('http', 'ws')}/v1/progress`, { headers: auth });
        ws.on('unexpected-response', (_request, response) => resolve(String(response.statusCode)));
        ws.on('open', () => {
          ws.close();
          resolve('open');
        });
      });
      expect(status).toBe('429');
      await new Promise((resolve) =>
        setTimeout(resolve, Number(limited.headers.get('retry-after')) * 1000 + 100),
      );
      expect((await fetch(`${controller.url}/v1/status`, { headers: auth })).status).toBe(200);
      // The purge token reads here too, and is the one that starts a pass.
      const control = { authorization: `Bearer ${PURGE_TOKEN}` };
      expect((await fetch(`${controller.url}/v1/status`, { headers: control })).status).toBe(200);
    });
  });
});
