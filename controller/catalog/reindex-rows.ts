// Which rows a reindex re-reads: those an older reader (or none) read, of this destination or of none.
import type { ReindexBatchQuery, ReindexCandidate } from './catalog.js';
import type { SqlClient } from './sql-client.js';

/**
 * Rows a reindex re-reads: $1 is the current reader version, or NULL for all; $2 this catalog's
 * destination, whose rows (and rows of no known destination) are the only ones it can read.
 */
const REINDEX_WHERE = `($1::int IS NULL OR meta_version IS NULL OR meta_version < $1::int)
  AND ($2::int IS NULL OR dest_id IS NULL OR dest_id = $2::int)`;

export async function listForReindex(
  db: SqlClient,
  options: ReindexBatchQuery,
  destId: number | null,
): Promise<ReindexCandidate[]> {
  const { rows } = await db.query<{
    id: string | number;
    stored_path: string;
    agent: string;
    meta_from: string | null;
  }>(
    `SELECT id, stored_path, agent, meta_from FROM files
     WHERE ${REINDEX_WHERE} AND (meta_from IS NOT NULL) = $3 AND id > $4 ORDER BY id LIMIT $5`,
    [options.all ? null : options.belowVersion, destId, options.borrowed, options.afterId, options.limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    storedPath: row.stored_path,
    agent: row.agent,
    metaFrom: row.meta_from,
  }));
}

export async function countForReindex(
  db: SqlClient,
  options: Omit<ReindexBatchQuery, 'afterId' | 'limit' | 'borrowed'>,
  destId: number | null,
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM files WHERE ${REINDEX_WHERE}`,
    [options.all ? null : options.belowVersion, destId],
  );
  return rows[0]?.n ?? 0;
}
