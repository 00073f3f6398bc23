// The reconnect wait: doubling, capped, and spread by its jitter.
import { describe, expect, it } from 'vitest';
import { type Backoff, RECONNECT_BACKOFF, backoffDelay } from './backoff.js';

const exact: Backoff = { ...RECONNECT_BACKOFF, jitter: 0 };

describe('backoffDelay', () => {
  it.each([
    ['the first retry', 0, 0.5, RECONNECT_BACKOFF, 500],
    ['doubling', 1, 0.5, RECONNECT_BACKOFF, 1000],
    ['doubling again', 3, 0.5, RECONNECT_BACKOFF, 4000],
    ['capped', 5, 0.5, RECONNECT_BACKOFF, 10_000],
    ['capped however long it has failed', 5000, 0.5, RECONNECT_BACKOFF, 10_000],
    ['a negative attempt counts as the first', -2, 0.5, RECONNECT_BACKOFF, 500],
    ['jitter at its low end', 0, 0, RECONNECT_BACKOFF, 375],
    ['jitter near its high end', 0, 0.999_999, RECONNECT_BACKOFF, 625],
    ['jitter on the cap', 9, 0, RECONNECT_BACKOFF, 7500],
    ['no jitter', 2, 0.9, exact, 2000],
    ['other bounds', 2, 0.5, { initialMs: 100, maxMs: 300, jitter: 0 }, 300],
  ])('%s', (_name, attempt, random, backoff, ms) =>
    expect(backoffDelay(attempt, () => random, backoff)).toBe(ms),
  );

  it('stays inside its jitter band with Math.random', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const base = Math.min(10_000, 500 * 2 ** attempt);
      const ms = backoffDelay(attempt);
      expect(ms).toBeGreaterThanOrEqual(base * 0.75);
      expect(ms).toBeLessThanOrEqual(base * 1.25);
    }
  });
});
