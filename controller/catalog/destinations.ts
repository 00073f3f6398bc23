// The destinations table: each --dest a controller stores into, so a row's copy can be found from the catalog alone.
import type { DestinationRef } from './catalog.js';
import type { SqlClient } from './sql-client.js';

/** Inserts the destination if it is new; its id either way. */
export async function registerDestination(db: SqlClient, destination: DestinationRef): Promise<number> {
  await db.query(
    'INSERT INTO destinations (host, path) VALUES ($1, $2) ON CONFLICT (host, path) DO NOTHING',
    [destination.host, destination.path],
  );
  const { rows } = await db.query<{ id: number }>(
    'SELECT id FROM destinations WHERE host = $1 AND path = $2',
    [destination.host, destination.path],
  );
  return Number(rows[0]!.id);
}

/** The destinations with these ids (nulls ignored), in one query. */
export async function destinationsOf(
  db: SqlClient,
  ids: readonly (number | string | null)[],
): Promise<Map<number, DestinationRef>> {
  const wanted = [...new Set(ids.filter((id) => id !== null).map(Number))];
  const found = new Map<number, DestinationRef>();
  if (wanted.length === 0) return found;
  const { rows } = await db.query<{ id: number; host: string; path: string }>(
    'SELECT id, host, path FROM destinations WHERE id = ANY($1::int[])',
    [wanted],
  );
  for (const row of rows) found.set(Number(row.id), { host: row.host, path: row.path });
  return found;
}
