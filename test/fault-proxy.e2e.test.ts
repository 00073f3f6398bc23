// A real agent behind a proxy of our own that stalls, trickles or cuts the connection part-way, against a
// real `forge-sync sync`: one clear per-agent error (or success, when only slow), nothing lost or half-written,
// and a rerun without the proxy stores the exact tree.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_AGO, fakePng, put, treeDigest } from './helpers/files.js';
import { type Fault, FaultProxy } from './helpers/fault-proxy.js';
import { expectNothingLost } from './helpers/nothing-lost.js';
import { type Started, startAgent, syncJson, tempDir } from './helpers/processes.js';

/** Short bounds, so a stall shows in a second: under 4 KiB in 1 s of waiting is one. */
const LIMITS = { stallMs: 1000, stallBytes: 4096 };
const ARCHIVE = /^POST \/v1\/archive /m;
const MANIFEST = /^GET \/v1\/manifest/m;

describe('sync through a faulty connection', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;
  let proxy: FaultProxy | undefined;
  const written = new Map<string, Buffer>();
  let run = 0;

  beforeAll(async () => {
    work = await tempDir('fms-proxy-');
    out = join(work.path, 'output');
    // Small files (gathered in memory by the controller) and two large ones (streamed to temp files).
    for (let i = 0; i < 12; i++) written.set(`small/${String(i).padStart(2, '0')}.png`, fakePng(150 << 10));
    written.set('video/a.mp4.png', fakePng(1536 << 10));
    written.set('video/b.mp4.png', fakePng(1280 << 10));
    for (const [rel, bytes] of written) await put(out, rel, bytes, HOUR_AGO());
    agent = await startAgent([out]);
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  const container = () => [{ agent: 'gpu1', rootDir: out, rootName: 'output', written }];

  /** A sync of gpu1 through a proxy with `fault` into a fresh --dest; returns gpu1's entry and dest. */
  async function syncThrough(fault: Fault) {
    proxy = await FaultProxy.start(agent.url, fault);
    const dest = join(work.path, `dest-${++run}`);
    const started = Date.now();
    const result = await syncJson(dest, { gpu1: proxy.url }, ['--log-level', 'fatal'], {
      FORGE_SYNC_INTERNAL_AGENT_LIMITS: JSON.stringify(LIMITS),
    });
    const ms = Date.now() - started;
    expect(result.summary, result.stderr).toBeDefined();
    expect(proxy.faulted, 'the fault set in').toBeGreaterThan(0);
    return { result, entry: result.summary!.agents[0]!, dest, ms };
  }

  /** After a failed pass: nothing lost, nothing half-written; then a direct rerun stores the exact tree. */
  async function expectRecovers(dest: string): Promise<void> {
    const counts = await expectNothingLost(dest, container());
    expect(counts.inContainer).toBe(written.size);
    const again = await syncJson(dest, { gpu1: agent.url });
    expect(again.code, again.stderr).toBe(0);
    expect(again.summary!.totals.errors).toBe(0);
    expect(await treeDigest(join(dest, 'gpu1/output'))).toEqual(await treeDigest(out));
    expect((await expectNothingLost(dest, container())).onHost).toBe(written.size);
  }

  it('gives up an archive that stops part-way, keeping the socket open', async () => {
    const { result, entry, dest, ms } = await syncThrough({
      kind: 'stall',
      when: ARCHIVE,
      afterBytes: 1 << 20,
    });
    expect(result.code).not.toBe(0);
    expect(entry.error?.code, JSON.stringify(entry)).toBe('E_AGENT_STALLED');
    expect(ms).toBeLessThan(20_000);
    await expectRecovers(dest);
  });

  it('gives up an archive that trickles below the stall threshold', async () => {
    const { entry, dest, ms } = await syncThrough({
      kind: 'trickle',
      when: ARCHIVE,
      afterBytes: 512 << 10,
      bytes: 64,
      everyMs: 100,
    });
    expect(entry.error?.code, JSON.stringify(entry)).toBe('E_AGENT_STALLED');
    expect(entry.error?.message).toMatch(/less than 4096 bytes in 1 s/);
    expect(ms).toBeLessThan(20_000);
    await expectRecovers(dest);
  });

  it('completes an archive that is slow but above the stall threshold', async () => {
    // 128 KiB every 50 ms, about 2.6 MB/s: far above the threshold, and seconds in all.
    const { result, entry, dest } = await syncThrough({
      kind: 'trickle',
      when: ARCHIVE,
      bytes: 128 << 10,
      everyMs: 50,
    });
    expect(result.code, JSON.stringify(entry)).toBe(0);
    expect(entry).toMatchObject({ ok: true, filesTransferred: written.size, errors: 0 });
    expect(await treeDigest(join(dest, 'gpu1/output'))).toEqual(await treeDigest(out));
    expect((await expectNothingLost(dest, container())).onHost).toBe(written.size);
  });

  it('fails the agent when the connection is cut in the middle of a file, and leaves no part of it', async () => {
    // 2.5 MiB in: past the small files (about 1.8 MiB together), inside a large one.
    const { result, entry, dest } = await syncThrough({
      kind: 'cut',
      when: ARCHIVE,
      afterBytes: 2560 << 10,
    });
    expect(result.code).not.toBe(0);
    expect(entry.error?.code, JSON.stringify(entry)).toMatch(/^E_(PROTOCOL|AGENT_UNREACHABLE)$/);
    expect(entry.error?.message).toBeTruthy();
    await expectRecovers(dest);
  });

  it('fails the agent when the manifest is cut short, and stores nothing from it', async () => {
    const { entry, dest } = await syncThrough({ kind: 'cut', when: MANIFEST, afterBytes: 900 });
    expect(entry.error?.code, JSON.stringify(entry)).toMatch(/^E_(PROTOCOL|AGENT_UNREACHABLE)$/);
    expect(entry.filesTransferred).toBe(0);
    await expectRecovers(dest);
  });
});
