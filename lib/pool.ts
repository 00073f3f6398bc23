// Bounded concurrency: run an async function over items with at most `limit` in flight.

/**
 * Calls `fn` for each item with at most `limit` calls running at once and resolves when all have
 * settled. A rejection stops new calls from starting and is rethrown once the running ones end.
 */
export async function forEachLimit<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let index = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (failure) return;
      const next = iterator.next();
      if (next.done) return;
      const current = index++;
      try {
        await fn(next.value, current);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failure) throw failure.error;
}
