// The embedded database: PostgreSQL in WASM (PGlite) in this process, kept under <dest>/.forge-sync/catalog.
import { PGlite } from '@electric-sql/pglite';
import { AppError } from '../../common/errors.js';
import type { SqlClient } from './sql-client.js';

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
    db = await PGlite.create(dataDir, { postgresqlconf: 'shared_buffers=16MB' });
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
