// The embedded catalog's own thread: PGlite (PostgreSQL in WASM) runs here, so its CPU is spent beside
// the receive path, not on it. Plain JavaScript: a worker starts on Node's own loader, from a checkout,
// under the tests and in the bundle alike. pglite-client.ts speaks to it; one message in, one answer out.
//
// Start: workerData { dataDir, options }, or workerData {} and a first message { dataDir, options }.
// In:  { id, op: 'query', sql, params?, tx? } | { id, op: 'exec', sql, tx? }
//      { id, op: 'begin', tx } | { id, op: 'end', tx, commit } | { id, op: 'close' }
// Out: { id, rows } | { id, done: true } | { id, error: { message, ...fields } }
// At start: { ready: true } or { failed: { message, ...fields } }.
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const port = parentPort;
if (!port) throw new Error('pglite-worker.js runs as a worker thread');

/** What of an error crosses the thread: its message, and the fields PostgreSQL errors carry. */
function plain(err) {
  const out = { message: err instanceof Error ? err.message : String(err) };
  if (err && typeof err === 'object') {
    for (const key of ['code', 'detail', 'hint', 'severity', 'constraint', 'table', 'column', 'errno']) {
      const value = err[key];
      if (typeof value === 'string' || typeof value === 'number') out[key] = value;
    }
  }
  return out;
}

/**
 * PGlite's WASM compiled before the data folder is known: a thread started early
 * (pglite-preload.ts) does it while the command loads and opens --dest. Its file bundle is left
 * to PGlite: read here too, it cost more memory than it saved time.
 */
async function loadArtifacts() {
  const wasm = await readFile(new URL('pglite.wasm', import.meta.resolve('@electric-sql/pglite')));
  return { pgliteWasmModule: await globalThis.WebAssembly.compile(wasm) };
}

/** Where to open: given at start, or, for a thread started early, in its first message. */
function openRequest() {
  if (workerData.dataDir) return Promise.resolve(workerData);
  return new Promise((resolve) => port.once('message', resolve));
}

let db;
try {
  const artifacts = loadArtifacts();
  // A failure is told only once the thread has been asked to open: a thread started early has
  // no listener before that.
  artifacts.catch(() => undefined);
  const request = await openRequest();
  db = await PGlite.create(request.dataDir, { ...request.options, ...(await artifacts) });
} catch (err) {
  port.postMessage({ failed: plain(err) });
  port.close();
}

/** Open transactions by the main thread's id: the executor, and how to end it. */
const open = new Map();

/** Starts a transaction and answers once it holds PGlite; its end is answered when it has committed or rolled back. */
function begin(id, txId) {
  /** The 'end' message, once it came: { id, commit }. */
  let end;
  db.transaction(
    (tx) =>
      new Promise((resolve, reject) => {
        open.set(txId, { tx, resolve, reject, onEnd: (message) => (end = message) });
        port.postMessage({ id, done: true });
      }),
  ).then(
    () => port.postMessage({ id: end.id, done: true }),
    (err) => {
      if (!end) return port.postMessage({ id, error: plain(err) });
      // A rollback asked for is done when PGlite has rolled back; a commit that failed says why.
      port.postMessage(end.commit ? { id: end.id, error: plain(err) } : { id: end.id, done: true });
    },
  );
}

const ROLLBACK = new Error('rolled back');

async function handle(message) {
  const { id, op } = message;
  if (op === 'begin') return begin(id, message.tx);
  if (op === 'end') {
    const entry = open.get(message.tx);
    if (!entry) return port.postMessage({ id, error: { message: `no open transaction ${message.tx}` } });
    open.delete(message.tx);
    entry.onEnd({ id, commit: message.commit });
    if (message.commit) entry.resolve();
    else entry.reject(ROLLBACK);
    return;
  }
  if (op === 'close') {
    await db.close();
    port.postMessage({ id, done: true });
    port.close();
    return;
  }
  const target = message.tx === undefined ? db : open.get(message.tx)?.tx;
  if (!target) throw new Error(`no open transaction ${message.tx}`);
  if (op === 'query') {
    const result = await target.query(message.sql, message.params);
    port.postMessage({ id, rows: result.rows });
  } else if (op === 'exec') {
    await target.exec(message.sql);
    port.postMessage({ id, done: true });
  } else throw new Error(`unknown operation ${op}`);
}

if (db) {
  port.on('message', (message) => {
    handle(message).catch((err) => port.postMessage({ id: message.id, error: plain(err) }));
  });
  port.postMessage({ ready: true });
}
