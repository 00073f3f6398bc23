// The catalog interface: every stored file, where it came from and where it is, for PGlite and PostgreSQL alike.
import type { StoredCopy } from '../../common/purge-plan.js';
import type { GenerationMetadata, MediaInfo } from '../../common/generation-metadata.js';
import type { FileDetail, Provenance, SearchPage, SearchQuery } from '../../common/search.js';

export type { FileDetail, Provenance, SearchHit, SearchPage, SearchQuery } from '../../common/search.js';

/** One stored copy of one version of a container file. */
export interface StoredFileRecord {
  agent: string;
  /** The manifest path in the container: `<root>/<relative path>`. */
  containerPath: string;
  /** Where the copy is, relative to --dest, POSIX style. */
  storedPath: string;
  size: number;
  mtimeMs: number;
  xxh64: string;
  runId: string;
  syncedAt: Date;
  provenance?: Provenance;
  /** What the stored file says about how it was generated; parsed after it is durable. */
  metadata?: GenerationMetadata;
  /** For a video whose metadata lives in its first-frame image: that image's container path. */
  metaFrom?: string;
  /** What the stored file's own headers say it is (kind, pixel size), even when its metadata is borrowed. */
  media?: MediaInfo;
}

/** A destination folder on a host: where the copies a controller stores are. */
export interface DestinationRef {
  host: string;
  /** Absolute path of --dest on that host. */
  path: string;
}

export interface ReindexBatchQuery {
  all: boolean;
  belowVersion: number;
  /** The rows that borrow their metadata from a companion file (metaFrom), or the others. */
  borrowed: boolean;
  afterId: number;
  limit: number;
}

export interface ReindexCandidate {
  id: number;
  storedPath: string;
  agent: string;
  /** The companion file the row's metadata was borrowed from, if it was. */
  metaFrom: string | null;
}

/** A new reading of a stored file, for updateMetadata. */
export interface MetadataUpdate {
  metadata: GenerationMetadata;
  media?: MediaInfo;
  /** Set to change where the metadata comes from: a companion's container path, or null for the file itself. */
  metaFrom?: string | null;
}

/** A file a purge asked an agent to delete, and what came of it. */
export interface PurgeOutcome {
  containerPath: string;
  xxh64: string;
  purged: boolean;
  /** Why it was kept, when it was. */
  reason?: string;
}

/** A deletion a purge run asked for and never recorded the outcome of (the controller stopped mid-purge). */
export interface UnsettledPurge {
  containerPath: string;
  xxh64: string;
  size: number;
  mtimeMs: number;
  runId: string;
}

/** The outcome found later for an unsettled deletion. */
export interface SettledPurge {
  containerPath: string;
  xxh64: string;
  /** The run that marked it requested: only a row still marked by it is settled. */
  runId: string;
  /** `purged`, `kept:<reason>` or `unknown:<reason>`. */
  outcome: string;
  /** When it was deleted, for `purged`. */
  purgedAt: Date | null;
}

export interface SyncRecord {
  runId: string;
  ok: boolean;
  finishedAt: Date;
}

/**
 * A point in an agent's history of changes: every file the agent listed up to `generation` of
 * `epoch` is stored. The next pass asks the agent only for what changed after it.
 */
export interface AgentPosition {
  epoch: string;
  generation: number;
}

export interface StoredPathInfo {
  agent: string;
  containerPath: string;
  xxh64: string;
  size: number;
}

/**
 * The record of what is safely on the host. One instance belongs to one controller process and is
 * shared by all its agent syncs, which may call it concurrently; implementations serialize or pool
 * their connections themselves. A record is written only after its file is durable, so every row
 * names a complete, verified copy.
 */
