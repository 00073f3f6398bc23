// The embedded default catalog: PostgreSQL in WASM (PGlite), kept under <dest>/.forge-sync/catalog.
import { PGlite } from '@electric-sql/pglite';
import { AppError } from '../../common/errors.js';
import type { StoredCopy } from '../../common/purge-plan.js';
import type { Catalog, PurgeOutcome, StoredFileRecord, StoredPathInfo, SyncRecord } from './catalog.js';
import { migrate } from './migrations.js';

const INSERT_CHUNK = 500;

/**
 * PGlite runs in this process with one connection, and queues queries itself, so concurrent agent
 * syncs share it safely. The data folder must belong to one process at a time; the controller's
 * destination lock guarantees that.
 */
export class PgliteCatalog implements Catalog {
  private constructor(private readonly db: PGlite) {}

  static async open(dataDir: string): Promise<PgliteCatalog> {
    let db: PGlite;
    try {
      // PostgreSQL's default 128 MB of shared buffers would triple the controller's resident memory;
      // the catalog's working set is a few index pages per agent.
      db = await PGlite.create(dataDir, { postgresqlconf: 'shared_buffers=16MB' });
    } catch (err) {
      throw new AppError('E_CATALOG', `cannot open the catalog in ${dataDir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    await migrate(db, async (sql) => {
      await db.transaction(async (tx) => {
        await tx.exec(sql);
      });
    });
    return new PgliteCatalog(db);
  }

  async storedIndex(agent: string): Promise<Map<string, Set<string>>> {
    const { rows } = await this.db.query<{ container_path: string; xxh64: string }>(
      'SELECT container_path, xxh64 FROM files WHERE agent = $1',
      [agent],
    );
    const index = new Map<string, Set<string>>();
    for (const row of rows) {
      let hashes = index.get(row.container_path);
      if (!hashes) index.set(row.container_path, (hashes = new Set()));
      hashes.add(row.xxh64);
    }
    return index;
  }

  async findByStoredPath(storedPath: string): Promise<StoredPathInfo | null> {
    const { rows } = await this.db.query<{
      agent: string;
      container_path: string;
      xxh64: string;
      size: string | number;
    }>('SELECT agent, container_path, xxh64, size FROM files WHERE stored_path = $1', [storedPath]);
    const row = rows[0];
    return row
      ? { agent: row.agent, containerPath: row.container_path, xxh64: row.xxh64, size: Number(row.size) }
      : null;
  }

  async recordStored(records: readonly StoredFileRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (let start = 0; start < records.length; start += INSERT_CHUNK) {
        const chunk = records.slice(start, start + INSERT_CHUNK);
        const params: unknown[] = [];
        const tuples = chunk.map((record) => {
          const base = params.length;
          params.push(
            record.agent,
            record.containerPath,
            record.storedPath,
            record.size,
            record.mtimeMs,
            record.xxh64,
            record.syncedAt.toISOString(),
            record.runId,
          );
          return `(${Array.from({ length: 8 }, (_, i) => `$${base + i + 1}`).join(', ')})`;
        });
        await tx.query(
          `INSERT INTO files (agent, container_path, stored_path, size, mtime_ms, xxh64, synced_at, run_id)
           VALUES ${tuples.join(', ')}
           ON CONFLICT (agent, container_path, xxh64) DO NOTHING`,
          params,
        );
      }
    });
  }

  async storedCopies(agent: string): Promise<Map<string, Map<string, StoredCopy>>> {
    const { rows } = await this.db.query<{ container_path: string; xxh64: string; stored_path: string; size: string | number }>(
      'SELECT container_path, xxh64, stored_path, size FROM files WHERE agent = $1',
      [agent],
    );
    const copies = new Map<string, Map<string, StoredCopy>>();
    for (const row of rows) {
      let byHash = copies.get(row.container_path);
      if (!byHash) copies.set(row.container_path, (byHash = new Map()));
      byHash.set(row.xxh64, { storedPath: row.stored_path, size: Number(row.size) });
    }
    return copies;
  }

  async markPurgeRequested(
    agent: string,
    runId: string,
    files: readonly { containerPath: string; xxh64: string }[],
  ): Promise<void> {
    if (files.length === 0) return;
    await this.db.query(
      `UPDATE files SET purge_run_id = $2, purge_outcome = 'requested'
       FROM unnest($3::text[], $4::text[]) AS f(container_path, xxh64)
       WHERE files.agent = $1 AND files.container_path = f.container_path AND files.xxh64 = f.xxh64`,
      [agent, runId, files.map((file) => file.containerPath), files.map((file) => file.xxh64)],
    );
  }

  async recordPurgeOutcomes(agent: string, runId: string, outcomes: readonly PurgeOutcome[], at: Date): Promise<void> {
    if (outcomes.length === 0) return;
    await this.db.query(
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

  async recordSync(agent: string, record: SyncRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO agent_syncs (agent, run_id, ok, finished_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (agent) DO UPDATE SET run_id = EXCLUDED.run_id, ok = EXCLUDED.ok, finished_at = EXCLUDED.finished_at`,
      [agent, record.runId, record.ok, record.finishedAt.toISOString()],
    );
  }

  async lastSync(agent: string): Promise<SyncRecord | null> {
    const { rows } = await this.db.query<{ run_id: string; ok: boolean; finished_at: Date }>(
      'SELECT run_id, ok, finished_at FROM agent_syncs WHERE agent = $1',
      [agent],
    );
    const row = rows[0];
    return row ? { runId: row.run_id, ok: row.ok, finishedAt: new Date(row.finished_at) } : null;
  }

  async countFiles(agent?: string): Promise<number> {
    const { rows } = agent
      ? await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM files WHERE agent = $1', [agent])
      : await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM files');
    return rows[0]?.n ?? 0;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
