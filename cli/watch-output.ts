// The three ways `forge-sync watch` prints: live bars on a terminal, plain lines into a pipe, raw NDJSON.
import type { Clock } from '../common/clock.js';
import { type ProgressMessage, isCoalescable } from '../common/progress.js';
import type { ProgressStates } from '../common/progress-state.js';
import { clockTime, eventText, isProblem, renderScreen } from './watch-render.js';

/** Where the watcher's news goes. Called on one event loop, in the order things happen. */
export interface WatchOutput {
  /** A connection opened; `again` after a drop. */
  connected(again: boolean): void;
  /** A message, already folded into `states`. */
  message(raw: string, message: ProgressMessage, states: ProgressStates): void;
  /** The connection failed or dropped and is retried in `retryInMs`. */
  down(reason: string, retryInMs: number): void;
  /** Something the user should know that is not an event, such as a protocol version mismatch. */
  notice(text: string): void;
  /** Stops drawing and leaves the terminal as it was; `final` is printed last. */
  close(final?: string): void;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

function downText(url: string, everConnected: boolean, reason: string, retryInMs: number): string {
  return everConnected
    ? `lost the connection to ${url} (${reason}); reconnecting in ${seconds(retryInMs)}`
    : `cannot connect to ${url} (${reason}); retrying in ${seconds(retryInMs)}`;
}

/** `--json`: every message exactly as received, one per line; connection news on stderr. */
export class JsonOutput implements WatchOutput {
  private everConnected = false;

  constructor(
    protected readonly out: NodeJS.WritableStream,
    protected readonly err: NodeJS.WritableStream,
    protected readonly url: string,
  ) {}

  connected(again: boolean): void {
    this.everConnected = true;
    if (again) this.err.write(`forge-sync: reconnected to ${this.url}\n`);
  }

  message(raw: string, _message: ProgressMessage, _states: ProgressStates): void {
    this.out.write(`${raw}\n`);
  }

  down(reason: string, retryInMs: number): void {
    this.err.write(`forge-sync: ${downText(this.url, this.everConnected, reason, retryInMs)}\n`);
  }

  notice(text: string): void {
    this.err.write(`forge-sync: ${text}\n`);
  }

  close(): void {}
}

/**
 * Not a terminal: one timestamped line per event worth one (phases, errors, rejected files), and
 * each agent's progress at most every `progressEveryMs`. No escape sequences.
 */
export class PlainOutput extends JsonOutput {
  private readonly lastProgressAt = new Map<string, number>();

  constructor(
    out: NodeJS.WritableStream,
    err: NodeJS.WritableStream,
    url: string,
    private readonly clock: Clock,
    private readonly progressEveryMs = 5000,
  ) {
    super(out, err, url);
  }

  override message(_raw: string, message: ProgressMessage): void {
    const agent = 'agent' in message ? message.agent : null;
    if (agent !== null && isCoalescable(message)) {
      const now = this.clock.now();
      if (now - (this.lastProgressAt.get(agent) ?? -Infinity) < this.progressEveryMs) return;
      this.lastProgressAt.set(agent, now);
    } else if (agent !== null && message.type.endsWith('.started')) {
      // The start line already says where the phase stands.
      this.lastProgressAt.set(agent, this.clock.now());
    }
    const text = eventText(message);
    if (text === null) return;
    const prefix = message.type === 'snapshot' ? `connected to ${this.url}: ` : '';
    this.out.write(`${clockTime(message.at)} ${prefix}${text}\n`);
  }

  override close(final?: string): void {
    if (final) this.out.write(final);
  }
}

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const CLEAR_LINE = '\x1b[2K';
const CLEAR_BELOW = '\x1b[J';
const up = (rows: number): string => (rows > 0 ? `\x1b[${rows}A` : '');
/** At most this many redraws per second. */
const REDRAW_MS = 100;
const KEEP_PROBLEMS = 50;

/**
 * A terminal: a block of bars redrawn in place (at most every REDRAW_MS), sized to the window, with
 * the connection state and the latest problems under it. The cursor is hidden while it runs.
 */
export class TtyOutput implements WatchOutput {
  private states: ProgressStates = new Map();
  private readonly problems: string[] = [];
  private status: string;
  private everConnected = false;
  private lastLines: string[] = [];
  private lastDrawAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onResize = (): void => this.schedule();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly url: string,
    private readonly clock: Clock,
    /** Added to the status line, such as when the watcher will exit. */
    private readonly hint = 'Ctrl-C quits',
  ) {
    this.status = `connecting to ${url}…`;
    out.write(HIDE_CURSOR);
    out.on('resize', this.onResize);
    this.schedule();
  }

  connected(): void {
    this.everConnected = true;
    this.status = `connected to ${this.url} · ${this.hint}`;
    this.schedule();
  }

  message(_raw: string, message: ProgressMessage, states: ProgressStates): void {
    this.states = states;
    if (isProblem(message)) this.problem(`${clockTime(message.at)} ${eventText(message)}`);
    this.schedule();
  }

  down(reason: string, retryInMs: number): void {
    this.status = downText(this.url, this.everConnected, reason, retryInMs);
    this.schedule();
  }

  notice(text: string): void {
    this.problem(text);
    this.schedule();
  }

  close(final?: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.out.off('resize', this.onResize);
    this.draw();
    this.out.write(SHOW_CURSOR);
    if (final) this.out.write(final);
  }

  private problem(line: string): void {
    this.problems.push(line);
    if (this.problems.length > KEEP_PROBLEMS) this.problems.shift();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const wait = Math.max(0, this.lastDrawAt + REDRAW_MS - this.clock.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, wait);
  }

  private draw(): void {
    this.lastDrawAt = this.clock.now();
    const columns = this.out.columns || 80;
    // One column spare: a line that fills the last column would wrap on some terminals.
    const lines = renderScreen(
      { states: this.states.values(), status: this.status, problems: this.problems },
      columns - 1,
      this.out.rows || 24,
    );
    // After a resize, the last block's lines may have wrapped onto more rows than were drawn.
    const rows = this.lastLines.reduce((n, line) => n + Math.max(1, Math.ceil(line.length / columns)), 0);
    const body = lines.map((line) => `${CLEAR_LINE}${line}`).join('\n');
    this.out.write(`${up(rows)}\r${body}\n${CLEAR_BELOW}`);
    this.lastLines = lines;
  }
}
