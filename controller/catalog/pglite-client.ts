// The embedded database: PostgreSQL in WASM (PGlite) on a thread of this process, kept under <dest>/.forge-sync/catalog.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import type { PGlite } from '@electric-sql/pglite';
import { AppError, errorMessage } from '../../common/errors.js';
import { unsafePathReason } from '../../common/path-safety.js';
import { ChunkReader } from '../../lib/chunk-reader.js';
import { TarReader } from '../../lib/tar-reader.js';
import { destFullError, ensureFreeSpace, isNoSpace } from '../host-store/dest-space.js';
import { BatchDurability, DirtyDirs, fsyncDir } from '../host-store/durable.js';
import type { SqlClient, SqlExecutor } from './sql-client.js';
import { WORKER_URL, takeEarlyThread } from './pglite-preload.js';

/** Where the seed data folders live: beside this module, in the checkout and in the bundle alike. */
export const SEED_DIR = new URL('./pglite-seed/', import.meta.url).href;

export function seedFileName(pgliteVersion: string): string {
  return `pglite-${pgliteVersion}.tar.gz`;
}

/** The version of the PGlite package this process loads. */
export async function installedPgliteVersion(): Promise<string> {
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    const text = await readFile(manifest, 'utf8').catch(() => null);
    if (text === null) continue;
    const pkg = JSON.parse(text) as { name?: string; version?: string };
    if (pkg.name === '@electric-sql/pglite' && pkg.version) return pkg.version;
  }
  throw new Error('cannot find the PGlite package version');
}

/**
 * The packed data folder of a freshly initialised PGlite of the installed version, if one ships and
 * `dataDir` is new. A new catalog starts from it instead of running initdb in this process, which
 * takes seconds and twice the memory of an open catalog. No seed for this version: initdb runs as before.
 */
async function seedFor(dataDir: string): Promise<URL | undefined> {
  const fresh = await access(join(dataDir, 'PG_VERSION')).then(
    () => false,
    () => true,
  );
  if (!fresh) return undefined;
  // A folder that exists with other content is not ours to fill: let PGlite say what it is.
  const entries = await readdir(dataDir).catch(() => []);
  if (entries.length > 0) return undefined;
  const version = await installedPgliteVersion().catch(() => null);
  if (!version) return undefined;
  const seed = new URL(seedFileName(version), SEED_DIR);
  return (await access(seed).then(
    () => true,
    () => false,
  ))
    ? seed
    : undefined;
}

/**
 * Unpacks the seed into `dataDir` with the host's own file calls: PGlite's `loadDataDir` writes its
 * thousand files through the WASM file layer, 2 s of a first sync. The folder is built beside
 * `dataDir`, made durable, then renamed into place, so a stop half-way never leaves a half-built
 * catalog (a leftover `.seed-*` folder beside it is removed by the next start).
 */
async function unpackSeed(seed: URL, dataDir: string, destName: string): Promise<void> {
  const parent = dirname(dataDir);
  await mkdir(parent, { recursive: true });
  for (const name of await readdir(parent)) {
    if (name.startsWith(`${basename(dataDir)}.seed-`))
      await rm(join(parent, name), { recursive: true, force: true });
  }
  // 4.5 MB packed, 40 MB unpacked: inflated as a stream on the thread pool while the files are
  // written, with synchronous calls (a thousand small files through the thread pool took a second).
  // Inflated whole on this thread it took 0.3-0.5 s of the first start, and 80 MB for a moment.
  const packed = await readFile(seed);
  // A gzip member ends with its unpacked length (mod 4 GiB), about what the folder takes: refused
  // before a byte is written.
  await ensureFreeSpace(parent, destName, packed.readUInt32LE(packed.length - 4), 'creating the catalog');
  const building = await mkdtemp(`${dataDir}.seed-`);
  const inflate = createGunzip({ chunkSize: 1 << 20 });
  try {
    const files: string[] = [];
    const dirty = new DirtyDirs();
    inflate.end(packed);
    const tar = new TarReader(new ChunkReader(inflate));
    for (let header = await tar.nextEntry(); header; header = await tar.nextEntry()) {
      const name = header.name.replace(/^\/+/, '').replace(/\/+$/, '');
      if (name === '') continue;
      const unsafe = unsafePathReason(name);
      if (unsafe) throw new Error(`the catalog seed holds ${JSON.stringify(header.name)}: ${unsafe}`);
      const path = join(building, name);
      if (header.type === 'directory') {
        mkdirSync(path, { recursive: true, mode: 0o700 });
        dirty.add(path);
        continue;
      }
      if (header.type !== 'file') throw new Error(`the catalog seed holds a ${header.type} at ${name}`);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      dirty.add(path);
      const fd = openSync(path, 'wx', 0o600);
      try {
        for await (const piece of tar.body()) {
          for (let done = 0; done < piece.length;) done += writeSync(fd, piece, done);
        }
      } finally {
        closeSync(fd);
      }
      files.push(path);
    }
    // Durable before it takes its name, as a batch of synced files is: one filesystem sync, or
    // every file and folder where none runs.
    await new BatchDurability('syncfs', building).commit(dirty, files, false);
    // rename(2) takes the place of an empty folder of that name, and of nothing else.
    await rename(building, dataDir);
    await fsyncDir(parent);
  } catch (err) {
    inflate.destroy();
    await rm(building, { recursive: true, force: true });
    throw err;
  }
}

