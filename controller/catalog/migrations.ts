// Versioned schema migrations, plain SQL that PGlite and PostgreSQL both run.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Append only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'files',
    sql: `
      CREATE TABLE files (
        id           BIGSERIAL PRIMARY KEY,
        agent        TEXT        NOT NULL,
        container_path TEXT      NOT NULL,
        stored_path  TEXT        NOT NULL UNIQUE,
        size         BIGINT      NOT NULL CHECK (size >= 0),
        mtime_ms     DOUBLE PRECISION NOT NULL,
        xxh64        CHAR(16)    NOT NULL,
        synced_at    TIMESTAMPTZ NOT NULL,
        run_id       TEXT        NOT NULL,
        purged_at    TIMESTAMPTZ,
        purge_run_id TEXT,
        UNIQUE (agent, container_path, xxh64)
      );
      CREATE INDEX files_agent_path ON files (agent, container_path);
      CREATE INDEX files_run ON files (run_id);
    `,
  },
  {
    version: 2,
    name: 'purge-audit',
    sql: `
      ALTER TABLE files ADD COLUMN purge_outcome TEXT;
      CREATE INDEX files_purge_run ON files (purge_run_id);
      CREATE TABLE agent_syncs (
        agent       TEXT PRIMARY KEY,
        run_id      TEXT        NOT NULL,
        ok          BOOLEAN     NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL
      );
    `,
  },
];

/** The minimal SQL surface a migration run needs; both catalog implementations provide it. */
export interface SqlRunner {
  exec(sql: string): Promise<unknown>;
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

/** Applies pending migrations in order, each in its own transaction. Returns the versions applied. */
export async function migrate(db: SqlRunner, transaction: (sql: string) => Promise<void>): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
  const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  const applied = new Set(rows.map((row) => Number(row.version)));
  const done: number[] = [];
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    await transaction(
      `${migration.sql};\nINSERT INTO schema_migrations (version, name) VALUES (${migration.version}, '${migration.name}');`,
    );
    done.push(migration.version);
  }
  return done;
}
