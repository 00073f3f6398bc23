// The catalog interface: every stored file, where it came from and where it is, for PGlite and PostgreSQL alike.

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
  /** Counts rows, for status and tests. */
  countFiles(agent?: string): Promise<number>;
  close(): Promise<void>;
}
