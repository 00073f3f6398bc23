// The per-agent fan-out: results in the agents' order, lease and lock skips, the hooks around each turn, the concurrency bound.
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AgentRef } from './agent-source.js';
import { type FanOut, forEachAgent, newRunId } from './fan-out.js';

const agents = (...names: string[]): AgentRef[] =>
  names.map((name) => ({ name, url: `http://${name}:8484` }));

/** A logger whose JSON lines are kept, to see what each agent's child logged. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** A fan-out whose work returns `done <agent>` and whose skipped result is `skipped <agent>`, recording every call. */
function recordingFan(
  overrides: Partial<FanOut<string>> & { leaseRefuses?: readonly string[]; concurrency?: number } = {},
): {
  fan: FanOut<string>;
  calls: string[];
  lines: Record<string, unknown>[];
} {
  const calls: string[] = [];
  const { logger, lines } = capturingLogger();
  const { leaseRefuses = [], concurrency = 4, ...rest } = overrides;
  const fan: FanOut<string> = {
    what: 'sync',
    runId: 'run00001',
    context: {
      concurrency,
      logger,
      catalog: {
        withAgentLease: async <T>(agent: string, work: () => Promise<T>): Promise<T | null> => {
          calls.push(`lease ${agent}`);
          return leaseRefuses.includes(agent) ? null : work();
        },
      },
    },
    onStart: (agent) => void calls.push(`start ${agent.name}`),
    work: async (agent) => {
      calls.push(`work ${agent.name}`);
      return `done ${agent.name}`;
    },
    skipped: (agent) => `skipped ${agent.name}`,
    onResult: async (agent, result) => void calls.push(`result ${agent.name}: ${result}`),
    ...rest,
  };
  return { fan, calls, lines };
}

describe('forEachAgent', () => {
  it.each<{
    name: string;
    leaseRefuses?: string[];
    lockSkips?: string[];
    results: string[];
    /** Every hook, lease and work call, in order, comma-separated. */
    calls: string;
  }>([
    {
      name: 'every agent free: each works once, in turn',
      results: ['done a', 'done b'],
      calls: 'start a, lease a, work a, result a: done a, start b, lease b, work b, result b: done b',
    },
    {
      name: 'another controller holds the lease of b: b is skipped, not failed',
      leaseRefuses: ['b'],
      results: ['done a', 'skipped b'],
      calls: 'start a, lease a, work a, result a: done a, start b, lease b, result b: skipped b',
    },
    {
      name: 'the lock skips a: no turn, no result, and it is left out of the results',
      lockSkips: ['a'],
      results: ['done b'],
      calls: 'start b, lease b, work b, result b: done b',
    },
    {
      name: 'the lock skips both',
      lockSkips: ['a', 'b'],
      results: [],
      calls: '',
    },
  ])('$name', async ({ leaseRefuses = [], lockSkips = [], results, calls: expected }) => {
    const { fan, calls } = recordingFan({
      concurrency: 1,
      leaseRefuses,
      exclusive: async (agent, work) => (lockSkips.includes(agent.name) ? null : work()),
    });
    expect(await forEachAgent(agents('a', 'b'), fan)).toEqual(results);
    expect(calls.join(', ')).toBe(expected);
  });

  it('runs at once without an exclusive lock', async () => {
    const { fan, calls } = recordingFan({ exclusive: undefined, onStart: undefined, onResult: undefined });
    expect(await forEachAgent(agents('a'), fan)).toEqual(['done a']);
    expect(calls).toEqual(['lease a', 'work a']);
  });

  it('calls onResult outside the lock, after the agent’s turn has ended', async () => {
    const events: string[] = [];
    const { fan } = recordingFan({
      exclusive: async (_agent, work) => {
        events.push('lock taken');
        const result = await work();
        events.push('lock released');
        return result;
      },
      onResult: async () => void events.push('result'),
    });
    await forEachAgent(agents('a'), fan);
    expect(events).toEqual(['lock taken', 'lock released', 'result']);
  });

  it('returns the results in the agents’ order, whatever order they finish in', async () => {
    const gates = new Map(['a', 'b', 'c'].map((name) => [name, gate()]));
    const finished: string[] = [];
    const { fan } = recordingFan({
      work: async (agent) => {
        await gates.get(agent.name)!.promise;
        finished.push(agent.name);
        return `done ${agent.name}`;
      },
    });
    const run = forEachAgent(agents('a', 'b', 'c'), fan);
    for (const name of ['c', 'a', 'b']) {
      gates.get(name)!.open();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await run).toEqual(['done a', 'done b', 'done c']);
    expect(finished).toEqual(['c', 'a', 'b']);
  });

  it.each([1, 2, 3])('has at most %i agents in flight', async (concurrency) => {
    let inFlight = 0;
    let most = 0;
    const { fan } = recordingFan({
      concurrency,
      work: async (agent) => {
        most = Math.max(most, ++inFlight);
        // Yield a few turns so the others get the chance to start while this one runs.
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return `done ${agent.name}`;
      },
    });
    const results = await forEachAgent(agents('a', 'b', 'c', 'd', 'e', 'f'), fan);
    expect(results).toHaveLength(6);
    expect(most).toBe(concurrency);
  });

  it('gives each agent’s work a child logger naming the agent and run, and logs a lease skip there', async () => {
    const bindings: Record<string, unknown>[] = [];
    const { fan, lines } = recordingFan({
      what: 'purge',
      leaseRefuses: ['b'],
      work: async (agent, logger) => {
        bindings.push(logger.bindings());
        return `done ${agent.name}`;
      },
    });
    await forEachAgent(agents('a', 'b'), fan);
    expect(bindings).toEqual([{ agent: 'a', runId: 'run00001' }]);
    expect(lines).toEqual([
      expect.objectContaining({
        agent: 'b',
        runId: 'run00001',
        msg: 'purge skipped: another controller is syncing or purging this agent',
      }),
    ]);
  });

  it('rethrows a failing agent’s error', async () => {
    const { fan } = recordingFan({
      work: async (agent) => {
        if (agent.name === 'b') throw new Error('b broke');
        return `done ${agent.name}`;
      },
    });
    await expect(forEachAgent(agents('a', 'b'), fan)).rejects.toThrow('b broke');
  });
});

describe('newRunId', () => {
  it('is 8 hex digits, new each time', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newRunId()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}$/);
  });
});
