// ChangeFeed against a real agent process: a burst of writes is passed on once, when it is over;
// writes that never stop are still passed on, every burst window.
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakePng, put } from '../../test/helpers/files.js';
import { type Started, TOKEN, startAgent, tempDir } from '../../test/helpers/processes.js';
import { waitUntil } from '../../test/helpers/wait.js';
import type { AgentPosition } from '../catalog/catalog.js';
import { HttpAgentClient } from './agent-client.js';
import type { AgentRef } from './agent-source.js';
import { ChangeFeed } from './change-feed.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ChangeFeed', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;
  let ref: AgentRef;
  let feed: ChangeFeed | undefined;
  let moves: { at: number; position: AgentPosition }[];

  beforeEach(async () => {
    work = await tempDir('change-feed-');
    out = join(work.path, 'output');
    await put(out, 'first.png', fakePng(64, 'first'));
    agent = await startAgent([out]);
    ref = { name: 'gpu1', url: agent.url };
    moves = [];
  });

  afterEach(async () => {
    feed?.close();
    await agent.stop();
    await work[Symbol.asyncDispose]();
  });

  const follow = async (quietMs: number, burstMs: number): Promise<void> => {
    feed = new ChangeFeed({
      clientFor: (a) => new HttpAgentClient(a, TOKEN),
      onChange: (_agent, position) => moves.push({ at: Date.now(), position }),
      logger: pino({ level: 'silent' }),
      quietMs,
      burstMs,
    });
    feed.setAgents([ref]);
    // The position on connecting comes at once.
    await waitUntil('the first position', () => (moves.length === 1 ? true : undefined), { everyMs: 10 });
  };

  const generation = async (): Promise<number> => {
    const answer = await new HttpAgentClient(ref, TOKEN).changes(null, 0);
    return answer.generation;
  };

  it('passes a burst of writes on once, at the position its last write reached', async () => {
    await follow(2_000, 20_000);
    const before = await generation();
    // Written 50 ms apart: the agent takes them in over several refreshes, moving its index each time.
    for (let i = 0; i < 8; i++) {
      await put(out, `burst-${i}.png`, fakePng(64, `burst-${i}`));
      await sleep(50);
    }
    await waitUntil('the burst to be passed on', () => (moves.length > 1 ? true : undefined), {
      timeoutMs: 15_000,
      everyMs: 20,
    });
    const after = await generation();
    expect(after).toBeGreaterThan(before + 1); // it did move more than once
    await sleep(2_500); // a negative: no second signal for the same burst
    expect(moves.map((move) => move.position.generation)).toEqual([before, after]);
  });

  it('still passes writes that never stop on, every burst window', async () => {
    await follow(1_000, 800);
    const started = Date.now();
    for (let i = 0; Date.now() - started < 3_000; i++) {
      await put(out, `stream-${i}.png`, fakePng(64, `stream-${i}`));
      await sleep(50);
    }
    // Without the window the writes would be held back until they stopped: one signal at the end.
    const during = moves.slice(1).filter((move) => move.at < started + 3_000);
    expect(during.length).toBeGreaterThanOrEqual(2);
  });
});
