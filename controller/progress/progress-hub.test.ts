// The progress hub: snapshot first, per-agent throttling that keeps the newest, phase ends always delivered.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Progress, ProgressMessage } from '../../common/progress.js';
import type { AgentSyncResult } from '../../common/run-results.js';
import { ProgressHub } from './progress-hub.js';

const clock = { now: () => Date.now() };
const progress = (bytesDone: number): Progress => ({
  filesDone: 0,
  filesTotal: 10,
  bytesDone,
  bytesTotal: 1000,
  rateBps: null,
  etaSeconds: null,
});
const result = { name: 'gpu1', ok: true, filesTransferred: 10, bytesTransferred: 1000 } as AgentSyncResult;

function record(hub: ProgressHub): ProgressMessage[] {
  const seen: ProgressMessage[] = [];
  hub.subscribe({ send: (message) => seen.push(message) });
  return seen;
}

describe('ProgressHub', () => {
  beforeEach(() => vi.useFakeTimers({ now: Date.parse('2026-11-24T12:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('greets a new listener with a snapshot of every agent', () => {
    const hub = new ProgressHub(clock);
    hub.setAgents([{ name: 'gpu1', url: 'http://a' }]);
    hub.publish({ type: 'sync.started', agent: 'gpu1', runId: 'r1', progress: progress(0) });
    const seen = record(hub);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      type: 'snapshot',
      v: 1,
      agents: [{ agent: 'gpu1', url: 'http://a', phase: 'syncing', runId: 'r1' }],
    });
  });

  it('sends at most one progress message per agent per 100 ms, the newest, and never drops the end of a phase', () => {
    const hub = new ProgressHub(clock);
    const seen = record(hub);
    for (let i = 1; i <= 50; i++) {
      hub.publish({ type: 'sync.progress', agent: 'gpu1', runId: 'r1', progress: progress(i * 10) });
      hub.publish({ type: 'sync.progress', agent: 'gpu2', runId: 'r2', progress: progress(i * 10) });
      vi.advanceTimersByTime(10);
    }
    const gpu1 = seen.filter((m) => m.type === 'sync.progress' && m.agent === 'gpu1');
    expect(gpu1.length).toBeGreaterThanOrEqual(5);
    expect(gpu1.length).toBeLessThanOrEqual(6);
    const bytes = gpu1.map((m) => (m.type === 'sync.progress' ? m.progress.bytesDone : -1));
    expect([...bytes].sort((a, b) => a - b)).toEqual(bytes);
    expect(seen.filter((m) => m.type === 'sync.progress' && m.agent === 'gpu2').length).toBe(gpu1.length);

    hub.publish({ type: 'sync.progress', agent: 'gpu1', runId: 'r1', progress: progress(999) });
    hub.publish({ type: 'sync.completed', agent: 'gpu1', runId: 'r1', progress: progress(1000), result });
    vi.advanceTimersByTime(500);
    const last = seen.filter((m) => m.type.startsWith('sync.') && 'agent' in m && m.agent === 'gpu1').at(-1)!;
    expect(last.type).toBe('sync.completed');
  });

  it('delivers file and error messages at once, unthrottled', () => {
    const hub = new ProgressHub(clock);
    const seen = record(hub);
    for (let i = 0; i < 20; i++)
      hub.publish({
        type: 'file.stored',
        agent: 'gpu1',
        runId: 'r1',
        path: `out/${i}.png`,
        storedPath: `gpu1/out/${i}.png`,
        size: 1,
      });
    hub.publish({ type: 'error', agent: 'gpu1', runId: 'r1', code: 'E_AGENT_UNREACHABLE', message: 'down' });
    expect(seen.filter((m) => m.type === 'file.stored')).toHaveLength(20);
    expect(seen.at(-1)).toMatchObject({ type: 'error', code: 'E_AGENT_UNREACHABLE' });
    expect(hub.snapshot()).toMatchObject({
      agents: [{ agent: 'gpu1', lastError: { code: 'E_AGENT_UNREACHABLE', message: 'down' } }],
    });
  });

  it('announces agents that appear and disappear', () => {
    const hub = new ProgressHub(clock);
    const seen = record(hub);
    hub.setAgents([
      { name: 'gpu1', url: 'http://a' },
      { name: 'gpu2', url: 'http://b' },
    ]);
    hub.setAgents([{ name: 'gpu1', url: 'http://a' }]);
    hub.setAgents([{ name: 'gpu1', url: 'http://a' }]);
    expect(seen.slice(1).map((m) => `${m.type}:${'agent' in m ? m.agent : ''}`)).toEqual([
      'agent.discovered:gpu1',
      'agent.discovered:gpu2',
      'agent.lost:gpu2',
    ]);
    expect(hub.snapshot()).toMatchObject({
      agents: [
        { agent: 'gpu1', present: true },
        { agent: 'gpu2', present: false },
      ],
    });
  });

  it('stops delivering to a listener that unsubscribed', () => {
    const hub = new ProgressHub(clock);
    const seen: ProgressMessage[] = [];
    const unsubscribe = hub.subscribe({ send: (m) => seen.push(m) });
    unsubscribe();
    hub.publish({ type: 'scan.started', agent: 'gpu1', runId: 'r1' });
    expect(seen.map((m) => m.type)).toEqual(['snapshot']);
    expect(hub.listenerCount).toBe(0);
  });
});
