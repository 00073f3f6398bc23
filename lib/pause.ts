// Waiting: a pause that a stop cuts short, and turns given to the event loop during synchronous work.
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * For loops of cheap synchronous work (syscalls on files in the page cache): the returned function
 * gives the event loop a turn once `ms` have passed since the last one, and resolves at once
 * otherwise, so requests and timers wait at most about `ms` behind the loop.
 */
export function turnTaker(ms = 10): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < ms) return;
    await nextTurn();
    since = performance.now();
  };
}
