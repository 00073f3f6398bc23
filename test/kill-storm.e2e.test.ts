// kill -9 of either side at whatever stage it has reached: a sync killed again and again at growing
// delays (manifest, archives, placing, catalog commit, acknowledgement), and an agent killed mid-archive
// and started again. After each kill nothing is lost, nothing half-written is catalogued or left where the
// next start would not remove it, and the last sync stores the exact tree with every file catalogued.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_AGO, fakePng, put, putLarge, treeDigest, untilTempFileGrows } from './helpers/files.js';
import { catalogRows, expectNothingLost } from './helpers/nothing-lost.js';
import { BIN, type Started, TOKEN, startAgent, syncJson, tempDir } from './helpers/processes.js';

describe('kill -9 at any stage', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;
  const written = new Map<string, Buffer>();

  beforeAll(async () => {
    work = await tempDir('fms-kills-');
    out = join(work.path, 'output');
    // Many small files (written in place under a batch journal) and a few larger ones (temp files).
    for (let i = 0; i < 600; i++) written.set(`batch/${String(i).padStart(4, '0')}.png`, fakePng(24 << 10));
    for (let i = 0; i < 3; i++) written.set(`large/${i}.png`, fakePng(3 << 20));
    for (const [rel, bytes] of written) await put(out, rel, bytes, HOUR_AGO());
    agent = await startAgent([out]);
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  const container = () => [{ agent: 'gpu1', rootDir: out, rootName: 'output', written }];

  /**
   * Right after a kill: every file under a final name is catalogued with the bytes written, or named
   * in a batch journal that the next start reads (created in place, maybe cut short, never
   * catalogued: it goes then). The container keeps every file: a sync deletes nothing.
   */
  async function expectOnlyRecoverable(dest: string): Promise<void> {
    const journalDir = join(dest, '.forge-sync/inflight');
    const journalled = new Set<string>();
    for (const name of await readdir(journalDir).catch(() => [] as string[])) {
      const text = await readFile(join(journalDir, name), 'utf8').catch(() => '');
      try {
        for (const stored of (JSON.parse(text) as { names?: string[] }).names ?? []) journalled.add(stored);
      } catch {
        // cut short while written: nothing of it was created yet
      }
    }
    const catalogued = new Map((await catalogRows(dest)).map((row) => [row.stored_path, row]));
    const hostRoot = join(dest, 'gpu1/output');
    for (const entry of await readdir(hostRoot, { recursive: true, withFileTypes: true }).catch(() => [])) {
      if (!entry.isFile()) continue;
      const rel = relative(hostRoot, join(entry.parentPath, entry.name)).split('\\').join('/');
      const stored = `gpu1/output/${rel}`;
      const bytes = await readFile(join(hostRoot, rel));
      const row = catalogued.get(stored);
      if (row) {
        expect(bytes.equals(written.get(rel)!), `${stored} is catalogued with other bytes`).toBe(true);
      } else {
        expect(journalled.has(stored), `${stored} is neither catalogued nor in a batch journal`).toBe(true);
      }
    }
    for (const [rel, bytes] of written) expect((await readFile(join(out, rel))).equals(bytes)).toBe(true);
  }

  it('a sync killed at growing delays loses nothing, and the last one stores the exact tree', async () => {
    const dest = join(work.path, 'dest-storm');
    let killedMidRun = 0;
    for (const delayMs of [150, 400, 700, 1000, 1400, 1900, 2500, 3200]) {
      const child = spawn(process.execPath, [BIN, 'sync', '--dest', dest, '--agent', `gpu1=${agent.url}`], {
        env: { ...process.env, FORGE_SYNC_TOKEN: TOKEN },
        stdio: 'ignore',
      });
      const exited = once(child, 'exit');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const killed = child.kill('SIGKILL');
      const [code] = (await exited) as [number | null];
      // A run that finished before its kill is fine too: it is the end of the storm.
      await expectOnlyRecoverable(dest);
      if (!killed || code === 0) break;
      killedMidRun++;
    }
    const last = await syncJson(dest, { gpu1: agent.url });
    expect(last.code, last.stderr).toBe(0);
    expect(last.summary!.totals.errors).toBe(0);
    expect(await treeDigest(join(dest, 'gpu1/output'))).toEqual(await treeDigest(out));
    expect((await expectNothingLost(dest, container())).onHost).toBe(written.size);
    // The storm is only worth its name if kills landed mid-run, at several stages.
    expect(killedMidRun).toBeGreaterThanOrEqual(3);
  }, 240_000);

  it('an agent killed mid-archive and started again: nothing lost, and the next sync completes', async () => {
    const root = join(work.path, 'output-video');
    const video = await putLarge(root, 'video/clip.mp4.mkv', 300 * 1024 * 1024);
    const videoWritten = new Map([['video/clip.mp4.mkv', await readFile(video)]]);
    const target = await startAgent([root]);
    const dest = join(work.path, 'dest-agent-kill');
    const tmp = join(dest, '.forge-sync/tmp');
    const sync = syncJson(dest, { gpu2: target.url });
    const fakeChild = { exitCode: null as number | null };
    void sync.then(() => (fakeChild.exitCode = 0));
    await untilTempFileGrows(tmp, fakeChild);
    target.child.kill('SIGKILL');
    const result = await sync;
    expect(result.code).not.toBe(0);
    expect(['E_AGENT_UNREACHABLE', 'E_PROTOCOL']).toContain(result.summary!.agents[0]!.error?.code);
    const containerOf = [{ agent: 'gpu2', rootDir: root, rootName: 'output-video', written: videoWritten }];
    expect((await expectNothingLost(dest, containerOf)).onHost).toBe(0);

    const again = await startAgent([root]);
    try {
      const next = await syncJson(dest, { gpu2: again.url });
      expect(next.code, next.stderr).toBe(0);
      expect(await treeDigest(join(dest, 'gpu2/output-video'))).toEqual(await treeDigest(root));
      expect((await expectNothingLost(dest, containerOf)).onHost).toBe(1);
    } finally {
      await again.stop();
      await target.stop().catch(() => undefined);
    }
  }, 240_000);
});
