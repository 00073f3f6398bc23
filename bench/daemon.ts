// Timing passes of a running controller: POST /v1/sync until that run is done, and new files until GET /v1/files lists them.
import { WebSocket } from 'ws';
import type { ControllerStatus } from '../common/run-results.js';
import type { ProgressMessage } from '../common/progress.js';
import { AUTH, type Server } from './processes.js';

/** How often the bench asks /v1/status when no progress message has told it anything. */
const FALLBACK_POLL_MS = 250;
/** Passes the daemon started on its own that one timed pass waits out before it gives up. */
const MAX_JOINS = 5;

/**
 * A client of one controller. It listens on /v1/progress so it can tell when a run has ended without
 * asking /v1/status in a tight loop (which would cost the controller the CPU being measured); the
 * run counts as done when /v1/status names it as `lastRun`. One caller at a time.
 */
export class DaemonClient {
  /** Runs that an agent has finished (`sync.completed`, or an `error`), by runId. */
  private readonly ended = new Set<string>();
  /** Every agent pass that finished, in order, with when this client heard of it. */
  private readonly completions: { at: number; runId: string; filesTransferred: number; errors: number }[] =
    [];
  private wake: (() => void) | undefined;
  /** Counts the messages that may matter, so a waiter misses none that came while it looked. */
  private eventCount = 0;
  private closed = false;

