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
  let agent: Started;

  beforeAll(async () => {
    work = await tempDir();
    const out = join(work.path, 'output');
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
    const afterSecond = await agentStats(agent);
    expect(afterSecond.scans).toBeGreaterThan(afterFirst.scans);
    expect(afterSecond.filesHashed).toBe(FILES);
    expect(afterSecond.bytesHashed).toBe(afterFirst.bytesHashed);
    expect(afterSecond.cacheHits - afterFirst.cacheHits).toBe(FILES);
  });
});
