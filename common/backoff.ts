// The wait before reconnecting to the controller, for the CLI watcher and the dashboard alike.

/** Doubling from `initialMs` up to `maxMs`, each wait spread by ± `jitter` (0.25 is ±25%). */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  jitter: number;
}

export const RECONNECT_BACKOFF: Backoff = { initialMs: 500, maxMs: 10_000, jitter: 0.25 };

/**
 * The wait in ms before retry number `attempt` (0 for the first retry after a drop). The jitter
 * keeps clients that lost the same controller from all coming back in the same instant.
 * `random` returns a number in [0, 1), as Math.random does.
 */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  backoff: Backoff = RECONNECT_BACKOFF,
): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt));
  return Math.round(base * (1 - backoff.jitter + 2 * backoff.jitter * random()));
}
