// The embedded database: PostgreSQL in WASM (PGlite) in this process, kept under <dest>/.forge-sync/catalog.
import { access, readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { AppError } from '../../common/errors.js';
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
 * The packed data folder of a freshly initialised PGlite of the installed version, if one ships.
 * A new catalog starts from it instead of running initdb in this process, which takes seconds and
 * twice the memory of an open catalog. No seed for this version: initdb runs as before.
 */
async function seedFor(dataDir: string): Promise<Blob | undefined> {
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
  const bytes = await readFile(new URL(seedFileName(version), SEED_DIR)).catch(() => null);
  return bytes ? new Blob([bytes]) : undefined;
}

/**
 * PGlite has one connection and queues queries itself, so concurrent agent syncs share it safely. Its
 * data folder belongs to one process at a time (the destination lock sees to that), so leases only
 * need to exclude work inside this process.
 */
export async function openPgliteClient(dataDir: string): Promise<SqlClient> {
  let db: PGlite;
  try {
    // PostgreSQL's default 128 MB of shared buffers would triple the controller's resident memory;
    // the catalog's working set is a few index pages per agent.
    const seed = await seedFor(dataDir);
    db = await PGlite.create(dataDir, {
      postgresqlconf: 'shared_buffers=16MB',
      ...(seed ? { loadDataDir: seed } : {}),
    });
  } catch (err) {
    throw new AppError('E_CATALOG', `cannot open the catalog in ${dataDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
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
