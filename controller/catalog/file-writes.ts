// Writing files rows: a sync's durable copies, and a reindex's new reading of one row.
import type { MetadataUpdate, StoredFileRecord } from './catalog.js';
import { INSERT_COLUMNS, insertValues, READING_COLUMNS, readingValues } from './file-columns.js';
import { addModelNames } from './model-names.js';
import type { SqlClient } from './sql-client.js';

/** Rows per INSERT statement: well under PostgreSQL's 65,535 parameters. */
const INSERT_CHUNK = 200;

/**
 * Inserts the records in one transaction, `destId` naming the destination they are stored in. A
 * (agent, container path, hash) already present is left as it is.
 */
export async function insertStored(
  db: SqlClient,
  records: readonly StoredFileRecord[],
  destId: number | null,
): Promise<void> {
  const names = INSERT_COLUMNS.map((column) => column.name).join(', ');
  await db.transaction(async (tx) => {
    for (let start = 0; start < records.length; start += INSERT_CHUNK) {
      const chunk = records.slice(start, start + INSERT_CHUNK);
      const params: unknown[] = [];
      const tuples = chunk.map((record) => {
        const base = params.length;
        params.push(...insertValues(record, destId));
        return `(${INSERT_COLUMNS.map((_, i) => `$${base + i + 1}`).join(', ')})`;
      });
      await tx.query(
        `INSERT INTO files (${names}) VALUES ${tuples.join(', ')}
         ON CONFLICT (agent, container_path, xxh64) DO NOTHING`,
        params,
      );
    }
    await addModelNames(
      tx,
      records.map((record) => record.metadata?.model),
    );
  });
}

/**
 * Replaces row `id`'s reading columns with a new reading. A row read from this destination's copy
 * (`destId`) is this destination's, if nothing said so yet.
 */
export async function updateReading(
  db: SqlClient,
  id: number,
  update: MetadataUpdate,
  destId: number | null,
): Promise<void> {
  const sets = READING_COLUMNS.map((column, i) => `${column.name} = $${i + 2}`);
  const params: unknown[] = [id, ...readingValues(update)];
  if (destId !== null) {
    params.push(destId);
    sets.push(`dest_id = coalesce(dest_id, $${params.length})`);
  }
  if (update.metaFrom !== undefined) {
    params.push(update.metaFrom);
    sets.push(`meta_from = $${params.length}`);
  }
  await db.transaction(async (tx) => {
    await tx.query(`UPDATE files SET ${sets.join(', ')} WHERE id = $1`, params);
    await addModelNames(tx, [update.metadata.model]);
  });
}
