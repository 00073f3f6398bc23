// Future mtimes and a controller whose clock runs days ahead (faketime): the agent judges age by its own
// clock, so no purge deletes a young file or one dated in the future.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurgeSummary } from '../common/run-results.js';
import { fakePng, put } from './helpers/files.js';
import { expectNothingLost } from './helpers/nothing-lost.js';
import { BIN, PURGE_TOKEN, type Started, TOKEN, startAgent, syncJson, tempDir } from './helpers/processes.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const FAKETIME = spawnSync('faketime', ['-f', '+1d', 'true'], { stdio: 'ignore' }).status === 0;
const suite = FAKETIME || process.env.CI === 'true' ? describe : describe.skip;

/** `forge-sync purge --json` of gpu1, run under `faketime -f <offset>` when one is given. */
async function purgeAt(
  offset: string | null,
  dest: string,
  url: string,
): Promise<{ code: number | null; summary: PurgeSummary; stderr: string }> {
  const args = [BIN, 'purge', '--dest', dest, '--agent', `gpu1=${url}`, '--older-than', '1d', '--json'];
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('FORGE_SYNC_')) env[key] = value;
  Object.assign(env, {
    FORGE_SYNC_TOKEN: TOKEN,
    FORGE_SYNC_PURGE_TOKEN: PURGE_TOKEN,
    FORGE_SYNC_NO_DOCKER: 'true',
  });
  const child = offset
    ? spawn('faketime', ['-f', offset, process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(stdout, stderr).not.toBe('');
  return { code, summary: JSON.parse(stdout) as PurgeSummary, stderr };
}

suite(
  `purge with skewed clocks${FAKETIME ? '' : ' [skipped: no faketime; apt-get install -y faketime]'}`,
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let out: string;
    let dest: string;
    let agent: Started;
    const written = new Map<string, Buffer>();

    beforeAll(async () => {
      if (!FAKETIME) throw new Error('faketime is missing, and CI=true makes that a failure');
      work = await tempDir('fms-clock-');
      out = join(work.path, 'output');
      dest = join(work.path, 'synced');
      const now = Date.now();
      const files: [string, number][] = [
        ['old.png', now - 2 * DAY],
        ['hours-old.png', now - 3 * HOUR],
        ['future.png', now + 3 * DAY],
        ['far-future.png', now + 400 * DAY],
      ];
      for (const [name, mtimeMs] of files) {
        const bytes = fakePng(1000);
        written.set(name, bytes);
        await put(out, name, bytes, new Date(mtimeMs));
      }
      agent = await startAgent([out]);
      const sync = await syncJson(dest, { gpu1: agent.url });
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.summary!.totals).toMatchObject({ filesTransferred: 4, errors: 0 });
    });

    afterAll(async () => {
      await agent?.stop();
      await work?.[Symbol.asyncDispose]();
    });

    it('keeps files dated in the future, with the controller on time', async () => {
      const { code, summary } = await purgeAt(null, dest, agent.url);
      expect(code, JSON.stringify(summary)).toBe(0);
      expect(summary.agents[0]!.purged).toEqual(['output/old.png']);
      expect((await readdir(out)).sort()).toEqual(['far-future.png', 'future.png', 'hours-old.png']);
    });

    it('keeps young and future files when the controller clock runs five days ahead', async () => {
      // To this controller, hours-old.png is five days old and future.png two: both candidates.
      const { code, summary, stderr } = await purgeAt('+5d', dest, agent.url);
      expect(code, stderr).toBe(0);
      const result = summary.agents[0]!;
      expect(result.purged).toEqual([]);
      // The agent's clock says otherwise: hours-old.png is three hours old (too young for the 1d asked
      // for) and future.png is not written yet (below its floor). far-future.png is young even here.
      expect(result.kept).toEqual({ 'too-young': 2, 'below-floor': 1 });
      expect((await readdir(out)).sort()).toEqual(['far-future.png', 'future.png', 'hours-old.png']);
      const counts = await expectNothingLost(dest, [
        { agent: 'gpu1', rootDir: out, rootName: 'output', written },
      ]);
      expect(counts).toMatchObject({ inContainer: 3, onlyOnHost: 1 });
    });

    it('keeps them when the controller clock runs over a year ahead', async () => {
      const { code, summary, stderr } = await purgeAt('+500d', dest, agent.url);
      expect(code, stderr).toBe(0);
      expect(summary.agents[0]!.purged).toEqual([]);
      expect((await readdir(out)).sort()).toEqual(['far-future.png', 'future.png', 'hours-old.png']);
    });
  },
);
