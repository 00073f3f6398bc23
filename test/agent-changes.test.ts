// The agent's change journal over HTTP: incremental manifests (`?since=G&epoch=E`), the `/v1/changes`
// long poll, and epochs across a clean stop and a crash of a real agent with --state-dir.
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangesResponse, InfoResponse, ManifestLine } from '../common/protocol.js';
import { fakePng, put } from './helpers/files.js';
import { type Started, TOKEN, startAgent, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const auth = { authorization: `Bearer ${TOKEN}` };

type Header = Extract<ManifestLine, { type: 'header' }>;
type End = Extract<ManifestLine, { type: 'end' }>;

interface Manifest {
  header: Header;
  files: string[];
  removed: string[];
  end: End;
}

async function manifest(agent: Started, query = ''): Promise<Manifest> {
  const response = await fetch(`${agent.url}/v1/manifest${query}`, { headers: auth });
  expect(response.status).toBe(200);
  const lines = (await response.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ManifestLine)
    .filter((line) => line.type !== 'scan');
  const header = lines.shift();
  const end = lines.pop();
  expect(header?.type).toBe('header');
  expect(end?.type).toBe('end');
  return {
    header: header as Header,
    end: end as End,
    files: lines.flatMap((line) => (line.type === 'file' ? [line.path] : [])).sort(),
    removed: lines.flatMap((line) => (line.type === 'removed' ? [line.path] : [])).sort(),
  };
}

async function changes(agent: Started, query: string): Promise<ChangesResponse> {
  const response = await fetch(`${agent.url}/v1/changes${query}`, { headers: auth });
  expect(response.status).toBe(200);
  return (await response.json()) as ChangesResponse;
}

async function info(agent: Started): Promise<InfoResponse> {
  return (await (await fetch(`${agent.url}/v1/info`, { headers: auth })).json()) as InfoResponse;
}

/** Where the agent's index is, once it has settled on `files` listed files. */
function positionWith(agent: Started, files: number): Promise<ChangesResponse> {
  return waitUntil(
    `the agent to list ${files} files`,
    async () => {
      const now = await changes(agent, '');
      return now.files === files && now.pending === 0 ? now : undefined;
    },
    { timeoutMs: 10_000, everyMs: 50 },
  );
}

describe('agent change journal', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    await put(out, 'a.png', fakePng(500));
    await put(out, 'sub/b.png', fakePng(500));
    agent = await startAgent([out]);
  });
  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('lists its capabilities and its epoch', async () => {
    const { capabilities, stats } = await info(agent);
    expect(capabilities).toEqual(expect.arrayContaining(['manifest-since', 'changes']));
    const full = await manifest(agent);
    expect(full.header).toMatchObject({ since: null, epoch: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(full.files).toEqual(['output/a.png', 'output/sub/b.png']);
    expect(full.header.generation).toBeGreaterThanOrEqual(1);
    expect(full.end).toMatchObject({ generation: full.header.generation, files: 2 });
    expect(stats.epoch).toBe(full.header.epoch);
  });

  it('answers ?since=G&epoch=E with the files added and removed after G', async () => {
    const start = await manifest(agent);
    const { epoch, generation } = start.header;

    await put(out, 'sub/new.png', fakePng(500));
    const added = await waitUntil(
      'sub/new.png in an incremental manifest',
      async () => {
        const m = await manifest(agent, `?since=${generation}&epoch=${epoch}`);
        return m.files.length > 0 ? m : undefined;
      },
      { timeoutMs: 10_000, everyMs: 50 },
    );
    expect(added.header).toMatchObject({ since: generation, epoch });
    expect(added.header.generation).toBeGreaterThan(generation);
    expect(added.files).toEqual(['output/sub/new.png']);
    expect(added.removed).toEqual([]);
    expect(added.end).toMatchObject({ generation: added.header.generation, files: 3 });

    const after = added.header.generation;
    await rm(join(out, 'a.png'));
    const removed = await waitUntil(
      'a.png removed in an incremental manifest',
      async () => {
        const m = await manifest(agent, `?since=${after}&epoch=${epoch}`);
        return m.removed.length > 0 ? m : undefined;
      },
      { timeoutMs: 10_000, everyMs: 50 },
    );
    expect(removed.header).toMatchObject({ since: after, epoch });
    expect(removed.files).toEqual([]);
    expect(removed.removed).toEqual(['output/a.png']);
    expect(removed.end.files).toBe(2);

    // From the first position, both changes at once.
    const both = await manifest(agent, `?since=${generation}&epoch=${epoch}`);
    expect([both.files, both.removed]).toEqual([['output/sub/new.png'], ['output/a.png']]);
    // At the current position, nothing.
    const none = await manifest(agent, `?since=${removed.header.generation}&epoch=${epoch}`);
    expect(none.header.since).toBe(removed.header.generation);
    expect([none.files, none.removed]).toEqual([[], []]);
  });

  it('answers a position it cannot follow with a full manifest', async () => {
    const { header } = await manifest(agent);
    for (const query of [
      `?since=${header.generation}&epoch=000000000000`,
      `?since=${header.generation + 1}&epoch=${header.epoch}`,
      `?since=999999999&epoch=${header.epoch}`,
    ]) {
      const m = await manifest(agent, query);
      expect(m.header, query).toMatchObject({ since: null, epoch: header.epoch });
      expect(m.files, query).toEqual(['output/sub/b.png', 'output/sub/new.png']);
      expect(m.removed, query).toEqual([]);
    }
  });

  it.each([
    '/v1/manifest?since=1',
    '/v1/manifest?epoch=abcdefabcdef',
    '/v1/manifest?since=abc&epoch=abcdefabcdef',
    '/v1/manifest?since=-1&epoch=abcdefabcdef',
    '/v1/manifest?since=1.5&epoch=abcdefabcdef',
    '/v1/manifest?since=&epoch=abcdefabcdef',
    '/v1/manifest?since=1&epoch=',
    `/v1/manifest?since=1&epoch=${'e'.repeat(65)}`,
    '/v1/changes?after=1',
    '/v1/changes?epoch=abcdefabcdef',
    '/v1/changes?after=x&epoch=abcdefabcdef',
    '/v1/changes?wait=abc',
    '/v1/changes?wait=-5',
    '/v1/changes?after=1&epoch=abcdefabcdef&wait=1e3',
  ])('rejects %s with E_BAD_REQUEST', async (path) => {
    const response = await fetch(`${agent.url}${path}`, { headers: auth });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('E_BAD_REQUEST');
  });

  it('holds /v1/changes until a new settled file is listed', async () => {
    const now = await positionWith(agent, 2);
    const asked = Date.now();
    const held = changes(agent, `?epoch=${now.epoch}&after=${now.generation}&wait=5000`);
    const early = await Promise.race([
      held.then(() => 'answered'),
      new Promise((resolve) => setTimeout(() => resolve('held'), 300)),
    ]);
    expect(early).toBe('held');

    const written = Date.now();
    await put(out, 'late.png', fakePng(500));
    const answer = await held;
    const answeredAt = Date.now();
    expect(answer).toMatchObject({ protocol: 1, epoch: now.epoch, files: 3 });
    expect(answer.generation).toBeGreaterThan(now.generation);
    expect(answeredAt - written).toBeLessThan(2_500);
    expect(answeredAt - asked).toBeLessThan(4_000);
  });

  it('answers /v1/changes at once when the position is behind or from another epoch', async () => {
    const now = await positionWith(agent, 3);
    for (const query of [
      `?epoch=${now.epoch}&after=${now.generation - 1}&wait=5000`,
      `?epoch=000000000000&after=${now.generation}&wait=5000`,
      `?epoch=${now.epoch}&after=${now.generation}`,
      '',
    ]) {
      const asked = Date.now();
      const answer = await changes(agent, query);
      expect(Date.now() - asked, query).toBeLessThan(1_000);
      expect(answer, query).toMatchObject({ epoch: now.epoch, generation: now.generation, files: 3 });
    }
  });

  it('answers /v1/changes after the wait when nothing changes', async () => {
    const now = await positionWith(agent, 3);
    const asked = Date.now();
    const answer = await changes(agent, `?epoch=${now.epoch}&after=${now.generation}&wait=400`);
    const took = Date.now() - asked;
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(3_000);
    expect(answer).toEqual({ ...now, protocol: 1 });
  });
});

