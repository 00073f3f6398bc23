// The catalog over any PostgreSQL connection: the same SQL for the embedded PGlite and a real server.
import { AppError } from '../../common/errors.js';
import type { StoredCopy } from '../../common/purge-plan.js';
import type { GenerationMetadata, MediaInfo } from '../metadata/extract.js';
import { METADATA_READER_VERSION } from '../../common/generation-metadata.js';
import type {
  FileDetail,
  AgentPosition,
  Catalog,
  DestinationRef,
  MetadataUpdate,
  PurgeOutcome,
  ReindexBatchQuery,
  ReindexCandidate,
  SearchPage,
  SearchQuery,
  SettledPurge,
  StoredFileRecord,
  StoredPathInfo,
  SyncRecord,
  UnsettledPurge,
} from './catalog.js';
import { metadataOf, readFileDetail, writeStarred } from './file-detail.js';
import { registerDestination } from './destinations.js';
import { migrate } from './migrations.js';
import { addModelNames, searchFiles } from './search-query.js';
import type { SqlClient } from './sql-client.js';

const INSERT_CHUNK = 200;

/**
 * Rows a reindex re-reads: $1 is the current reader version, or NULL for all; $2 this catalog's
 * destination, whose rows (and rows of no known destination) are the only ones it can read.
 */
const REINDEX_WHERE = `($1::int IS NULL OR meta_version IS NULL OR meta_version < $1::int)
  AND ($2::int IS NULL OR dest_id IS NULL OR dest_id = $2::int)`;

/**
 * PGlite has no autovacuum, so nothing would ever gather the planner's statistics: without them
 * it guesses every filter rare and scans the whole table for a `--model` search (210 ms over 200k
 * rows instead of 6). The catalog runs ANALYZE itself once this many rows were added, and again
 * each time the table has doubled since, so it costs a handful of runs over a catalog's life.
 */
const ANALYZE_AFTER_ROWS = 1000;

/** The columns a metadata reading fills; reindex rewrites exactly these. */
const META_COLUMNS = [
  'meta_source',
  'meta_error',
  'infotext',
  'prompt',
  'negative_prompt',
  'seed',
  'steps',
  'cfg',
  'sampler',
  'scheduler',
  'model',
  'model_hash',
  'loras',
  'width',
  'height',
  'params',
  'samplers',
  'comfy_prompt',
  'comfy_workflow',
  'media_kind',
  'pixel_width',
  'pixel_height',
  'meta_version',
] as const;

const FILE_COLUMNS = [
  'agent',
  'container_path',
  'stored_path',
  'size',
  'mtime_ms',
  'xxh64',
  'synced_at',
  'run_id',
  'host',
  'container_id',
  'container_name',
  'image',
  'meta_from',
  'dest_id',
  ...META_COLUMNS,
] as const;

/** JSONB parameters go as text; PostgreSQL casts them on insert. */
function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function rowValues(record: StoredFileRecord, destId: number | null): unknown[] {
  const p = record.provenance ?? {};
  return [
    record.agent,
    record.containerPath,
    record.storedPath,
    record.size,
    record.mtimeMs,
    record.xxh64,
    record.syncedAt.toISOString(),
    record.runId,
    p.host ?? null,
    p.containerId ?? null,
    p.containerName ?? null,
    p.image ?? null,
    record.metaFrom ?? null,
    destId,
    ...metaValues(record.metadata, record.media),
  ];
}

/** Values of META_COLUMNS, in its order. */
function metaValues(meta: GenerationMetadata | undefined, media: MediaInfo | undefined): unknown[] {
  return [
    meta?.source ?? null,
    meta?.error ?? null,
    meta?.raw ?? null,
    meta?.prompt ?? null,
    meta?.negativePrompt ?? null,
    meta?.seed === undefined ? null : String(meta.seed),
    meta?.steps ?? null,
    meta?.cfg ?? null,
    meta?.sampler ?? null,
    meta?.scheduler ?? null,
    meta?.model ?? null,
    meta?.modelHash ?? null,
    json(meta?.loras),
    meta?.width ?? null,
    meta?.height ?? null,
    json(meta?.params),
    json(meta?.samplers),
    json(meta?.comfyPrompt),
    json(meta?.comfyWorkflow),
    media?.kind ?? null,
    media?.width ?? null,
    media?.height ?? null,
    meta ? METADATA_READER_VERSION : null,
  ];
}

