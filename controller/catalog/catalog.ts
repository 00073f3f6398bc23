// The catalog interface: every stored file, where it came from and where it is, for PGlite and PostgreSQL alike.
import type { StoredCopy } from '../../common/purge-plan.js';

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
}

/** A file a purge asked an agent to delete, and what came of it. */
export interface PurgeOutcome {
  containerPath: string;
  xxh64: string;
  purged: boolean;
  /** Why it was kept, when it was. */
  reason?: string;
}

export interface SyncRecord {
  runId: string;
  ok: boolean;
  finishedAt: Date;
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
  /** What is stored at a path under --dest, if the catalog knows it. */
  findByStoredPath(storedPath: string): Promise<StoredPathInfo | null>;
  /** Records durable copies in one transaction. A (agent, container path, hash) already present is left as it is. */
  recordStored(records: readonly StoredFileRecord[]): Promise<void>;
  /** For one agent: container path → content hash → stored copy (path under --dest and size). */
  storedCopies(agent: string): Promise<Map<string, Map<string, StoredCopy>>>;
  /**
   * Writes that a purge run is about to ask the agent to delete these files. Called before the
   * agent is told, so the catalog shows every deletion that may have happened.
   */
  markPurgeRequested(agent: string, runId: string, files: readonly { containerPath: string; xxh64: string }[]): Promise<void>;
  /** Writes what the agent did with each file: purged (with the time) or kept (with why). */
  recordPurgeOutcomes(agent: string, runId: string, outcomes: readonly PurgeOutcome[], at: Date): Promise<void>;
  /** Remembers how an agent's latest sync ended; a purge refuses an agent whose last sync failed. */
  recordSync(agent: string, record: SyncRecord): Promise<void>;
  lastSync(agent: string): Promise<SyncRecord | null>;
  /** Counts rows, for status and tests. */
  countFiles(agent?: string): Promise<number>;
  close(): Promise<void>;
}
