// The auth failure limit: a burst, then one try per refill, per address, by an injected monotonic clock.
import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from './auth-limit.js';

describe('AuthFailureLimiter', () => {
  it('allows a burst of failures, then one per refill, counted per address', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter({ burst: 3, refillMs: 1000, maxAddresses: 100 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs('a')).toBe(0);
      limiter.fail('a');
    }
    expect(limiter.retryAfterMs('a')).toBe(1000);
    expect(limiter.retryAfterMs('b')).toBe(0);
    now = 400;
    expect(limiter.retryAfterMs('a')).toBe(600);
    now = 1000;
    expect(limiter.retryAfterMs('a')).toBe(0);
    limiter.fail('a');
    expect(limiter.retryAfterMs('a')).toBe(1000);
    // Refilled whole: forgotten.
    now = 10_000;
    expect(limiter.retryAfterMs('a')).toBe(0);
  });

  it('remembers at most maxAddresses, forgetting the least recently failed', () => {
    const limiter = new AuthFailureLimiter({ burst: 1, refillMs: 60_000, maxAddresses: 2 }, () => 0);
    for (const address of ['a', 'b', 'c']) limiter.fail(address);
    expect(limiter.retryAfterMs('a')).toBe(0);
    expect(limiter.retryAfterMs('b')).toBe(60_000);
    expect(limiter.retryAfterMs('c')).toBe(60_000);
  });
});
