// The distinct model names, kept beside the files for --model searches: a substring matches few names, then rows by index.
import type { SqlClient } from './sql-client.js';

/** The lower-case model names containing `part` in any case, from the model_names table. */
export async function modelsLike(db: SqlClient, part: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT name FROM model_names WHERE name LIKE '%' || lower($1) || '%'`,
    [part.replace(/[%_\\]/g, '\\$&')],
  );
  return rows.map((row) => row.name);
}

/**
 * Adds the model names to model_names, lower-cased by the database (as `lower(model)` in the
 * index is), for --model searches. In sorted order, so that two controllers adding the same new
 * names on a shared catalog wait for each other instead of deadlocking.
 */
export async function addModelNames(
  db: Pick<SqlClient, 'query'>,
  models: readonly (string | undefined)[],
): Promise<void> {
  const names = [...new Set(models.filter((model) => model !== undefined))];
  if (names.length === 0) return;
  await db.query(
    `INSERT INTO model_names (name) SELECT DISTINCT lower(m) FROM unnest($1::text[]) AS m ORDER BY 1
     ON CONFLICT (name) DO NOTHING`,
    [names],
  );
}
