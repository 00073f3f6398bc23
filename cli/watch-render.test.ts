// The watcher's drawing: bars at several widths, percent, rate, ETA, totals, and the lines for events.
import { describe, expect, it } from 'vitest';
import type { AgentProgressState, Progress, ProgressMessage } from '../common/progress.js';
import type { AgentSyncResult } from '../common/protocol.js';
import {
  BAR_EMPTY,
  BAR_FULL,
  agentRow,
  barWidthFor,
  eventText,
  fit,
  phaseLabel,
  renderBar,
  renderRow,
  renderScreen,
  totalRow,
} from './watch-render.js';

const MiB = 1024 * 1024;

function progress(over: Partial<Progress> = {}): Progress {
  return {
    filesDone: 10,
    filesTotal: 40,
    bytesDone: 80 * MiB,
    bytesTotal: 320 * MiB,
    rateBps: 40 * MiB,
    etaSeconds: 6,
    ...over,
  };
}

function agent(over: Partial<AgentProgressState> = {}): AgentProgressState {
  return {
    agent: 'gpu1',
    url: 'http://127.0.0.1:1',
    present: true,
    phase: 'syncing',
    runId: 'run1',
    progress: progress(),
    lastSync: null,
    lastPurge: null,
    lastError: null,
    ...over,
  };
}

const syncResult = (over: Partial<AgentSyncResult> = {}): AgentSyncResult => ({
  name: 'gpu1',
  ok: true,
  runId: 'run1',
  startedAt: '2026-11-24T12:00:00.000Z',
  finishedAt: '2026-11-24T12:00:08.000Z',
  filesTransferred: 40,
  bytesTransferred: 320 * MiB,
  filesUnchanged: 2,
  filesPending: 1,
  errors: 0,
  problems: [],
  ...over,
});

describe('renderBar', () => {
  it.each([
    [0, 10, '░░░░░░░░░░'],
    [25, 8, '██░░░░░░'],
    [50, 10, '█████░░░░░'],
    [99, 10, '█████████░'],
    [100, 4, '████'],
    [null, 5, '░░░░░'],
  ])('%s%% in %i cells', (percent, width, bar) => {
    expect(renderBar(percent, width)).toBe(bar);
    expect(renderBar(percent, width)).toHaveLength(width);
  });
});

describe('phaseLabel', () => {
  it.each([
    ['a phase in flight', agent({ phase: 'scanning' }), 'scanning'],
    ['lost', agent({ present: false, phase: 'idle' }), 'lost'],
    ['never ran', agent({ phase: 'idle', progress: null, runId: null }), 'idle'],
    ['after a sync', agent({ phase: 'idle', lastSync: syncResult() }), 'synced'],
    [
      'after a failed sync, even one that failed before its scan',
      agent({
        phase: 'idle',
        runId: null,
        lastSync: syncResult({ ok: false, error: { code: 'E_AGENT_UNREACHABLE', message: 'down' } }),
      }),
      'failed',
    ],
    [
      'after a dry-run purge',
      agent({
        phase: 'idle',
        runId: 'p1',
        lastSync: syncResult(),
        lastPurge: {
          name: 'gpu1',
          ok: true,
          runId: 'p1',
          dryRun: true,
          filesPurged: 1,
          bytesFreed: 1,
          purged: [],
          kept: {},
          problems: [],
        },
      }),
      'dry-run',
    ],
  ])('%s', (_name, state, label) => expect(phaseLabel(state)).toBe(label));
});

