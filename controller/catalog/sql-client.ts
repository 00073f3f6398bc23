// The small SQL surface the catalog is written against, so PGlite and PostgreSQL share every query.

export interface SqlExecutor {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<unknown>;
}

/**
 * A connection (or pool) to a PostgreSQL database. One instance belongs to one catalog; `query` may be
 * called concurrently, `transaction` runs its function on one connection and commits when it
 * resolves, rolls back when it throws.
 */
export interface SqlClient extends SqlExecutor {
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs `work` while holding the lease named `key`, which only one holder at a time may have,
   * across every process sharing the database. Resolves null without running `work` when another
   * holder has it.
   */
  withLease<T>(key: string, work: () => Promise<T>): Promise<T | null>;
  close(): Promise<void>;
}

/** A stable 63-bit key for a lease name, for pg_try_advisory_lock(bigint). */
export function leaseKey(name: string): bigint {
  // FNV-1a, 64-bit, folded to a positive signed bigint.
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`forge-sync:${name}`)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash & 0x7fffffffffffffffn;
}
