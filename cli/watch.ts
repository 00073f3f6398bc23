// `forge-sync watch`: follows the controller's live progress and shows it as bars, plain lines or NDJSON.
import { type Clock, systemClock } from '../common/clock.js';
import { PROGRESS_VERSION, type ProgressMessage } from '../common/progress.js';
import { type ProgressStates, applyProgress } from '../common/progress-state.js';
import { Routes } from '../common/protocol.js';
import { type ControllerStatus, type SyncSummary } from '../common/run-results.js';
import { formatSummary } from './print.js';
import { type WatchConfig, loadWatchConfig } from './watch-config.js';
import { followProgress, routeUrl } from './watch-connection.js';
import { JsonOutput, PlainOutput, TtyOutput, type WatchOutput } from './watch-output.js';

const STATUS_POLL_MS = 250;

/**
 * For --once: the end of a sync pass. Progress messages have no pass-level end, so after a
 * `sync.completed`, whenever no agent is busy, it asks /v1/status until that run is the last one.
 */
class PassEnd {
  readonly done: Promise<SyncSummary>;
  private runId: string | null = null;
  private asking = false;
  private readonly timer: NodeJS.Timeout;

  constructor(config: WatchConfig, states: ProgressStates) {
    let resolveDone!: (summary: SyncSummary) => void;
    this.done = new Promise((resolve) => (resolveDone = resolve));
    const statusUrl = routeUrl(config.url.replace(/^ws/, 'http'), Routes.status);
    this.timer = setInterval(() => {
      const busy = [...states.values()].some((state) => state.phase !== 'idle');
      if (this.runId === null || busy || this.asking) return;
      this.asking = true;
      void fetch(statusUrl, {
        headers: { authorization: `Bearer ${config.token}` },
        signal: AbortSignal.timeout(5000),
      })
        .then(async (response) => (response.ok ? ((await response.json()) as ControllerStatus) : null))
        .then((status) => {
          if (status?.lastRun && status.lastRun.runId === this.runId) resolveDone(status.lastRun);
        })
        // A failed check is retried on the next tick; the socket reports connection trouble.
        .catch(() => undefined)
        .finally(() => (this.asking = false));
    }, STATUS_POLL_MS);
  }

  seen(message: ProgressMessage): void {
    if (message.type === 'sync.completed') this.runId = message.runId;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Runs the watcher until Ctrl-C or SIGTERM (exit 0), or with --once until the pass ends (0 if it
 * went well, 1 if not; 130 if stopped before). Fatal connection failures throw an AppError.
 */
export async function watch(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream; clock?: Clock } = {
    stdout: process.stdout,
    stderr: process.stderr,
  },
): Promise<number> {
  const config = loadWatchConfig(argv, env);
  const clock = io.clock ?? systemClock;
  const output: WatchOutput = config.json
    ? new JsonOutput(io.stdout, io.stderr, config.url)
    : io.stdout.isTTY && env.TERM !== 'dumb'
      ? new TtyOutput(
          io.stdout,
          config.url,
          clock,
          config.once ? 'exits when the sync pass ends' : 'Ctrl-C quits',
        )
      : new PlainOutput(io.stdout, io.stderr, config.url, clock);
  const states: ProgressStates = new Map();
  const stop = new AbortController();
  const passEnd = config.once ? new PassEnd(config, states) : null;
  let summary: SyncSummary | undefined;
  void passEnd?.done.then((ended) => {
    summary = ended;
    stop.abort();
  });
  const quit = (): void => stop.abort();
  // A closed pipe (`watch --json | head`) ends the watcher, not with a stack trace.
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE') throw err;
    stop.abort();
  };
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
  io.stdout.on('error', onStdoutError);
  let opened = 0;
  let warnedVersion = false;
  try {
    await followProgress({
      url: config.url,
      token: config.token,
      connectTimeoutMs: config.connectTimeoutMs,
      signal: stop.signal,
      events: {
        open: () => output.connected(opened++ > 0),
        message: (raw, message) => {
          if (message.v !== PROGRESS_VERSION && !warnedVersion) {
            warnedVersion = true;
            output.notice(
              `the controller speaks progress version ${String(message.v)}, this watcher ${PROGRESS_VERSION}; some events may be misread`,
            );
          }
          applyProgress(states, message);
          passEnd?.seen(message);
          output.message(raw, message, states);
        },
        down: (reason, retryInMs) => output.down(reason, retryInMs),
      },
    });
  } finally {
    passEnd?.stop();
    process.off('SIGINT', quit);
    process.off('SIGTERM', quit);
    io.stdout.off('error', onStdoutError);
    output.close(summary && !config.json ? formatSummary(summary) : undefined);
  }
  // Stopped by Ctrl-C: fine for a watcher, but a --once that never saw its pass end did not succeed.
  if (!summary) return config.once ? 130 : 0;
  return summary.ok ? 0 : 1;
}
