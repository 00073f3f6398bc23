// Counting one phase (scan, sync, purge) of one agent and publishing its progress at a bounded rate.
import type { Clock } from '../../common/clock.js';
import { RateEstimator } from '../../common/eta.js';
import type { Progress } from '../../common/progress.js';
import type { ProgressReporter } from './progress-hub.js';

const EMIT_EVERY_MS = 100;

/** The progress of a phase that ended before it counted anything (it failed while planning). */
export const NO_PROGRESS: Progress = Object.freeze({
  filesDone: 0,
  filesTotal: 0,
  bytesDone: 0,
  bytesTotal: 0,
  rateBps: null,
  etaSeconds: null,
});

type Counters = Omit<Progress, 'rateBps' | 'etaSeconds'>;

/**
 * Owned by the code running the phase. Counting is cheap and may happen per chunk; a progress
 * message is built at most every EMIT_EVERY_MS.
 */
export class PhaseTracker {
  readonly counters: Counters;
  private readonly estimator: RateEstimator;
  private lastEmit = 0;

  constructor(
    private readonly reporter: ProgressReporter,
    private readonly clock: Clock,
    private readonly kind: 'scan' | 'sync' | 'purge',
    private readonly ids: { agent: string; runId: string },
    totals: { filesTotal: number; bytesTotal: number },
    private readonly extra: { dryRun?: boolean } = {},
  ) {
    this.counters = { filesDone: 0, bytesDone: 0, ...totals };
    this.estimator = new RateEstimator(clock.now());
  }

  progress(): Progress {
    return this.estimator.progress(this.clock.now(), this.counters);
  }

  add(files: number, bytes: number): void {
    this.counters.filesDone += files;
    this.counters.bytesDone += bytes;
    this.tick();
  }

  /** Replaces the counters (scan progress arrives as totals so far). */
  set(counters: Counters): void {
    Object.assign(this.counters, counters);
    this.tick();
  }

  private tick(): void {
    const now = this.clock.now();
    this.estimator.update(now, this.counters.bytesDone);
    if (now - this.lastEmit < EMIT_EVERY_MS) return;
    this.lastEmit = now;
    const progress = this.progress();
    const { agent, runId } = this.ids;
    if (this.kind === 'purge') {
      this.reporter.publish({
        type: 'purge.progress',
        agent,
        runId,
        progress,
        dryRun: this.extra.dryRun ?? false,
      });
    } else if (this.kind === 'sync') {
      this.reporter.publish({ type: 'sync.progress', agent, runId, progress });
    } else {
      this.reporter.publish({ type: 'scan.progress', agent, runId, progress });
    }
  }
}