describe('agent epoch across restarts', () => {
  it('keeps its epoch after a clean stop and starts a new one after a crash', async () => {
    await using work = await tempDir();
    const out = join(work.path, 'output');
    const state = join(work.path, 'state');
    await put(out, 'a.png', fakePng(500));
    const start = () => startAgent([out], ['--state-dir', state]);
    const running: Started[] = [];
    try {
      const first = await start();
      running.push(first);
      const before = (await manifest(first)).header;
      expect(before.generation).toBeGreaterThanOrEqual(1);
      await first.stop();

      // Clean stop: same epoch and generation, so the old position still counts.
      const second = await start();
      running.push(second);
      const kept = await manifest(second, `?since=${before.generation}&epoch=${before.epoch}`);
      expect(kept.header).toMatchObject({ epoch: before.epoch, generation: before.generation });
      expect(kept.header.since).toBe(before.generation);
      expect([kept.files, kept.removed]).toEqual([[], []]);
      second.child.kill('SIGKILL');
      await once(second.child, 'exit');

      // Crash: a new epoch, and the old position gets a full manifest.
      const third = await start();
      running.push(third);
      const fresh = await manifest(third, `?since=${before.generation}&epoch=${before.epoch}`);
      expect(fresh.header.epoch).not.toBe(before.epoch);
      expect(fresh.header.since).toBeNull();
      expect(fresh.files).toEqual(['output/a.png']);
      expect((await info(third)).stats.epoch).toBe(fresh.header.epoch);
      await third.stop();

      // That new epoch survives a clean stop even though nothing changed in between.
      const fourth = await start();
      running.push(fourth);
      expect((await manifest(fourth)).header.epoch).toBe(fresh.header.epoch);
    } finally {
      for (const agent of running) await agent.stop();
    }
  });
});
