// Auth failures rate-limited per remote address: a small token bucket, and 429 with Retry-After once it is empty.
import { performance } from 'node:perf_hooks';

export interface AuthLimits {
  /** Failures an address may make in a burst. */
  burst: number;
  /** One more failure is allowed after each of these. */
  refillMs: number;
  /** Addresses remembered at most; the least recently failed are forgotten first. */
  maxAddresses: number;
}

/** 10 wrong tokens in a row, then one a second: a person mistyping never notices, a guesser gets nowhere. */
export const DEFAULT_AUTH_LIMITS: AuthLimits = { burst: 10, refillMs: 1000, maxAddresses: 10_000 };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Counts failed authentications per remote address. While an address's bucket is empty, every
 * request of it that needs auth is refused with 429 before its token is even compared, so a right
 * guess cannot be told from a wrong one. Time is the monotonic clock: a wall-clock change neither
 * lifts nor extends a block. One instance per server, used from its event loop only.
 */
export class AuthFailureLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: AuthLimits = DEFAULT_AUTH_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfterMs(address: string): number {
    const bucket = this.refilled(address);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.ceil((1 - bucket.tokens) * this.limits.refillMs);
  }

  /** Counts one failed authentication of `address`. */
  fail(address: string): void {
    const bucket = this.refilled(address) ?? { tokens: this.limits.burst, at: this.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    // Re-inserted, so the map's order is the order of last failure, oldest first.
    this.buckets.delete(address);
    this.buckets.set(address, bucket);
    while (this.buckets.size > this.limits.maxAddresses) {
      this.buckets.delete(this.buckets.keys().next().value!);
    }
  }

  private refilled(address: string): Bucket | undefined {
    const bucket = this.buckets.get(address);
    if (!bucket) return undefined;
    const now = this.now();
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + (now - bucket.at) / this.limits.refillMs);
    bucket.at = now;
    if (bucket.tokens >= this.limits.burst) {
      this.buckets.delete(address);
      return undefined;
    }
    return bucket;
  }
}
