// The embedded database: PostgreSQL in WASM (PGlite) in this process, kept under <dest>/.forge-sync/catalog.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { AppError, errorMessage } from '../../common/errors.js';
import { unsafePathReason } from '../../common/path-safety.js';
import { TarReader } from '../../lib/tar-reader.js';
import { destFullError, ensureFreeSpace, isNoSpace } from '../host-store/dest-space.js';
import { BatchDurability, DirtyDirs, fsyncDir } from '../host-store/durable.js';
import type { SqlClient } from './sql-client.js';

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
  // 4.5 MB packed, 40 MB unpacked and gone again as soon as it is written: read whole, written with
  // synchronous calls (a thousand small files through the thread pool took a second).
  let unread: Buffer | null = gunzipSync(await readFile(seed));
  // The tar's length is about what the unpacked folder takes: refused before a byte is written.
  await ensureFreeSpace(parent, destName, unread.length, 'creating the catalog');
  const building = await mkdtemp(`${dataDir}.seed-`);
  try {
    const files: string[] = [];
    const dirty = new DirtyDirs();
    const tar = new TarReader({
      next: () => {
        const whole = unread;
        unread = null;
        return Promise.resolve(whole);
      },
    });
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
    await new BatchDurability('syncfs', building).commit(dirty, files);
    // rename(2) takes the place of an empty folder of that name, and of nothing else.
    await rename(building, dataDir);
    await fsyncDir(parent);
  } catch (err) {
    await rm(building, { recursive: true, force: true });
    throw err;
  }
}

/**
 * PGlite has one connection and queues queries itself, so concurrent agent syncs share it safely. Its
 * data folder belongs to one process at a time (the destination lock sees to that), so leases only
 * need to exclude work inside this process.
 */
export async function openPgliteClient(dataDir: string, destName = dataDir): Promise<SqlClient> {
  let db: PGlite;
  try {
    // PostgreSQL's default 128 MB of shared buffers would triple the controller's resident memory;
    // the catalog's working set is a few index pages per agent.
    const seed = await seedFor(dataDir);
    if (seed) await unpackSeed(seed, dataDir, destName);
    db = await PGlite.create(dataDir, { postgresqlconf: 'shared_buffers=16MB' });
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (isNoSpace(err)) throw destFullError(destName, `opening the catalog in ${dataDir}`, err);
    throw new AppError('E_CATALOG', `cannot open the catalog in ${dataDir}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return wrapPglite(db);
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
    async withLease(key, work) {
      if (leases.has(key)) return null;
      leases.add(key);
      try {
        return await work();
      } finally {
        leases.delete(key);
      }
    },
    close: () => db.close(),
  };
}
