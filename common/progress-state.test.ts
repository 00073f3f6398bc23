// Folding progress messages into per-agent state: a snapshot replaces it, events update one agent.
import { describe, expect, it } from 'vitest';
import type { AgentProgressState, Progress, ProgressMessage } from './progress.js';
import { type ProgressStates, applyProgress, emptyAgentState } from './progress-state.js';
import type { AgentSyncResult } from './run-results.js';

const at = '2026-11-24T12:00:00.000Z';
const ids = { v: 1 as const, at, agent: 'gpu1', runId: 'r1' };
const progress: Progress = {
  filesDone: 1,
  filesTotal: 2,
  bytesDone: 10,
  bytesTotal: 20,
  rateBps: null,
  etaSeconds: null,
};
const failed = {
  name: 'gpu1',
  ok: false,
  runId: 'r1',
  error: { code: 'E_AGENT_UNREACHABLE', message: 'down' },
} as AgentSyncResult;

function fold(messages: ProgressMessage[], states: ProgressStates = new Map()): ProgressStates {
  for (const message of messages) applyProgress(states, message);
  return states;
}

describe('applyProgress', () => {
  it('replaces everything with a snapshot, as a copy', () => {
    const agents: AgentProgressState[] = [{ ...emptyAgentState('a'), phase: 'syncing', progress }];
    const states = fold([{ v: 1, at, type: 'agent.discovered', agent: 'old', url: 'u' }]);
    fold([{ v: 1, at, type: 'snapshot', agents }], states);
    expect([...states.keys()]).toEqual(['a']);
    expect(states.get('a')).toEqual(agents[0]);
    expect(states.get('a')).not.toBe(agents[0]);
  });

  it.each<[string, ProgressMessage[], Partial<AgentProgressState>]>([
    [
      'discovered',
      [{ v: 1, at, type: 'agent.discovered', agent: 'gpu1', url: 'u' }],
      { url: 'u', present: true },
    ],
    [
      'lost mid-sync',
      [
        { ...ids, type: 'sync.started', progress },
        { v: 1, at, type: 'agent.lost', agent: 'gpu1' },
      ],
      { present: false, phase: 'idle', runId: 'r1', progress: null },
    ],
    ['scanning', [{ ...ids, type: 'scan.started' }], { phase: 'scanning', runId: 'r1', progress: null }],
    [
      'scan done',
      [
        { ...ids, type: 'scan.progress', progress },
        { ...ids, type: 'scan.done', files: 2, pending: 0, hashed: 2 },
      ],
      { phase: 'idle', runId: 'r1', progress: null },
    ],
    ['syncing', [{ ...ids, type: 'sync.progress', progress }], { phase: 'syncing', runId: 'r1', progress }],
    [
      'sync failed',
      [{ ...ids, type: 'sync.completed', progress, result: failed }],
      {
        phase: 'idle',
        progress,
        lastSync: failed,
        lastError: { code: 'E_AGENT_UNREACHABLE', message: 'down', at },
      },
    ],
    [
      'purging',
      [{ ...ids, type: 'purge.progress', progress, dryRun: true }],
      { phase: 'purging', runId: 'r1', progress },
    ],
    [
      'error',
      [{ ...ids, type: 'error', code: 'E_IO', message: 'disk' }],
      { lastError: { code: 'E_IO', message: 'disk', at } },
    ],
  ])('%s', (_name, messages, expected) => {
    expect(fold(messages).get('gpu1')).toEqual({ ...emptyAgentState('gpu1'), ...expected });
  });

  it('keeps no state for file events', () => {
    expect(fold([{ ...ids, type: 'file.stored', path: 'a', storedPath: 'a', size: 1 }]).size).toBe(0);
  });
});
