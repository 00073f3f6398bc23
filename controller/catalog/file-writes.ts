// Writing files rows: a sync's durable copies, and a reindex's new reading of one row.
import type { MetadataUpdate, StoredFileRecord } from './catalog.js';
import { INSERT_COLUMNS, insertRowJson, READING_COLUMNS, readingValues } from './file-columns.js';
import { addModelNames } from './model-names.js';
import type { SqlClient } from './sql-client.js';

/** JSON text per INSERT statement: a few statements per batch, never one string of a batch's every workflow. */
const INSERT_CHUNK_CHARS = 4 << 20;

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
  const sql = `INSERT INTO files (${names})
    SELECT ${names} FROM json_populate_recordset(NULL::files, $1::json)
    ON CONFLICT (agent, container_path, xxh64) DO NOTHING`;
  await db.transaction(async (tx) => {
    let rows: string[] = [];
    let chars = 0;
    const flush = async (): Promise<void> => {
      if (rows.length === 0) return;
      const json = `[${rows.join(',')}]`;
      rows = [];
      chars = 0;
      await tx.query(sql, [json]);
    };
    for (const record of records) {
      const row = insertRowJson(record, destId);
      rows.push(row);
      chars += row.length;
      if (chars >= INSERT_CHUNK_CHARS) await flush();
    }
    await flush();
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
