// The catalog over any PostgreSQL connection: the same SQL for the embedded PGlite and a real server.
import { AppError } from '../../common/errors.js';
import type { GenerationMetadata } from '../../common/generation-metadata.js';
import type { StoredCopy } from '../../common/purge-plan.js';
import { agentPosition, lastSync, recordAgentPosition, recordSync } from './agent-state.js';
import type {
  AgentPosition,
  Catalog,
  DestinationRef,
  FileDetail,
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
import { registerDestination } from './destinations.js';
import { readFileDetail, writeStarred } from './file-detail.js';
import { countFiles, findByStoredPaths, findMetadata, storedIndex, storedIndexOf } from './file-lookups.js';
import { insertStored, updateReading } from './file-writes.js';
import { migrate } from './migrations.js';
import { PlannerStats } from './planner-stats.js';
import {
  markPurgeRequested,
  recordPurgeOutcomes,
  settlePurges,
  storedCopies,
  unsettledPurges,
} from './purge-audit.js';
import { countForReindex, listForReindex } from './reindex-rows.js';
import { searchFiles } from './search-query.js';
import type { SqlClient } from './sql-client.js';

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
 * serializes (PGlite) or pools (PostgreSQL) them; multi-row writes run in one transaction. The SQL
 * lives in one file per concern (writes, lookups, search, file detail, purge audit, agent state,
 * reindex rows), all reading the files table through the one column table in file-columns.ts.
 */
export class SqlCatalog implements Catalog {
  private readonly stats: PlannerStats;

  private constructor(
    private readonly db: SqlClient,
    /** The destinations row of the folder this controller stores into; null when it stores nothing. */
    private readonly destId: number | null,
  ) {
    this.stats = new PlannerStats(db);
  }

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
      await catalog.stats.analyzeIfNeverDone();
    } catch (err) {
      await db.close().catch(() => undefined);
      throw new AppError('E_CATALOG', `cannot prepare the catalog schema: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return catalog;
  }

  storedIndex(agent: string): Promise<Map<string, Set<string>>> {
    return storedIndex(this.db, agent);
  }

  storedIndexOf(agent: string, paths: readonly string[]): Promise<Map<string, Set<string>>> {
    return storedIndexOf(this.db, agent, paths);
  }

  agentPosition(agent: string): Promise<AgentPosition | null> {
    return agentPosition(this.db, agent);
  }

  recordAgentPosition(agent: string, position: AgentPosition, runId: string): Promise<void> {
    return recordAgentPosition(this.db, agent, position, runId);
  }

  async findByStoredPath(storedPath: string): Promise<StoredPathInfo | null> {
    return (await this.findByStoredPaths([storedPath])).get(storedPath) ?? null;
  }

  findByStoredPaths(storedPaths: readonly string[]): Promise<Map<string, StoredPathInfo>> {
    return findByStoredPaths(this.db, storedPaths);
  }

  async recordStored(records: readonly StoredFileRecord[]): Promise<void> {
    if (records.length === 0) return;
    await insertStored(this.db, records, this.destId);
    await this.stats.noteAdded(records.length);
  }

  storedCopies(agent: string): Promise<Map<string, Map<string, StoredCopy>>> {
    return storedCopies(this.db, agent);
  }

  markPurgeRequested(
    agent: string,
    runId: string,
    files: readonly { containerPath: string; xxh64: string }[],
  ): Promise<void> {
    return markPurgeRequested(this.db, agent, runId, files);
  }

  recordPurgeOutcomes(
    agent: string,
    runId: string,
    outcomes: readonly PurgeOutcome[],
    at: Date,
  ): Promise<void> {
    return recordPurgeOutcomes(this.db, agent, runId, outcomes, at);
  }

  unsettledPurges(agent: string): Promise<UnsettledPurge[]> {
    return unsettledPurges(this.db, agent);
  }

  settlePurges(agent: string, settled: readonly SettledPurge[]): Promise<void> {
    return settlePurges(this.db, agent, settled);
  }

  recordSync(agent: string, record: SyncRecord): Promise<void> {
    return recordSync(this.db, agent, record);
  }

  lastSync(agent: string): Promise<SyncRecord | null> {
    return lastSync(this.db, agent);
  }

  findMetadata(agent: string, containerPaths: readonly string[]): Promise<Map<string, GenerationMetadata>> {
    return findMetadata(this.db, agent, containerPaths);
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

  listForReindex(options: ReindexBatchQuery): Promise<ReindexCandidate[]> {
    return listForReindex(this.db, options, this.destId);
  }

  countForReindex(options: Omit<ReindexBatchQuery, 'afterId' | 'limit' | 'borrowed'>): Promise<number> {
    return countForReindex(this.db, options, this.destId);
  }

  updateMetadata(id: number, update: MetadataUpdate): Promise<void> {
    return updateReading(this.db, id, update, this.destId);
  }

  withAgentLease<T>(agent: string, work: () => Promise<T>): Promise<T | null> {
    return this.db.withLease(`agent:${agent}`, work);
  }

  countFiles(agent?: string): Promise<number> {
    return countFiles(this.db, agent);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
