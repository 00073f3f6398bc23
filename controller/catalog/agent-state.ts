// Per-agent state beside the files: where an agent's last complete pass left off, and how its last sync ended.
import type { AgentPosition, SyncRecord } from './catalog.js';
import type { SqlClient } from './sql-client.js';

export async function agentPosition(db: SqlClient, agent: string): Promise<AgentPosition | null> {
  const { rows } = await db.query<{ epoch: string; generation: string | number }>(
    'SELECT epoch, generation FROM agent_positions WHERE agent = $1',
    [agent],
  );
  const row = rows[0];
  return row ? { epoch: row.epoch, generation: Number(row.generation) } : null;
}

export async function recordAgentPosition(
  db: SqlClient,
  agent: string,
  position: AgentPosition,
  runId: string,
): Promise<void> {
  await db.query(
    `INSERT INTO agent_positions (agent, epoch, generation, run_id, updated_at) VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (agent) DO UPDATE SET epoch = EXCLUDED.epoch, generation = EXCLUDED.generation,
       run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at`,
    [agent, position.epoch, position.generation, runId],
  );
}

export async function recordSync(db: SqlClient, agent: string, record: SyncRecord): Promise<void> {
  await db.query(
    `INSERT INTO agent_syncs (agent, run_id, ok, finished_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (agent) DO UPDATE SET run_id = EXCLUDED.run_id, ok = EXCLUDED.ok, finished_at = EXCLUDED.finished_at`,
    [agent, record.runId, record.ok, record.finishedAt.toISOString()],
  );
}

export async function lastSync(db: SqlClient, agent: string): Promise<SyncRecord | null> {
  const { rows } = await db.query<{ run_id: string; ok: boolean; finished_at: Date | string }>(
    'SELECT run_id, ok, finished_at FROM agent_syncs WHERE agent = $1',
    [agent],
  );
  const row = rows[0];
  return row ? { runId: row.run_id, ok: row.ok, finishedAt: new Date(row.finished_at) } : null;
}
