// An honest rate and ETA: smoothed, null until there is enough data, never negative, no jump after a resume.
import type { Progress } from './progress.js';

/** Samples closer together than this are merged, so bursts of small chunks do not swing the rate. */
const MIN_SAMPLE_MS = 250;
/** The rate is reported once this much time and at least two samples have been seen. */
const WARMUP_MS = 1000;
/** Weight of the newest sample: about the last few seconds dominate. */
const ALPHA = 0.3;

/**
 * Tracks one phase's progress. Only bytes done while it runs count toward the rate, so a phase
 * that starts with work already done (a resumed transfer) does not report that work as speed.
 */
export class RateEstimator {
  private rate: number | null = null;
  private lastAt: number;
  private lastBytes: number;
  private samples = 0;

  constructor(
    private readonly startedAt: number,
    startBytes = 0,
  ) {
    this.lastAt = startedAt;
    this.lastBytes = startBytes;
  }

  /** Feeds the bytes done so far at time `now` (ms). */
  update(now: number, bytesDone: number): void {
    const elapsed = now - this.lastAt;
    if (elapsed < MIN_SAMPLE_MS) return;
    const instant = (Math.max(0, bytesDone - this.lastBytes) * 1000) / elapsed;
    this.rate = this.rate === null ? instant : ALPHA * instant + (1 - ALPHA) * this.rate;
    this.lastAt = now;
    this.lastBytes = bytesDone;
    this.samples++;
  }

  /** Bytes per second, or null while warming up or when nothing has moved yet. */
  rateBps(now: number): number | null {
    if (this.rate === null || this.samples < 2 || now - this.startedAt < WARMUP_MS || this.rate <= 0)
      return null;
    return this.rate;
  }

  /** Seconds left for the remaining bytes at the smoothed rate; null when the rate is not known. */
  etaSeconds(now: number, bytesDone: number, bytesTotal: number): number | null {
    const remaining = Math.max(0, bytesTotal - bytesDone);
    if (remaining === 0) return 0;
    const rate = this.rateBps(now);
    return rate === null ? null : Math.max(0, Math.round(remaining / rate));
  }

  /** A Progress value for these counters at `now`. */
  progress(now: number, counters: Omit<Progress, 'rateBps' | 'etaSeconds'>): Progress {
    return {
      ...counters,
      rateBps: this.rateBps(now) === null ? null : Math.round(this.rateBps(now)!),
      etaSeconds: this.etaSeconds(now, counters.bytesDone, counters.bytesTotal),
    };
  }
}
