// Waiting in tests: poll a condition with a deadline, never a fixed sleep.

/**
 * Polls `check` until it returns something other than undefined, and returns that. An error it
 * throws counts as "not yet" (a port not open yet), except a failed `expect`, which fails at once.
 * After `timeoutMs` it fails, saying what it waited for and what it saw last (a value or an error).
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; everyMs?: number; seen?: () => unknown } = {},
): Promise<T> {
  const { timeoutMs = 60_000, everyMs = 250 } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      last = options.seen?.();
    } catch (err) {
      if ((err as Error).name === 'AssertionError') throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const shown = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}; last seen: ${shown}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