describe('renderRow', () => {
  const row = { name: 'gpu1 ', label: 'syncing', progress: progress() };

  it('shows name, phase, bar, percent, files, bytes, rate and ETA in a wide terminal', () => {
    expect(renderRow(row, 120, 20)).toBe(
      'gpu1  syncing  █████░░░░░░░░░░░░░░░  25%  10/40 files    80.0 MiB/320.0 MiB     40.0 MiB/s  ETA 6s',
    );
  });

  it.each([120, 100, 80, 60, 40, 24])('never exceeds %i columns', (width) => {
    const line = renderRow(row, width, barWidthFor([row], width));
    expect(line.length).toBeLessThanOrEqual(width);
    expect(line).toContain(BAR_FULL);
    expect(line.startsWith('gpu1  syncing')).toBe(true);
  });

  it('drops bytes, then files, then the rate as the terminal narrows', () => {
    const at = (width: number) => renderRow(row, width, 10);
    expect(at(120)).toContain('MiB/320.0');
    expect(at(75)).not.toContain('MiB/320.0');
    expect(at(75)).toContain('10/40 files');
    expect(at(60)).not.toContain('files');
    expect(at(60)).toContain('40.0 MiB/s');
    expect(at(45)).not.toContain('MiB/s');
    expect(at(45)).toContain('25%');
  });

  it('gives the bar 10 to 40 cells', () => {
    expect(barWidthFor([row], 300)).toBe(40);
    // 15 for name and phase, 5 for the percent, 62 for the padded numbers.
    expect(barWidthFor([row], 100)).toBe(100 - 82);
    expect(barWidthFor([row], 30)).toBe(10);
  });

  it('shows — for an unknown ETA and rate, and no ETA once done', () => {
    const unknown = renderRow({ ...row, progress: progress({ rateBps: null, etaSeconds: null }) }, 120, 20);
    expect(unknown).toMatch(/— {2}ETA —$/);
    const done = renderRow(
      { ...row, label: 'synced', progress: progress({ bytesDone: 320 * MiB }) },
      120,
      20,
    );
    expect(done).toContain('100%');
    expect(done).not.toContain('ETA');
  });

  it('shows why a failed agent failed instead of numbers', () => {
    const state = agent({
      phase: 'idle',
      runId: null,
      progress: progress({ filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 }),
      lastSync: syncResult({
        ok: false,
        error: { code: 'E_AGENT_UNREACHABLE', message: 'agent gpu1 is down' },
      }),
    });
    const line = renderRow(agentRow(state), 80, 10);
    expect(line).toBe(`gpu1 failed   ${BAR_EMPTY.repeat(10)}    —  E_AGENT_UNREACHABLE: agent gpu1 is down`);
  });
});

describe('totalRow', () => {
  it('sums every present agent, adds the busy rates and takes the longest ETA', () => {
    const total = totalRow([
      agent({ agent: 'a', progress: progress({ rateBps: 10, etaSeconds: 30 }) }),
      agent({ agent: 'b', progress: progress({ rateBps: 5, etaSeconds: 90 }) }),
      agent({
        agent: 'c',
        phase: 'idle',
        lastSync: syncResult(),
        progress: progress({ filesDone: 40, rateBps: 99 }),
      }),
      agent({ agent: 'gone', present: false, progress: progress() }),
      agent({ agent: 'new', phase: 'idle', progress: null }),
    ]);
    expect(total).toEqual({
      name: 'total',
      label: '2 busy',
      progress: {
        filesDone: 60,
        filesTotal: 120,
        bytesDone: 240 * MiB,
        bytesTotal: 960 * MiB,
        rateBps: 15,
        etaSeconds: 90,
      },
    });
  });

  it('has an unknown ETA while any busy agent has one, and none when all are idle', () => {
    expect(
      totalRow([agent({ agent: 'a' }), agent({ agent: 'b', progress: progress({ etaSeconds: null }) })])
        .progress!.etaSeconds,
    ).toBeNull();
    const idle = totalRow([agent({ phase: 'idle', lastSync: syncResult() })]);
    expect(idle.label).toBe('idle');
    expect(idle.progress!.etaSeconds).toBeNull();
    expect(totalRow([]).progress).toBeNull();
  });
});

