// The server database: a PostgreSQL catalog reached over node-postgres pools, which several controllers may share.
import pg from 'pg';
import { AppError } from '../../common/errors.js';
import { type SqlClient, type SqlExecutor, leaseKey } from './sql-client.js';

/** int8 as PGlite returns it: a number when it fits, a bigint when it would lose digits. */
function parseInt8(text: string): number | bigint {
  const value = BigInt(text);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

/**
 * node-postgres returns int8 as a string; PGlite returns a number (or a bigint beyond 2^53), and the
 * catalog's SQL is written for one behaviour. Timestamps (Date) and JSONB (parsed) already agree.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** `host:port/database` of a URL, for messages: never the user's password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
    const port = parsed.port || parsed.searchParams.get('port') || '5432';
    const database =
      decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username);
    return `${host}:${port}/${database}`;
  } catch {
    return 'the --catalog URL';
  }
}

/** Why a connection failed, in a few words: a socket error code, or the server's own message. */
function connectReason(err: unknown): string {
  const error = err as { code?: unknown; message?: unknown; errors?: { code?: unknown }[] };
  const nested = Array.isArray(error.errors) ? error.errors.find((item) => item.code)?.code : undefined;
  const code = typeof error.code === 'string' ? error.code : nested;
  // A server's SQLSTATE (28P01, 3D000) says less than its message does; a socket code says it all.
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  return typeof error.message === 'string' && error.message ? error.message : String(err);
}

/**
 * Queries run on a pool of up to 8 connections and may be issued concurrently. Each lease holds
 * a session-level advisory lock on a connection of its own, taken from a second pool: leases held
 * for a whole agent sync must never use up the connections that sync's queries need. The server
 * drops a lock when its connection ends, so a controller that dies never leaves an agent leased.
 */
export async function openPostgresClient(url: string): Promise<SqlClient> {
  const where = describeUrl(url);
  const options: pg.PoolConfig = {
    connectionString: url,
    application_name: 'forge-sync',
    types,
    connectionTimeoutMillis: 10_000,
    // A lease connection sits idle for a whole agent sync; keepalives notice a vanished server.
    keepAlive: true,
    idleTimeoutMillis: 30_000,
  };
  const pool = new pg.Pool({ ...options, max: 8 });
  const leasePool = new pg.Pool({ ...options, max: 16 });
  // An idle connection the server closes (a restart) is dropped by the pool; without a listener,
  // its 'error' event would end the process. The next checkout reconnects or reports the failure.
  const ignore = (): void => undefined;
  pool.on('error', ignore);
  leasePool.on('error', ignore);

  const connect = async (from: pg.Pool): Promise<pg.PoolClient> => {
    try {
      return await from.connect();
    } catch (err) {
      throw new AppError(
        'E_CATALOG',
        `cannot reach the PostgreSQL catalog at ${where} (${connectReason(err)})`,
        {
          cause: err,
        },
      );
    }
  };
  const onClient = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await connect(pool);
    try {
      return await work(client);
    } finally {
      client.release();
    }
  };
  const executor = (client: pg.PoolClient): SqlExecutor => ({
    query: async <T>(sql: string, params?: unknown[]) => ({
      rows: (await client.query(sql, params)).rows as T[],
    }),
    exec: (sql) => client.query(sql),
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= Promise.all([pool.end(), leasePool.end()]).then(() => undefined));

  // Fail at open, with one clear line, rather than at the first sync.
  try {
    await onClient((client) => client.query('SELECT 1'));
  } catch (err) {
    await close().catch(ignore);
    throw err;
  }

  return {
    query: <T>(sql: string, params?: unknown[]) =>
      onClient((client) => executor(client).query<T>(sql, params)),
    exec: (sql) => onClient((client) => client.query(sql)),
    async transaction(work) {
      const client = await connect(pool);
      let broken: Error | undefined;
      // Between statements nothing reads from the connection: see withLease.
      const lost = (err: Error): void => {
        broken = err;
      };
      client.on('error', lost);
      try {
        await client.query('BEGIN');
        const result = await work(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // A connection that cannot roll back is not returned to the pool.
          broken = rollbackError as Error;
        }
        throw err;
      } finally {
        client.off('error', lost);
        client.release(broken);
      }
    },
    async withLease(key, work) {
      const lock = leaseKey(key).toString();
      const client = await connect(leasePool);
      let broken: Error | undefined;
      // The connection idles, checked out, for the whole of `work`. If the server drops it, the lock
      // goes with it; without this listener, its 'error' event would end the process. The unlock
      // then fails too, and the connection is discarded rather than returned to the pool.
      const lost = (err: Error): void => {
        broken = err;
      };
      client.on('error', lost);
      try {
        const locked = await client
          .query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [lock])
          .catch((err: Error) => {
            broken = err;
            throw err;
          });
        if (!locked.rows[0]?.locked) return null;
        try {
          return await work();
        } finally {
          try {
            await client.query('SELECT pg_advisory_unlock($1)', [lock]);
          } catch (unlockError) {
            // Ending the connection is what releases the lock now.
            broken = unlockError as Error;
          }
        }
      } finally {
        client.off('error', lost);
        client.release(broken);
      }
    },
    close,
  };
}
