// The rate and ETA estimator: null until known, never negative, smooth, and no jump after a resume.
import { describe, expect, it } from 'vitest';
import { RateEstimator } from './eta.js';

const MB = 1_000_000;

/** Feeds a steady rate (bytes/s) from `fromBytes`, sampling every `stepMs`, and returns the estimator. */
function steady(
  rate: number,
  seconds: number,
  stepMs = 250,
  fromBytes = 0,
): { estimator: RateEstimator; now: number; bytes: number } {
  const estimator = new RateEstimator(0, fromBytes);
  let bytes = fromBytes;
  let now = 0;
  for (let t = stepMs; t <= seconds * 1000; t += stepMs) {
    now = t;
    bytes = fromBytes + (rate * t) / 1000;
    estimator.update(now, bytes);
  }
  return { estimator, now, bytes };
}

describe('RateEstimator', () => {
  it('reports no rate and no ETA before it has enough data', () => {
    const estimator = new RateEstimator(0);
    expect(estimator.rateBps(0)).toBeNull();
    expect(estimator.etaSeconds(0, 0, 10 * MB)).toBeNull();
    estimator.update(300, 1 * MB);
    expect(estimator.rateBps(300)).toBeNull();
    estimator.update(600, 2 * MB);
    expect(estimator.rateBps(600)).toBeNull(); // two samples, but under a second in
  });

  it('converges on a steady rate and gives the ETA of the remaining bytes', () => {
    const { estimator, now, bytes } = steady(10 * MB, 5);
    expect(estimator.rateBps(now)).toBeCloseTo(10 * MB, -3);
    expect(estimator.etaSeconds(now, bytes, bytes + 100 * MB)).toBe(10);
  });

  it('does not count work done before it started as speed (a resumed transfer)', () => {
    // 80% was done by an earlier run; this run moves 1 MB/s.
    const { estimator, now, bytes } = steady(1 * MB, 3, 250, 800 * MB);
    expect(estimator.rateBps(now)).toBeCloseTo(1 * MB, -3);
    expect(estimator.etaSeconds(now, bytes, 1000 * MB)).toBeGreaterThan(190);
  });

  it('is never negative: bytes going backwards count as no progress', () => {
    const estimator = new RateEstimator(0);
    estimator.update(500, 5 * MB);
    estimator.update(1000, 6 * MB);
    estimator.update(1500, 2 * MB);
    expect(estimator.rateBps(1500) ?? 0).toBeGreaterThanOrEqual(0);
    expect(estimator.etaSeconds(1500, 2 * MB, 10 * MB) ?? 0).toBeGreaterThanOrEqual(0);
    expect(estimator.etaSeconds(1500, 12 * MB, 10 * MB)).toBe(0);
  });

  it('smooths a stall instead of jumping', () => {
    const { estimator, now, bytes } = steady(10 * MB, 5);
    estimator.update(now + 250, bytes); // one stalled sample
    const rate = estimator.rateBps(now + 250)!;
    expect(rate).toBeGreaterThan(5 * MB);
    expect(rate).toBeLessThan(10 * MB);
  });

  it('ignores samples closer together than a quarter second', () => {
    const estimator = new RateEstimator(0);
    estimator.update(100, 50 * MB);
    estimator.update(200, 100 * MB);
    estimator.update(1200, 110 * MB);
    estimator.update(1500, 113 * MB);
    // One sample from 0 to 1200 ms: 110 MB over 1.2 s, then 3 MB over 0.3 s.
    expect(estimator.rateBps(1500)).toBeCloseTo(0.3 * 10 * MB + (0.7 * (110 * MB)) / 1.2, -3);
  });

  it('builds a Progress value with a whole-number rate', () => {
    const { estimator, now, bytes } = steady(3 * MB, 4);
    const progress = estimator.progress(now, {
      filesDone: 3,
      filesTotal: 10,
      bytesDone: bytes,
      bytesTotal: 2 * bytes,
    });
    expect(Number.isInteger(progress.rateBps)).toBe(true);
    expect(progress.etaSeconds).toBe(4);
  });
});
