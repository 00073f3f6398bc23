// Reading one stored file's whole catalog row (GET /v1/files/:id), and starring it, apart from the search SQL.
import type { FileDetail } from './catalog.js';
import { detailOf, metadataOf, type Row } from './file-columns.js';
import type { SqlClient } from './sql-client.js';

/** Sets or clears the star of the row with this id; false when there is none. */
export async function writeStarred(db: SqlClient, id: number, starred: boolean, at: Date): Promise<boolean> {
  const { rows } = await db.query<{ id: unknown }>(
    'UPDATE files SET starred_at = $2 WHERE id = $1 RETURNING id',
    [id, starred ? at.toISOString() : null],
  );
  return rows.length > 0;
}

/** The row with this id, every column, and its destination; null when there is none. */
export async function readFileDetail(db: SqlClient, id: number): Promise<FileDetail | null> {
  const { rows } = await db.query<Row>(
    `SELECT f.*, f.seed::text AS seed_text, d.host AS dest_host, d.path AS dest_path
     FROM files f LEFT JOIN destinations d ON d.id = f.dest_id WHERE f.id = $1`,
    [id],
  );
  if (!rows[0]) return null;
  // NUMERIC since migration 5: read as exact text, whatever the driver makes of numerics.
  const row: Row = { ...rows[0], seed: rows[0].seed_text };
  const destText = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return {
    ...detailOf(row),
    destHost: destText(row.dest_host),
    destPath: destText(row.dest_path),
    metadata: metadataOf(row),
  };
}