export interface CatalogOptions {
  /** The destination this controller stores into; its rows name it (see the destinations table). */
  destination?: DestinationRef;
  /**
   * The catalog serves this destination alone (the embedded one, inside it), so rows written
   * before destinations were recorded are this destination's, and are marked so on open.
   */
  ownsAllRows?: boolean;
}

/**
 * One SqlCatalog belongs to one controller process. Its queries run through the client, which
 * serializes (PGlite) or pools (PostgreSQL) them; multi-row writes run in one transaction.
 */
export class SqlCatalog implements Catalog {
  /** Rows added since the planner statistics were last gathered, and how many to wait for. */
  private addedSinceAnalyze = 0;
  private analyzeAfter = ANALYZE_AFTER_ROWS;

  private constructor(
    private readonly db: SqlClient,
    /** The destinations row of the folder this controller stores into; null when it stores nothing. */
    private readonly destId: number | null,
  ) {}

  /** Applies pending migrations and returns the catalog; closes the client if that fails. */
  static async open(db: SqlClient, options: CatalogOptions = {}): Promise<SqlCatalog> {
    let catalog: SqlCatalog;
    try {
      await migrate(db);
      const destId = options.destination ? await registerDestination(db, options.destination) : null;
      if (destId !== null && options.ownsAllRows) {
        await db.query('UPDATE files SET dest_id = $1 WHERE dest_id IS NULL', [destId]);
      }
      catalog = new SqlCatalog(db, destId);
      await catalog.analyzeIfNeverDone();
    } catch (err) {
      await db.close().catch(() => undefined);
      throw new AppError('E_CATALOG', `cannot prepare the catalog schema: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return catalog;
  }

  /**
   * A catalog filled before the catalog gathered statistics itself has none; gathering them once
   * takes about half a second at 200k rows. Later growth is caught by noteAdded.
   */
  private async analyzeIfNeverDone(): Promise<void> {
    const { rows } = await this.db.query<{ reltuples: number; filled: boolean }>(
      `SELECT reltuples, EXISTS (SELECT 1 FROM files) AS filled FROM pg_class WHERE oid = 'files'::regclass`,
    );
    const row = rows[0];
    if (row && Number(row.reltuples) < 0 && row.filled) await this.analyze();
    else if (row) this.analyzeAfter = Math.max(ANALYZE_AFTER_ROWS, Number(row.reltuples));
  }

  private async analyze(): Promise<void> {
    await this.db.exec('ANALYZE files');
    const { rows } = await this.db.query<{ reltuples: number }>(
      `SELECT reltuples FROM pg_class WHERE oid = 'files'::regclass`,
    );
    this.addedSinceAnalyze = 0;
    this.analyzeAfter = Math.max(ANALYZE_AFTER_ROWS, Number(rows[0]?.reltuples ?? 0));
  }

  /** Counts added rows and gathers statistics when the table has doubled; a failure only costs speed. */
  private async noteAdded(count: number): Promise<void> {
    this.addedSinceAnalyze += count;
    if (this.addedSinceAnalyze < this.analyzeAfter) return;
    await this.analyze().catch(() => {
      this.addedSinceAnalyze = 0; // try again after as many rows
    });
  }

  async storedIndex(agent: string): Promise<Map<string, Set<string>>> {
    const { rows } = await this.db.query<{ container_path: string; xxh64: string }>(
      'SELECT container_path, xxh64 FROM files WHERE agent = $1',
      [agent],
    );
    return hashesByPath(rows);
  }

  async storedIndexOf(agent: string, paths: readonly string[]): Promise<Map<string, Set<string>>> {
    if (paths.length === 0) return new Map();
    const { rows } = await this.db.query<{ container_path: string; xxh64: string }>(
      'SELECT container_path, xxh64 FROM files WHERE agent = $1 AND container_path = ANY($2::text[])',
      [agent, paths],
    );
    return hashesByPath(rows);
  }

  async agentPosition(agent: string): Promise<AgentPosition | null> {
    const { rows } = await this.db.query<{ epoch: string; generation: string | number }>(
      'SELECT epoch, generation FROM agent_positions WHERE agent = $1',
      [agent],
    );
    const row = rows[0];
    return row ? { epoch: row.epoch, generation: Number(row.generation) } : null;
  }

  async recordAgentPosition(agent: string, position: AgentPosition, runId: string): Promise<void> {
    await this.db.query(
      `INSERT INTO agent_positions (agent, epoch, generation, run_id, updated_at) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (agent) DO UPDATE SET epoch = EXCLUDED.epoch, generation = EXCLUDED.generation,
         run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at`,
      [agent, position.epoch, position.generation, runId],
    );
  }

  async findByStoredPath(storedPath: string): Promise<StoredPathInfo | null> {
    return (await this.findByStoredPaths([storedPath])).get(storedPath) ?? null;
  }

  async findByStoredPaths(storedPaths: readonly string[]): Promise<Map<string, StoredPathInfo>> {
    const found = new Map<string, StoredPathInfo>();
    if (storedPaths.length === 0) return found;
    const { rows } = await this.db.query<{
      agent: string;
      container_path: string;
      stored_path: string;
      xxh64: string;
      size: string | number;
    }>(
      'SELECT agent, container_path, stored_path, xxh64, size FROM files WHERE stored_path = ANY($1::text[])',
      [storedPaths],
    );
    for (const row of rows) {
      found.set(row.stored_path, {
        agent: row.agent,
        containerPath: row.container_path,
        xxh64: row.xxh64,
        size: Number(row.size),
      });
    }
    return found;
  }

  async recordStored(records: readonly StoredFileRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (let start = 0; start < records.length; start += INSERT_CHUNK) {
        const chunk = records.slice(start, start + INSERT_CHUNK);
        const params: unknown[] = [];
        const tuples = chunk.map((record) => {
          const base = params.length;
          params.push(...rowValues(record, this.destId));
          return `(${FILE_COLUMNS.map((_, i) => `$${base + i + 1}`).join(', ')})`;
        });
        await tx.query(
          `INSERT INTO files (${FILE_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}
           ON CONFLICT (agent, container_path, xxh64) DO NOTHING`,
          params,
        );
      }
      await addModelNames(
        tx,
        records.map((record) => record.metadata?.model),
      );
    });
    await this.noteAdded(records.length);
  }

  async storedCopies(agent: string): Promise<Map<string, Map<string, StoredCopy>>> {
    const { rows } = await this.db.query<{
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

  async markPurgeRequested(
    agent: string,
    runId: string,
    files: readonly { containerPath: string; xxh64: string }[],
  ): Promise<void> {
    if (files.length === 0) return;
    // A purged file whose bytes came back under its name (a reused name, the same seed) is asked for
    // again: clear the old purged_at, so a set purged_at always belongs to purge_run_id's deletion.
    await this.db.query(
      `UPDATE files SET purge_run_id = $2, purge_outcome = 'requested', purged_at = NULL
       FROM unnest($3::text[], $4::text[]) AS f(container_path, xxh64)
       WHERE files.agent = $1 AND files.container_path = f.container_path AND files.xxh64 = f.xxh64`,
      [agent, runId, files.map((file) => file.containerPath), files.map((file) => file.xxh64)],
    );
  }

  async recordPurgeOutcomes(
    agent: string,
    runId: string,
    outcomes: readonly PurgeOutcome[],
    at: Date,
  ): Promise<void> {
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

  /** The agent's rows are read through files_agent_path; a purge reads them all anyway (storedCopies). */
  async unsettledPurges(agent: string): Promise<UnsettledPurge[]> {
    const { rows } = await this.db.query<{
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

  async settlePurges(agent: string, settled: readonly SettledPurge[]): Promise<void> {
    if (settled.length === 0) return;
    await this.db.query(
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

  async recordSync(agent: string, record: SyncRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO agent_syncs (agent, run_id, ok, finished_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (agent) DO UPDATE SET run_id = EXCLUDED.run_id, ok = EXCLUDED.ok, finished_at = EXCLUDED.finished_at`,
      [agent, record.runId, record.ok, record.finishedAt.toISOString()],
    );
  }

  async lastSync(agent: string): Promise<SyncRecord | null> {
    const { rows } = await this.db.query<{ run_id: string; ok: boolean; finished_at: Date | string }>(
      'SELECT run_id, ok, finished_at FROM agent_syncs WHERE agent = $1',
      [agent],
    );
    const row = rows[0];
    return row ? { runId: row.run_id, ok: row.ok, finishedAt: new Date(row.finished_at) } : null;
  }

  async findMetadata(
    agent: string,
    containerPaths: readonly string[],
  ): Promise<Map<string, GenerationMetadata>> {
    const found = new Map<string, GenerationMetadata>();
    if (containerPaths.length === 0) return found;
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT DISTINCT ON (container_path) container_path, meta_source, meta_error, infotext, prompt,
              negative_prompt, seed::text AS seed, steps, cfg, sampler, scheduler, model, model_hash, loras,
              width, height, params, samplers, comfy_prompt, comfy_workflow
       FROM files WHERE agent = $1 AND container_path = ANY($2::text[])
         AND meta_source IS NOT NULL AND meta_source <> 'none'
       ORDER BY container_path, id DESC`,
      [agent, containerPaths],
    );
    for (const row of rows) {
      const metadata = metadataOf(row);
      if (metadata) found.set(row.container_path as string, metadata);
    }
    return found;
  }

  search(query: SearchQuery): Promise<SearchPage> {
    return searchFiles(this.db, query);
  }

  getFile(id: number): Promise<FileDetail | null> {
    return readFileDetail(this.db, id);
  }

  setStarred(id: number, starred: boolean, at: Date): Promise<boolean> {
    return writeStarred(this.db, id, starred, at);
  }

  async listForReindex(options: ReindexBatchQuery): Promise<ReindexCandidate[]> {
    const { rows } = await this.db.query<{
      id: string | number;
      stored_path: string;
      agent: string;
      meta_from: string | null;
    }>(
      `SELECT id, stored_path, agent, meta_from FROM files
       WHERE ${REINDEX_WHERE} AND (meta_from IS NOT NULL) = $3 AND id > $4 ORDER BY id LIMIT $5`,
      [
        options.all ? null : options.belowVersion,
        this.destId,
        options.borrowed,
        options.afterId,
        options.limit,
      ],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      storedPath: row.stored_path,
      agent: row.agent,
      metaFrom: row.meta_from,
    }));
  }

  async countForReindex(options: Omit<ReindexBatchQuery, 'afterId' | 'limit' | 'borrowed'>): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM files WHERE ${REINDEX_WHERE}`,
      [options.all ? null : options.belowVersion, this.destId],
    );
    return rows[0]?.n ?? 0;
  }

  async updateMetadata(id: number, update: MetadataUpdate): Promise<void> {
    const values = metaValues(update.metadata, update.media);
    const sets = META_COLUMNS.map((column, i) => `${column} = $${i + 2}`);
    const params: unknown[] = [id, ...values];
    // A row read from this destination's copy is this destination's, if nothing said so yet.
    if (this.destId !== null) {
      params.push(this.destId);
      sets.push(`dest_id = coalesce(dest_id, $${params.length})`);
    }
    if (update.metaFrom !== undefined) {
      params.push(update.metaFrom);
      sets.push(`meta_from = $${params.length}`);
    }
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE files SET ${sets.join(', ')} WHERE id = $1`, params);
      await addModelNames(tx, [update.metadata.model]);
    });
  }

  withAgentLease<T>(agent: string, work: () => Promise<T>): Promise<T | null> {
    return this.db.withLease(`agent:${agent}`, work);
  }

  async countFiles(agent?: string): Promise<number> {
    const { rows } = agent
      ? await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM files WHERE agent = $1', [agent])
      : await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM files');
    return rows[0]?.n ?? 0;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

function hashesByPath(rows: readonly { container_path: string; xxh64: string }[]): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  for (const row of rows) {
    let hashes = index.get(row.container_path);
    if (!hashes) index.set(row.container_path, (hashes = new Set()));
    hashes.add(row.xxh64);
  }
  return index;
}
