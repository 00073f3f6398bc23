// A real PostgreSQL server for tests: FORGE_SYNC_TEST_PG_URL, a fresh database per test, and skip-or-fail when absent.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';

/** The admin URL of a test server (scripts/pg-test-server.sh prints it); its role may create databases. */
export const PG_URL = process.env.FORGE_SYNC_TEST_PG_URL || undefined;

const HOW = 'start one with `eval "$(bash scripts/pg-test-server.sh start)"` (see README)';

/**
 * `describe` for suites that need PostgreSQL. Without FORGE_SYNC_TEST_PG_URL the suite is skipped,
 * and its name says why; under CI=true it fails instead, because CI starts a server and a skip there
 * would hide a broken set-up.
 */
export function describePg(name: string, suite: () => void): void {
  if (PG_URL) {
    describe(name, suite);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has a PostgreSQL server to run against', () => {
        throw new Error(`FORGE_SYNC_TEST_PG_URL is not set, and CI=true makes that a failure: ${HOW}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: FORGE_SYNC_TEST_PG_URL is not set; ${HOW}]`, suite);
  }
}

/** Runs one statement on its own connection, for set-up and for looking at what the catalog wrote. */
export async function pgQuery<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export interface FreshDatabase {
  name: string;
  url: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A new, empty database on the test server, dropped (with whatever is still connected) on dispose. */
export async function freshDatabase(adminUrl = requirePgUrl()): Promise<FreshDatabase> {
  const name = `fst_${randomBytes(6).toString('hex')}`;
  await pgQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    [Symbol.asyncDispose]: async () => {
      await pgQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

function requirePgUrl(): string {
  if (!PG_URL) throw new Error(`FORGE_SYNC_TEST_PG_URL is not set: ${HOW}`);
  return PG_URL;
}