describe('renderScreen', () => {
  const screen = {
    states: [agent(), agent({ agent: 'comfy-box', phase: 'scanning', progress: progress({ bytesDone: 0 }) })],
    status: 'connected to http://127.0.0.1:8485',
    problems: ['12:00:01 gpu1: rejected a.png: E_HASH_MISMATCH: bad', '12:00:02 gpu1: error E_IO: disk'],
  };

  it('draws one line per agent, the total, the status, then problems, with aligned bars', () => {
    const lines = renderScreen(screen, 120, 30);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^gpu1 {6}syncing {2}█/);
    expect(lines[1]).toMatch(/^comfy-box scanning ░/);
    expect(lines[2]).toMatch(/^total {5}2 busy {3}█/);
    expect(lines[3]).toBe(screen.status);
    expect(lines[4]).toBe(`! ${screen.problems[0]}`);
    const barStart = (line: string) => line.search(/[█░]/);
    const barEnd = (line: string) => line.lastIndexOf(BAR_EMPTY) + 1;
    expect(new Set(lines.slice(0, 3).map(barStart)).size).toBe(1);
    expect(new Set(lines.slice(0, 3).map(barEnd)).size).toBe(1);
  });

  it('fits the width and never grows past the height', () => {
    for (const [columns, rows] of [
      [40, 30],
      [80, 5],
      [200, 4],
    ] as const) {
      const lines = renderScreen(screen, columns, rows);
      expect(lines.length).toBeLessThanOrEqual(rows - 1);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(columns);
    }
    const many = { ...screen, states: Array.from({ length: 30 }, (_, i) => agent({ agent: `gpu${i}` })) };
    const lines = renderScreen(many, 100, 10);
    expect(lines).toHaveLength(9);
    expect(lines).toContain('… 24 more agent(s)');
  });

  it('says when there are no agents yet', () => {
    expect(renderScreen({ states: [], status: 's', problems: [] }, 80, 24)[0]).toBe('no agents yet');
  });
});

describe('eventText', () => {
  const base = { v: 1 as const, at: '2026-11-24T12:00:00.000Z', agent: 'gpu1', runId: 'run1' };
  it.each<[ProgressMessage, string | null]>([
    [
      { ...base, type: 'sync.started', progress: progress() },
      'gpu1: sync started: 40 files, 320.0 MiB to pull',
    ],
    [
      { ...base, type: 'sync.progress', progress: progress() },
      'gpu1: syncing 10/40 files, 80.0 MiB/320.0 MiB (25%), 40.0 MiB/s, ETA 6s',
    ],
    [
      { ...base, type: 'sync.completed', progress: progress(), result: syncResult() },
      'gpu1: sync completed: 40 files stored (320.0 MiB), 2 unchanged, 1 pending, 0 error(s)',
    ],
    [
      { ...base, type: 'scan.done', files: 7, pending: 1, hashed: 3 },
      'gpu1: scan done: 7 files, 1 pending, 3 hashed',
    ],
    [
      { ...base, type: 'file.rejected', path: 'a.png', code: 'E_HASH_MISMATCH', message: 'changed' },
      'gpu1: rejected a.png: E_HASH_MISMATCH: changed',
    ],
    [{ ...base, type: 'file.stored', path: 'a.png', storedPath: 'gpu1/a.png', size: 1 }, null],
    [
      { v: 1, at: base.at, type: 'error', agent: null, runId: null, code: 'E_CATALOG', message: 'full' },
      'controller: error E_CATALOG: full',
    ],
    [
      { v: 1, at: base.at, type: 'snapshot', agents: [agent({ phase: 'idle', progress: null })] },
      'gpu1 idle',
    ],
  ])('%j', (message, text) => expect(eventText(message)).toBe(text));
});

describe('fit', () => {
  it.each([
    ['short', 10, 'short'],
    ['exactly10!', 10, 'exactly10!'],
    ['much too long', 8, 'much to…'],
    ['x', 0, ''],
  ])('%s in %i', (text, width, out) => expect(fit(text, width)).toBe(out));
});