  private constructor(
    readonly server: Server,
    private readonly socket: WebSocket,
  ) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as ProgressMessage;
      if (message.type === 'sync.completed' || (message.type === 'error' && message.runId)) {
        this.ended.add(message.runId!);
      }
      if (message.type === 'sync.completed') {
        const { filesTransferred, errors } = message.result;
        this.completions.push({ at: performance.now(), runId: message.runId, filesTransferred, errors });
      }
      if (message.type === 'sync.completed' || message.type === 'file.stored' || message.type === 'error') {
        this.eventCount++;
        this.wake?.();
      }
    });
  }

  static async connect(server: Server): Promise<DaemonClient> {
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/progress`, { headers: AUTH });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const client = new DaemonClient(server, socket);
    socket.on('close', () => {
      client.closed = true;
      client.wake?.();
    });
    return client;
  }

  close(): void {
    this.socket.close();
  }

  async status(): Promise<ControllerStatus> {
    const response = await fetch(`${this.server.url}/v1/status`, { headers: AUTH });
    if (!response.ok) throw new Error(`GET /v1/status answered ${response.status}`);
    return (await response.json()) as ControllerStatus;
  }

  /** Where the stream of messages that may matter is now: pass it to `nextEvent` after looking. */
  get events(): number {
    return this.eventCount;
  }

  /**
   * Resolves on the next progress message that may matter, or after `ms`, whichever is first; at
   * once if one came since `after` (the `events` of before the caller looked at the state).
   */
  nextEvent(ms: number, after = this.eventCount): Promise<void> {
    if (this.eventCount !== after || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  /**
   * Waits for the passes the daemon starts on its own (at start, and when its change channel first
   * connects) to be over: not syncing, and no new run, for `quietMs` on end.
   */
  async waitQuiet(quietMs: number, timeoutMs: number): Promise<ControllerStatus> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.status();
    let quietSince = Date.now();
    for (;;) {
      const before = this.eventCount;
      await this.nextEvent(Math.min(FALLBACK_POLL_MS, quietMs), before);
      const status = await this.status();
      if (status.syncing || status.lastRun?.runId !== last.lastRun?.runId) quietSince = Date.now();
      last = status;
      if (status.lastRun && !status.syncing && Date.now() - quietSince >= quietMs) return status;
      if (Date.now() > deadline) {
        throw new Error(`the controller did not settle down within ${timeoutMs} ms of its start`);
      }
    }
  }

  /**
   * One pass through the API: wall time from POST /v1/sync until /v1/status reports that run as the
   * last one. Throws unless it moved exactly `expectTransferred` files without errors.
   */
  async pass(
    expectTransferred: number,
    timeoutMs: number,
  ): Promise<{ wallMs: number; status: ControllerStatus; joined: number }> {
    // A pass the daemon started on its own (its change channel) is waited out, untimed, and asked again.
    for (let joined = 0; joined < MAX_JOINS; joined++) {
      const start = performance.now();
      const response = await fetch(`${this.server.url}/v1/sync`, { method: 'POST', headers: AUTH });
      const { started, runId } = (await response.json()) as { started: boolean; runId: string };
      const status = await this.waitRun(runId, timeoutMs);
      if (!started) continue;
      const wallMs = performance.now() - start;
      const totals = status.lastRun!.totals;
      if (totals.filesTransferred !== expectTransferred || totals.errors !== 0) {
        throw new Error(
          `daemon pass ${runId}: expected ${expectTransferred} files transferred, got ${JSON.stringify(totals)}`,
        );
      }
      return { wallMs, status, joined };
    }
    throw new Error(
      `POST /v1/sync found a pass running ${MAX_JOINS} times in a row: the daemon never went idle`,
    );
  }

  /** Waits until /v1/status reports `runId` as the last run, and no pass running. */
  private async waitRun(runId: string, timeoutMs: number): Promise<ControllerStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.ended.has(runId);
      const before = this.eventCount;
      const status = await this.status();
      if (status.lastRun?.runId === runId && !status.syncing) return status;
      if (Date.now() > deadline) throw new Error(`daemon pass ${runId} did not end in ${timeoutMs} ms`);
      if (this.closed) throw new Error('the progress socket closed during a pass');
      // Once the agent's part has ended, the run's end is a catalog write away: look again at once.
      if (seen) await new Promise((resolve) => setTimeout(resolve, 1));
      else await this.nextEvent(FALLBACK_POLL_MS, before);
    }
  }

  /** A point in the stream of finished agent passes, for `takeIn`. */
  mark(): number {
    return this.completions.length;
  }

  /**
   * How long the daemon takes to store `expected` changed files: from now, with POST /v1/sync sent at
   * once, until the agent passes finished since `mark` have moved them all. A pass the daemon started
   * on its own when its change channel told it counts as much as the one asked for. Throws if they
   * moved more (a file sent twice) or hit errors.
   */
  async takeIn(
    mark: number,
    expected: number,
    timeoutMs: number,
  ): Promise<{ wallMs: number; runs: number; joined: boolean }> {
    const start = performance.now();
    const response = await fetch(`${this.server.url}/v1/sync`, { method: 'POST', headers: AUTH });
    const { started } = (await response.json()) as { started: boolean };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const before = this.eventCount;
      const done = this.completions.slice(mark);
      let moved = 0;
      for (const [i, pass] of done.entries()) {
        if (pass.errors > 0) throw new Error(`daemon pass ${pass.runId} had ${pass.errors} errors`);
        moved += pass.filesTransferred;
        if (moved < expected) continue;
        // Let any pass still running end, so a file moved twice shows in the count.
        await this.waitIdle(deadline);
        const total = this.completions.slice(mark).reduce((sum, p) => sum + p.filesTransferred, 0);
        if (total !== expected) throw new Error(`daemon moved ${total} files for ${expected} changed`);
        return { wallMs: pass.at - start, runs: i + 1, joined: !started };
      }
      if (Date.now() > deadline) {
        throw new Error(`the daemon moved ${moved} of ${expected} changed files in ${timeoutMs} ms`);
      }
      if (this.closed) throw new Error('the progress socket closed during a pass');
      await this.nextEvent(FALLBACK_POLL_MS, before);
    }
  }

  private async waitIdle(deadline: number): Promise<void> {
    for (;;) {
      const before = this.eventCount;
      if (!(await this.status()).syncing) return;
      if (Date.now() > deadline) throw new Error('the daemon did not go idle');
      await this.nextEvent(FALLBACK_POLL_MS, before);
    }
  }

  /** Whether GET /v1/files lists the file at `containerPath`, searched by a word of its name. */
  async listed(word: string, containerPath: string): Promise<boolean> {
    const query = new URLSearchParams({ q: word, limit: '10' });
    const response = await fetch(`${this.server.url}/v1/files?${query}`, { headers: AUTH });
    if (!response.ok) throw new Error(`GET /v1/files answered ${response.status}`);
    const page = (await response.json()) as { items: { containerPath: string }[] };
    return page.items.some((item) => item.containerPath === containerPath);
  }
}
