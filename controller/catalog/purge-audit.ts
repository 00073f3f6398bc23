// The purge audit in the files rows: what a purge asked agents to delete, and what came of it.
import type { StoredCopy } from '../../common/purge-plan.js';
import type { PurgeOutcome, SettledPurge, UnsettledPurge } from './catalog.js';
import type { SqlClient } from './sql-client.js';

export async function storedCopies(
  db: SqlClient,
  agent: string,
): Promise<Map<string, Map<string, StoredCopy>>> {
  const { rows } = await db.query<{
    container_path: string;
    xxh64: string;
    stored_path: string;
    size: string | number;
  }>('SELECT container_path, xxh64, stored_path, size FROM files WHERE agent = $1', [agent]);
  const copies = new Map<string, Map<string, StoredCopy>>();
  for (const row of rows) {
    let byHash = copies.get(row.container_path);
    if (!byHash) copies.set(row.container_path, (byHash = new Map()));
    byHash.set(row.xxh64, { storedPath: row.stored_path, size: Number(row.size) });
  }
  return copies;
}

export async function markPurgeRequested(
  db: SqlClient,
  agent: string,
  runId: string,
  files: readonly { containerPath: string; xxh64: string }[],
): Promise<void> {
  if (files.length === 0) return;
  // A purged file whose bytes came back under its name (a reused name, the same seed) is asked for
  // again: clear the old purged_at, so a set purged_at always belongs to purge_run_id's deletion.
  await db.query(
    `UPDATE files SET purge_run_id = $2, purge_outcome = 'requested', purged_at = NULL
     FROM unnest($3::text[], $4::text[]) AS f(container_path, xxh64)
     WHERE files.agent = $1 AND files.container_path = f.container_path AND files.xxh64 = f.xxh64`,
    [agent, runId, files.map((file) => file.containerPath), files.map((file) => file.xxh64)],
  );
}

export async function recordPurgeOutcomes(
  db: SqlClient,
  agent: string,
  runId: string,
  outcomes: readonly PurgeOutcome[],
  at: Date,
): Promise<void> {
  if (outcomes.length === 0) return;
  await db.query(
    `UPDATE files SET
       purge_run_id = $2,
       purge_outcome = CASE WHEN o.purged THEN 'purged' ELSE 'kept:' || o.reason END,
       purged_at = CASE WHEN o.purged THEN $3::timestamptz ELSE files.purged_at END
     FROM unnest($4::text[], $5::text[], $6::boolean[], $7::text[]) AS o(container_path, xxh64, purged, reason)
     WHERE files.agent = $1 AND files.container_path = o.container_path AND files.xxh64 = o.xxh64`,
    [
      agent,
      runId,
      at.toISOString(),
      outcomes.map((outcome) => outcome.containerPath),
      outcomes.map((outcome) => outcome.xxh64),
      outcomes.map((outcome) => outcome.purged),
      outcomes.map((outcome) => outcome.reason ?? ''),
    ],
  );
}

/** The agent's rows are read through the (agent, container_path, xxh64) index; a purge reads them all anyway (storedCopies). */
export async function unsettledPurges(db: SqlClient, agent: string): Promise<UnsettledPurge[]> {
  const { rows } = await db.query<{
    container_path: string;
    xxh64: string;
    size: string | number;
    mtime_ms: number;
    purge_run_id: string;
  }>(
    `SELECT container_path, xxh64, size, mtime_ms, purge_run_id FROM files
     WHERE agent = $1 AND purge_outcome = 'requested' ORDER BY id`,
    [agent],
  );
  return rows.map((row) => ({
    containerPath: row.container_path,
    xxh64: row.xxh64,
    size: Number(row.size),
    mtimeMs: Number(row.mtime_ms),
    runId: row.purge_run_id,
  }));
}

export async function settlePurges(
  db: SqlClient,
  agent: string,
  settled: readonly SettledPurge[],
): Promise<void> {
  if (settled.length === 0) return;
  await db.query(
    `UPDATE files SET
       purge_outcome = s.outcome,
       purged_at = CASE WHEN s.outcome = 'purged' THEN s.purged_at ELSE files.purged_at END
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
       AS s(container_path, xxh64, run_id, outcome, purged_at)
     WHERE files.agent = $1 AND files.container_path = s.container_path AND files.xxh64 = s.xxh64
       AND files.purge_run_id = s.run_id AND files.purge_outcome = 'requested'`,
    [
      agent,
      settled.map((item) => item.containerPath),
      settled.map((item) => item.xxh64),
      settled.map((item) => item.runId),
      settled.map((item) => item.outcome),
      settled.map((item) => item.purgedAt?.toISOString() ?? null),
    ],
  );
}
