// The watcher's printers: plain lines throttle progress and carry no escapes; the terminal block redraws in place.
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Progress, ProgressMessage } from '../common/progress.js';
import { type ProgressStates, applyProgress } from '../common/progress-state.js';
import { JsonOutput, PlainOutput, TtyOutput } from './watch-output.js';

class Sink extends EventEmitter {
  text = '';
  columns = 100;
  rows = 20;
  isTTY = true;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

// Built at run time: a regex literal with ESC in it trips no-control-regex.
const ESC = String.fromCharCode(27);
const CSI_ANY = new RegExp(`${ESC}\\[[\\d;?]*[A-Za-z]`, 'g');
/** The row counts of every cursor-up sequence in `text`. */
const cursorUps = (text: string): number[] =>
  [...text.matchAll(new RegExp(`${ESC}\\[(\\d+)A`, 'g'))].map((match) => Number(match[1]));

const progress = (bytesDone: number): Progress => ({
  filesDone: 0,
  filesTotal: 4,
  bytesDone,
  bytesTotal: 400,
  rateBps: null,
  etaSeconds: null,
});
const ids = { v: 1 as const, agent: 'gpu1', runId: 'r1' };
const at = (ms: number) => new Date(Date.UTC(2026, 10, 24, 12, 0, 0, ms)).toISOString();

describe('JsonOutput', () => {
  it('writes each message as received on stdout and connection news on stderr', () => {
    const out = new Sink();
    const err = new Sink();
    const json = new JsonOutput(out as never, err as never, 'http://c');
    json.connected(false);
    json.message('{"type":"snapshot"}', { type: 'snapshot' } as ProgressMessage, new Map());
    json.down('connection dropped', 500);
    json.connected(true);
    expect(out.text).toBe('{"type":"snapshot"}\n');
    expect(err.text).toBe(
      'forge-sync: lost the connection to http://c (connection dropped); reconnecting in 0.5s\n' +
        'forge-sync: reconnected to http://c\n',
    );
  });
});

describe('PlainOutput', () => {
  it('prints phase lines, and progress at most every 5 s per agent', () => {
    let now = 0;
    const out = new Sink();
    const err = new Sink();
    const plain = new PlainOutput(out as never, err as never, 'http://c', { now: () => now });
    const send = (ms: number, message: ProgressMessage) => {
      now = ms;
      plain.message('', message);
    };
    send(0, { ...ids, at: at(0), type: 'sync.started', progress: progress(0) });
    send(1000, { ...ids, at: at(1000), type: 'sync.progress', progress: progress(100) });
    send(5000, { ...ids, at: at(5000), type: 'sync.progress', progress: progress(200) });
    send(6000, { ...ids, agent: 'gpu2', at: at(6000), type: 'sync.progress', progress: progress(50) });
    send(7000, { ...ids, at: at(7000), type: 'sync.progress', progress: progress(300) });
    send(8000, { ...ids, at: at(8000), type: 'file.stored', path: 'a', storedPath: 'a', size: 1 });
    const lines = out.text.trimEnd().split('\n');
    expect(lines.map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''))).toEqual([
      'gpu1: sync started: 4 files, 400 B to pull',
      'gpu1: syncing 0/4 files, 200 B/400 B (50%), —, ETA —',
      'gpu2: syncing 0/4 files, 50 B/400 B (12%), —, ETA —',
    ]);
    expect(out.text).not.toContain('\x1b');
  });
});

describe('TtyOutput', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('hides the cursor, redraws in place at most 10 times a second, and restores the cursor', () => {
    const term = new Sink();
    const tty = new TtyOutput(term as never, 'http://c', { now: () => Date.now() });
    expect(term.text.startsWith('\x1b[?25l')).toBe(true);
    vi.advanceTimersByTime(0);
    const states: ProgressStates = new Map();
    const send = (message: ProgressMessage) => {
      applyProgress(states, message);
      tty.message('', message, states);
    };
    tty.connected();
    send({ ...ids, at: at(0), type: 'sync.started', progress: progress(0) });
    for (let i = 1; i <= 10; i++)
      send({ ...ids, at: at(i), type: 'sync.progress', progress: progress(i * 10) });
    term.text = '';
    vi.advanceTimersByTime(100);
    // One redraw for all eleven messages, going up over the three lines drawn before.
    expect(cursorUps(term.text)).toEqual([3]);
    expect(term.text).toContain('gpu1  syncing');
    expect(term.text).toContain(' 25%');

    send({
      ...ids,
      at: at(20),
      type: 'file.rejected',
      path: 'x.png',
      code: 'E_HASH_MISMATCH',
      message: 'bad',
    });
    term.text = '';
    vi.advanceTimersByTime(100);
    expect(term.text).toMatch(/! \d\d:\d\d:\d\d gpu1: rejected x\.png: E_HASH_MISMATCH: bad/);

    term.text = '';
    tty.close('summary\n');
    expect(term.text.endsWith('\x1b[?25hsummary\n')).toBe(true);
  });

  it('counts wrapped rows when it goes back up after the window narrows', () => {
    const term = new Sink();
    const tty = new TtyOutput(term as never, 'http://c', { now: () => Date.now() });
    tty.connected();
    vi.advanceTimersByTime(0);
    const drawn = term.text.split('\n').slice(0, -1);
    const longest = Math.max(...drawn.map((line) => line.replace(CSI_ANY, '').length));
    term.columns = Math.ceil(longest / 2);
    term.text = '';
    term.emit('resize');
    vi.advanceTimersByTime(100);
    const [up] = cursorUps(term.text);
    expect(up).toBeGreaterThan(drawn.length);
    tty.close();
  });
});
