// A 10k-file tree: the first sync pulls it all, the second re-hashes nothing, as the agent's counters show.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InfoResponse } from '../common/protocol.js';
import { fakePng, put } from './helpers/files.js';
import { type Started, TOKEN, startAgent, syncJson, tempDir } from './helpers/processes.js';

const FILES = 10_000;

async function agentStats(agent: Started): Promise<InfoResponse['stats']> {
  const response = await fetch(`${agent.url}/v1/info`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return ((await response.json()) as InfoResponse).stats;
}

describe(`a ${FILES}-file tree`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    const writes: Promise<string>[] = [];
    for (let i = 0; i < FILES; i++) {
      const day = `2026-11-${String(10 + (i % 20)).padStart(2, '0')}`;
      writes.push(
        put(
          out,
          `txt2img-images/${day}/${String(i).padStart(5, '0')}-${1000 + i}.png`,
          fakePng(32, `file-${i}`),
        ),
      );
      if (writes.length === 500) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    agent = await startAgent([out], ['--state-dir', join(work.path, 'state')]);
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('re-hashes nothing on the second sync of an unchanged tree', { timeout: 300_000 }, async () => {
    const dest = join(work.path, 'synced');
    const first = await syncJson(dest, { gpu1: agent.url });
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary!.totals).toMatchObject({ filesTransferred: FILES, errors: 0 });
    const afterFirst = await agentStats(agent);
    expect(afterFirst.filesHashed).toBe(FILES);

    const second = await syncJson(dest, { gpu1: agent.url });
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary!.totals).toMatchObject({ filesTransferred: 0, filesUnchanged: FILES, errors: 0 });
    // The agent's watch keeps its index current: the second pass reads the changes (none), no scan.
    expect(second.summary!.agents[0]!.manifest).toBe('changes');
    const afterSecond = await agentStats(agent);
    expect(afterSecond.scans).toBe(afterFirst.scans);
    expect(afterSecond.filesHashed).toBe(FILES);
    expect(afterSecond.bytesHashed).toBe(afterFirst.bytesHashed);

    // Restarted on its state folder, the agent's first scan finds every hash in its index.
    await agent.stop();
    agent = await startAgent([out], ['--state-dir', join(work.path, 'state')]);
    const third = await syncJson(dest, { gpu1: agent.url });
    expect(third.code, third.stderr).toBe(0);
    expect(third.summary!.totals).toMatchObject({ filesTransferred: 0, filesUnchanged: FILES, errors: 0 });
    expect(third.summary!.agents[0]!.manifest).toBe('changes');
    const afterRestart = await agentStats(agent);
    expect(afterRestart.filesHashed).toBe(0);
    expect(afterRestart.cacheHits).toBe(FILES);
  });
});
