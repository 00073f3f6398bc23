// Incremental passes end to end: after a complete pass the controller asks the agent only for what
// changed since, falls back to the full list when the agent's history is new, and the daemon syncs a
// new file when the agent pushes it, not at the next --interval.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakePng, put, treeDigest } from './helpers/files.js';
import { type Started, TOKEN, startAgent, startProcess, syncJson, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

describe('incremental one-shot passes', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let state: string;
  let agent: Started;

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    state = join(work.path, 'agent-state');
    for (let i = 0; i < 20; i++) await put(out, `2026-11-24/${String(i).padStart(5, '0')}.png`, fakePng(500));
    agent = await startAgent([out], ['--state-dir', state]);
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  const sync = async () => {
    const result = await syncJson(dest, { gpu1: agent.url });
    expect(result.code, result.stderr).toBe(0);
    return result.summary!.agents[0]!;
  };

  it('reads the full list on the first pass and only the changes after it', async () => {
    expect(await sync()).toMatchObject({ manifest: 'full', filesTransferred: 20, errors: 0 });
    expect(await sync()).toMatchObject({
      manifest: 'changes',
      filesTransferred: 0,
      filesUnchanged: 20,
      errors: 0,
    });
  });

  it('pulls a new file, a changed file and nothing for a deleted one from the changes alone', async () => {
    await put(out, '2026-11-25/new.png', fakePng(700, 'new'));
    await put(out, '2026-11-24/00003.png', fakePng(800, 'changed'));
    await rm(join(out, '2026-11-24/00004.png'));
    const result = await waitUntil('the agent to list the new and changed files', async () => {
      const summary = await sync();
      return summary.filesTransferred === 2 ? summary : undefined;
    });
    expect(result).toMatchObject({ manifest: 'changes', filesUnchanged: 18, errors: 0 });
    const stored = await treeDigest(join(dest, 'gpu1', 'output'));
    const source = await treeDigest(out);
    // Every file of the container is on the host; the changed one as a new version beside the old.
    const storedDigests = new Set(stored.values());
    for (const [path, digest] of source) expect(storedDigests.has(digest), path).toBe(true);
    expect(stored.get('2026-11-25/new.png')).toBe(source.get('2026-11-25/new.png'));
    expect([...stored.keys()].filter((path) => path.startsWith('2026-11-24/00003'))).toHaveLength(2);
    // The deleted file's copy stays on the host: a deletion in the container never deletes a copy.
    expect(stored.has('2026-11-24/00004.png')).toBe(true);
    expect(await sync()).toMatchObject({ manifest: 'changes', filesTransferred: 0 });
  });

  it('keeps the position across a clean agent restart with --state-dir', async () => {
    await agent.stop();
    agent = await startAgent([out], ['--state-dir', state]);
    expect(await sync()).toMatchObject({ manifest: 'changes', filesTransferred: 0, errors: 0 });
  });

  it('reads the full list again from an agent whose history is new, and stores nothing twice', async () => {
    agent.child.kill('SIGKILL');
    await new Promise((resolve) => agent.child.once('exit', resolve));
    // A crash voids the positions the agent handed out: it starts a new epoch.
    agent = await startAgent([out], ['--state-dir', state]);
    expect(await sync()).toMatchObject({ manifest: 'full', filesTransferred: 0, filesUnchanged: 20 });
    await agent.stop();
    agent = await startAgent([out]);
    expect(await sync()).toMatchObject({ manifest: 'full', filesTransferred: 0, filesUnchanged: 20 });
    expect(await sync()).toMatchObject({ manifest: 'changes', filesTransferred: 0 });
  });
});

describe('the daemon with pushed changes', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let agent: Started;
  let controller: Started;
  const SETTLE_MS = 1000;

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    await put(out, 'first.png', fakePng(100));
    agent = await startAgent([out], ['--settle', `${SETTLE_MS}ms`]);
    // An interval far longer than the test: only the change channel can bring new files in time.
    controller = await startProcess('controller', [
      '--dest',
      dest,
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

  const stored = (name: string) =>
    treeDigest(join(dest, 'gpu1', 'output')).then((tree) => (tree.has(name) ? true : undefined));

  it('stores a new file within the settle window and a few seconds, without waiting for the interval', async () => {
    await waitUntil('the first pass', () => stored('first.png'));
    for (let i = 0; i < 3; i++) {
      const name = `pushed-${i}.png`;
      const written = Date.now();
      await put(out, name, fakePng(300, name), new Date());
      await waitUntil(`${name} on the host`, () => stored(name), {
        timeoutMs: SETTLE_MS + 10_000,
        everyMs: 50,
      });
      // Generous for a loaded CI machine; the bench measures the real latency.
      expect(Date.now() - written).toBeLessThan(SETTLE_MS + 8_000);
    }
    const response = await fetch(`${controller.url}/v1/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const status = (await response.json()) as { lastRun: { agents: { manifest?: string }[] } };
    expect(status.lastRun.agents[0]!.manifest).toBe('changes');
  });

  it('follows an agent that restarts on the same address', async () => {
    const port = new URL(agent.url).port;
    await agent.stop();
    agent = await startAgent([out], ['--settle', `${SETTLE_MS}ms`, '--port', port]);
    await put(out, 'after-restart.png', fakePng(300, 'after-restart'), new Date());
    // The channel retries after a second, then two: a restarted agent is followed again within seconds.
    await waitUntil('after-restart.png on the host', () => stored('after-restart.png'), {
      timeoutMs: SETTLE_MS + 20_000,
      everyMs: 100,
    });
  });
});
