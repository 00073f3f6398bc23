// A real agent stopped with SIGSTOP in the middle of an archive: the controller gives it up as stalled
// within its bound (not after minutes), nothing is lost or half-written, and once the agent runs again
// the next sync stores the exact tree.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncSummary } from '../common/run-results.js';
import { HOUR_AGO, fakePng, put, putLarge, treeDigest, untilTempFileGrows } from './helpers/files.js';
import { expectNothingLost } from './helpers/nothing-lost.js';
import { BIN, type Started, TOKEN, startAgent, syncJson, tempDir } from './helpers/processes.js';

/** Under 4 KiB in 2 s of waiting is a stall: short, so the test needs seconds, not the minute an operator gets. */
const LIMITS = { stallMs: 2000, stallBytes: 4096 };

describe('agent stopped with SIGSTOP mid-archive', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;
  const written = new Map<string, Buffer>();

  beforeAll(async () => {
    work = await tempDir('fms-sigstop-');
    out = join(work.path, 'output');
    for (let i = 0; i < 6; i++) written.set(`small/${i}.png`, fakePng(64 << 10));
    await putLarge(out, 'video/clip.mp4.mkv', 300 * 1024 * 1024);
    written.set('video/clip.mp4.mkv', await readFile(join(out, 'video/clip.mp4.mkv')));
    for (const [rel, bytes] of written) if (!rel.startsWith('video/')) await put(out, rel, bytes, HOUR_AGO());
    agent = await startAgent([out]);
  });

  afterAll(async () => {
    if (agent?.child.pid) process.kill(agent.child.pid, 'SIGCONT');
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('gives the agent up as stalled within seconds, loses nothing, and resumes when it runs again', async () => {
    const dest = join(work.path, 'dest');
    const tmp = join(dest, '.forge-sync/tmp');
    const child = spawn(
      process.execPath,
      [BIN, 'sync', '--dest', dest, '--agent', `gpu1=${agent.url}`, '--json', '--log-level', 'fatal'],
      {
        env: {
          ...process.env,
          FORGE_SYNC_TOKEN: TOKEN,
          FORGE_SYNC_INTERNAL_AGENT_LIMITS: JSON.stringify(LIMITS),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const exited = once(child, 'exit');
    // The large file is under way: its temp file holds some bytes.
    await untilTempFileGrows(tmp, child);
    process.kill(agent.child.pid!, 'SIGSTOP');
    const stoppedAt = Date.now();
    const [code] = (await exited) as [number | null];
    const gaveUpMs = Date.now() - stoppedAt;
    process.kill(agent.child.pid!, 'SIGCONT');

    expect(code).not.toBe(0);
    const summary = JSON.parse(stdout) as SyncSummary;
    expect(summary.agents[0]!.error?.code, stdout).toBe('E_AGENT_STALLED');
    // The stall bound plus the time to wind down, not the default minute.
    expect(gaveUpMs).toBeLessThan(20_000);
    const container = [{ agent: 'gpu1', rootDir: out, rootName: 'output', written }];
    const counts = await expectNothingLost(dest, container);
    // A sync deletes nothing: every file is still in the container.
    expect(counts.inContainer).toBe(written.size);
    await expect(stat(join(dest, 'gpu1/output/video/clip.mp4.mkv'))).rejects.toThrow();

    const again = await syncJson(dest, { gpu1: agent.url });
    expect(again.code, again.stderr).toBe(0);
    expect(again.summary!.totals.errors).toBe(0);
    expect(await treeDigest(join(dest, 'gpu1/output'))).toEqual(await treeDigest(out));
    expect((await expectNothingLost(dest, container)).onHost).toBe(written.size);
  }, 180_000);
});