export interface Catalog {
  /** For one agent: container path to the set of content hashes already stored for it. */
  storedIndex(agent: string): Promise<Map<string, Set<string>>>;
  /** storedIndex for these container paths only (an incremental manifest's files). */
  storedIndexOf(agent: string, paths: readonly string[]): Promise<Map<string, Set<string>>>;
  /** What is stored at a path under --dest, if the catalog knows it. */
  findByStoredPath(storedPath: string): Promise<StoredPathInfo | null>;
  /** findByStoredPath for many paths in one query: the paths the catalog knows, and what is there. */
  findByStoredPaths(storedPaths: readonly string[]): Promise<Map<string, StoredPathInfo>>;
  /** Records durable copies in one transaction. A (agent, container path, hash) already present is left as it is. */
  recordStored(records: readonly StoredFileRecord[]): Promise<void>;
  /** For one agent: container path → content hash → stored copy (path under --dest and size). */
  storedCopies(agent: string): Promise<Map<string, Map<string, StoredCopy>>>;
  /**
   * Writes that a purge run is about to ask the agent to delete these files. Called before the
   * agent is told, so the catalog shows every deletion that may have happened.
   */
  markPurgeRequested(
    agent: string,
    runId: string,
    files: readonly { containerPath: string; xxh64: string }[],
  ): Promise<void>;
  /** Writes what the agent did with each file: purged (with the time) or kept (with why). */
  recordPurgeOutcomes(
    agent: string,
    runId: string,
    outcomes: readonly PurgeOutcome[],
    at: Date,
  ): Promise<void>;
  /** For one agent: rows still marked `requested`, whose purge run ended before it recorded what happened. */
  unsettledPurges(agent: string): Promise<UnsettledPurge[]>;
  /** Gives those rows their outcome; a row another run has marked since is left alone. */
  settlePurges(agent: string, settled: readonly SettledPurge[]): Promise<void>;
  /** Remembers how an agent's latest sync ended; a purge refuses an agent whose last sync failed. */
  recordSync(agent: string, record: SyncRecord): Promise<void>;
  lastSync(agent: string): Promise<SyncRecord | null>;
  /** Where the agent's last complete pass left off; null when the next pass must read everything. */
  agentPosition(agent: string): Promise<AgentPosition | null>;
  /** Moves an agent's position on after a pass that stored everything it listed up to it. */
  recordAgentPosition(agent: string, position: AgentPosition, runId: string): Promise<void>;
  /**
   * The generation metadata catalogued for the newest version of each of these container files that
   * has some, by path, in one query: paths with none are absent.
   */
  findMetadata(agent: string, containerPaths: readonly string[]): Promise<Map<string, GenerationMetadata>>;
  /** One stored file by its catalog id, with all its metadata; null when there is none. */
  getFile(id: number): Promise<FileDetail | null>;
  /** Stars (a favourite) or unstars a stored file; false when there is no file with that id. */
  setStarred(id: number, starred: boolean, at: Date): Promise<boolean>;
  /** Finds stored files by prompt words, model, seed, agent and age; newest first, paged. */
  search(query: SearchQuery): Promise<SearchPage>;
  /**
   * Stored files whose metadata was read by a reader older than `belowVersion` (or never read),
   * or all with `all`; by id after `afterId`, at most `limit`; either those whose metadata came
   * from a companion file (`borrowed`) or the others. Rows another destination stored are left
   * to the controllers that can read them.
   */
  listForReindex(options: ReindexBatchQuery): Promise<ReindexCandidate[]>;
  /** Counts what listForReindex would list from the start, borrowed or not, for progress. */
  countForReindex(options: Omit<ReindexBatchQuery, 'afterId' | 'limit' | 'borrowed'>): Promise<number>;
  /** Replaces a row's metadata and media columns and reader version with a new reading. */
  updateMetadata(id: number, update: MetadataUpdate): Promise<void>;
  /**
   * Runs `work` holding the agent's lease, so controllers sharing one catalog never sync or purge
   * the same agent at once. Resolves null, without running it, when another controller holds it.
   */
  withAgentLease<T>(agent: string, work: () => Promise<T>): Promise<T | null>;
  /** Counts rows, for status and tests. */
  countFiles(agent?: string): Promise<number>;
  close(): Promise<void>;
}
