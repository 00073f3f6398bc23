// The embedded catalog's thread started as the CLI starts, before --dest is opened: PGlite's WASM
// compiles while the command's own code loads, then the thread opens the data folder it is sent.
import { Worker } from 'node:worker_threads';

export const WORKER_URL = new URL('./pglite-worker.js', import.meta.url);

let early: Worker | undefined;

/**
 * Starts the catalog's thread now, for `takeEarlyThread`. Until it is taken it holds nothing open:
 * a command that stops first (a usage error, a held lock) exits as it would have.
 */
export function startCatalogThreadEarly(): void {
  if (early) return;
  const worker = new Worker(WORKER_URL, { workerData: {} });
  worker.unref();
  early = worker;
  // One that fails before it is taken is not handed out: the taker starts its own, which reports why.
  worker.once('error', () => undefined);
  worker.once('exit', () => {
    if (early === worker) early = undefined;
  });
}

/** The thread started early, if it is still there, once: the caller sends it `{ dataDir, options }`. */
export function takeEarlyThread(): Worker | undefined {
  const worker = early;
  early = undefined;
  return worker;
}
