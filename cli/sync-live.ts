// `forge-sync sync` on a terminal: a live line per agent (files, bytes, rate, ETA) under the log lines, redrawn in place.
import { Writable } from 'node:stream';
import type { Clock } from '../common/clock.js';
import { PROGRESS_VERSION, type ProgressMessage } from '../common/progress.js';
import { type ProgressStates, applyProgress } from '../common/progress-state.js';
import type { ProgressReporter, UnstampedMessage } from '../common/progress.js';
import { agentRow, barWidthFor, renderRow } from './watch-render.js';

const REDRAW_MS = 200;
const CLEAR_LINE_UP = '\x1b[1A\x1b[2K';

/**
 * Folds the sync's progress messages into per-agent states and keeps their lines at the bottom of
 * the terminal. Log lines go through `logStream()`, which lifts the live lines, writes the log
 * line and draws them again, so the two never tear each other. Used from one event loop.
 */
export class SyncLive implements ProgressReporter {
  private readonly states: ProgressStates = new Map();
  private drawn = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly clock: Clock,
  ) {}

  publish(input: ProgressMessage | UnstampedMessage): void {
    const message = (
      'at' in input ? input : { ...input, v: PROGRESS_VERSION, at: new Date(this.clock.now()).toISOString() }
    ) as ProgressMessage;
    applyProgress(this.states, message);
    if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.redraw();
      }, REDRAW_MS);
    }
  }

  /** Where the logger writes: each line lands above the live lines. */
  logStream(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.clear();
        this.out.write(chunk);
        this.draw();
        done();
      },
    });
  }

  /** The lines as they stand now, one per agent; exported for tests. */
  lines(columns = this.out.columns || 100): string[] {
    const rows = [...this.states.values()].sort((a, b) => a.agent.localeCompare(b.agent)).map(agentRow);
    const barWidth = barWidthFor(rows, columns);
    return rows.map((row) => renderRow(row, columns, barWidth));
  }

  /** Removes the live lines; the summary printed next stands alone. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private redraw(): void {
    this.clear();
    this.draw();
  }

  private clear(): void {
    this.out.write(CLEAR_LINE_UP.repeat(this.drawn));
    this.drawn = 0;
  }

  private draw(): void {
    if (this.closed) return;
    const lines = this.lines();
    if (lines.length) this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
