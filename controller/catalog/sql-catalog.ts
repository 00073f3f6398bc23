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
  ReindexCandidate,
  SearchPage,
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
 * A method that only passes its arguments on takes them as Catalog declares them.
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

  storedIndex(...args: Parameters<Catalog['storedIndex']>): Promise<Map<string, Set<string>>> {
    return storedIndex(this.db, ...args);
  }

  storedIndexOf(...args: Parameters<Catalog['storedIndexOf']>): Promise<Map<string, Set<string>>> {
    return storedIndexOf(this.db, ...args);
  }

  agentPosition(...args: Parameters<Catalog['agentPosition']>): Promise<AgentPosition | null> {
    return agentPosition(this.db, ...args);
  }

  recordAgentPosition(...args: Parameters<Catalog['recordAgentPosition']>): Promise<void> {
    return recordAgentPosition(this.db, ...args);
  }

  async findByStoredPath(storedPath: string): Promise<StoredPathInfo | null> {
    return (await this.findByStoredPaths([storedPath])).get(storedPath) ?? null;
  }

  findByStoredPaths(...args: Parameters<Catalog['findByStoredPaths']>): Promise<Map<string, StoredPathInfo>> {
    return findByStoredPaths(this.db, ...args);
  }

  async recordStored(records: readonly StoredFileRecord[]): Promise<void> {
    if (records.length === 0) return;
    await insertStored(this.db, records, this.destId);
    await this.stats.noteAdded(records.length);
  }

  storedCopies(...args: Parameters<Catalog['storedCopies']>): Promise<Map<string, Map<string, StoredCopy>>> {
    return storedCopies(this.db, ...args);
  }

  markPurgeRequested(...args: Parameters<Catalog['markPurgeRequested']>): Promise<void> {
    return markPurgeRequested(this.db, ...args);
  }

  recordPurgeOutcomes(...args: Parameters<Catalog['recordPurgeOutcomes']>): Promise<void> {
    return recordPurgeOutcomes(this.db, ...args);
  }

  unsettledPurges(...args: Parameters<Catalog['unsettledPurges']>): Promise<UnsettledPurge[]> {
    return unsettledPurges(this.db, ...args);
  }

  settlePurges(...args: Parameters<Catalog['settlePurges']>): Promise<void> {
    return settlePurges(this.db, ...args);
  }

  recordSync(...args: Parameters<Catalog['recordSync']>): Promise<void> {
    return recordSync(this.db, ...args);
  }

  lastSync(...args: Parameters<Catalog['lastSync']>): Promise<SyncRecord | null> {
    return lastSync(this.db, ...args);
  }

  findMetadata(...args: Parameters<Catalog['findMetadata']>): Promise<Map<string, GenerationMetadata>> {
    return findMetadata(this.db, ...args);
  }

  search(...args: Parameters<Catalog['search']>): Promise<SearchPage> {
    return searchFiles(this.db, ...args);
  }

  getFile(...args: Parameters<Catalog['getFile']>): Promise<FileDetail | null> {
    return readFileDetail(this.db, ...args);
  }

  setStarred(...args: Parameters<Catalog['setStarred']>): Promise<boolean> {
    return writeStarred(this.db, ...args);
  }

  listForReindex(...args: Parameters<Catalog['listForReindex']>): Promise<ReindexCandidate[]> {
    return listForReindex(this.db, ...args, this.destId);
  }

  countForReindex(...args: Parameters<Catalog['countForReindex']>): Promise<number> {
    return countForReindex(this.db, ...args, this.destId);
  }

  updateMetadata(...args: Parameters<Catalog['updateMetadata']>): Promise<void> {
    return updateReading(this.db, ...args, this.destId);
  }

  withAgentLease<T>(agent: string, work: () => Promise<T>): Promise<T | null> {
    return this.db.withLease(`agent:${agent}`, work);
  }

  countFiles(...args: Parameters<Catalog['countFiles']>): Promise<number> {
    return countFiles(this.db, ...args);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