/** PostgreSQL's default 128 MB of shared buffers would triple the controller's resident memory; the
 * catalog's working set is a few index pages per agent. */
const PGLITE_OPTIONS = { postgresqlconf: 'shared_buffers=16MB' };

/**
 * Opens the embedded catalog in `dataDir` on a thread of its own (pglite-worker.js): PGlite's WASM
 * is the largest CPU cost of a sync after the bytes themselves, and there it runs beside the receive
 * path instead of on it. PGlite has one connection and queues queries itself, so concurrent agent
 * syncs share it safely. Its data folder belongs to one process at a time (the destination lock
 * sees to that), so leases only need to exclude work inside this process.
 */
export async function openPgliteClient(dataDir: string, destName = dataDir): Promise<SqlClient> {
  try {
    const seed = await seedFor(dataDir);
    if (seed) await unpackSeed(seed, dataDir, destName);
    return await PgliteThread.start(dataDir);
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (isNoSpace(err)) throw destFullError(destName, `opening the catalog in ${dataDir}`, err);
    throw new AppError('E_CATALOG', `cannot open the catalog in ${dataDir}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** An error as it crossed the thread: its message and PostgreSQL's fields (code, detail, …). */
type PlainError = { message: string } & Record<string, string | number>;

/** The error again on this side, with PostgreSQL's fields, so callers test `code` as with a client in this thread. */
function errorFrom(plain: PlainError): Error {
  return Object.assign(new Error(plain.message), plain);
}

type Answer = { id: number; rows?: unknown[]; done?: true; error?: PlainError };

/** The SqlClient over the catalog's thread: each call is a message, answered in turn. */
class PgliteThread implements SqlClient {
  private readonly waiting = new Map<
    number,
    { resolve: (answer: Answer) => void; reject: (err: Error) => void }
  >();
  private readonly leases = new Set<string>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (answer: Answer) => {
      const call = this.waiting.get(answer.id);
      if (!call) return;
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      if (answer.error) call.reject(errorFrom(answer.error));
      else call.resolve(answer);
    });
    const fail = (err: Error): void => {
      this.failure ??= new AppError('E_CATALOG', `the catalog's thread stopped: ${err.message}`, {
        cause: err,
      });
      for (const call of this.waiting.values()) call.reject(this.failure);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`it exited with code ${code}`)));
  }

  static async start(dataDir: string): Promise<PgliteThread> {
    const early = takeEarlyThread();
    const worker = early ?? new Worker(WORKER_URL, { workerData: { dataDir, options: PGLITE_OPTIONS } });
    let onMessage: (message: { ready?: true; failed?: PlainError }) => void = () => undefined;
    let onError: (err: Error) => void = () => undefined;
    let onExit: (code: number) => void = () => undefined;
    const opened = await new Promise<{ ready?: true; failed?: PlainError }>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`the catalog's thread exited with code ${code}`));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      if (early) {
        // Started early, unreferenced: held open now that an answer is awaited.
        early.ref();
        early.postMessage({ dataDir, options: PGLITE_OPTIONS });
      }
    }).finally(() => worker.off('message', onMessage).off('error', onError).off('exit', onExit));
    if (opened.failed) {
      await worker.terminate();
      throw errorFrom(opened.failed);
    }
    worker.unref();
    return new PgliteThread(worker);
  }

  private call(message: Record<string, unknown>): Promise<Answer> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    // The thread keeps the process alive only while an answer is awaited.
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  private executor(tx?: number): SqlExecutor {
    return {
      query: async <T>(sql: string, params?: unknown[]) => ({
        rows: (await this.call({ op: 'query', sql, params, tx })).rows as T[],
      }),
      exec: (sql: string) => this.call({ op: 'exec', sql, tx }),
    };
  }

  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> {
    return this.executor().query<T>(sql, params);
  }

  exec(sql: string): Promise<unknown> {
    return this.executor().exec(sql);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const tx = this.nextId++;
    await this.call({ op: 'begin', tx });
    let result: T;
    try {
      result = await work(this.executor(tx));
    } catch (err) {
      await this.call({ op: 'end', tx, commit: false }).catch(() => undefined);
      throw err;
    }
    await this.call({ op: 'end', tx, commit: true });
    return result;
  }

  withLease<T>(key: string, work: () => Promise<T>): Promise<T | null> {
    return leaseInProcess(this.leases, key, work);
  }

  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    await this.call({ op: 'close' });
    // Held until the thread has ended, so a closed catalog has let go of its data folder.
    this.worker.ref();
    await exited;
  }
}

/** The catalog's SQL surface over one PGlite instance. */
export function wrapPglite(db: PGlite): SqlClient {
  const leases = new Set<string>();
  return {
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    transaction: (work) =>
      db.transaction((tx) =>
        work({ query: (sql, params) => tx.query(sql, params), exec: (sql) => tx.exec(sql) }),
      ),
    withLease: (key, work) => leaseInProcess(leases, key, work),
    close: () => db.close(),
  };
}

/**
 * A lease held in this process only: an embedded catalog's data folder belongs to one process (the
 * destination lock), so excluding work inside it is all a lease must do.
 */
async function leaseInProcess<T>(
  leases: Set<string>,
  key: string,
  work: () => Promise<T>,
): Promise<T | null> {
  if (leases.has(key)) return null;
  leases.add(key);
  try {
    return await work();
  } finally {
    leases.delete(key);
  }
}
