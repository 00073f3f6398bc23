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

/**
 * Runs background tasks with at most `limit` in flight. `start` waits for a free slot, so a producer
 * that calls it in a loop is held back; `settle` waits for every task started so far. A task's
 * failure is kept and rethrown by `settle`, after the other tasks end.
 */
export class TaskGroup {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async start(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    const promise: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }

  /** Whether a task has failed; `settle` throws its error. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
    if (this.failure) throw this.failure.error;
  }
}
