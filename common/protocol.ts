// The wire contract between agent, controller and clients: routes, versions and message shapes.
import type { ErrorCode } from './errors.js';

/** Bumped on any change an older peer would misread. Peers refuse to talk across versions. */
export const PROTOCOL_VERSION = 1;

/** Every response of an agent or controller carries this header with its PROTOCOL_VERSION. */
export const PROTOCOL_HEADER = 'x-forge-sync-protocol';

export const Routes = {
  health: '/v1/health',
  info: '/v1/info',
  manifest: '/v1/manifest',
  archive: '/v1/archive',
  purge: '/v1/purge',
  ack: '/v1/ack',
  status: '/v1/status',
  sync: '/v1/sync',
  files: '/v1/files',
  session: '/v1/session',
  changes: '/v1/changes',
} as const;

export const Capabilities = {
  manifestNdjson: 'manifest-ndjson',
  archiveTar: 'archive-tar',
  xxh64: 'xxh64',
  purge: 'purge',
  /** `GET /v1/manifest?since=G&epoch=E` answers with what changed after generation G. */
  manifestSince: 'manifest-since',
  /** `GET /v1/changes?epoch=E&after=G&wait=MS` holds the request until the index moves past G. */
  changes: 'changes',
  /**
   * Archives carry an `archiveId`; `POST /v1/ack` acknowledges what the controller stored, and a
   * purge deletes only files streamed whole and acknowledged (see docs/protocol.md).
   */
  receipts: 'receipts',
  /** A purge request's `olderThanMs` is applied with the agent's own clock. */
  purgeAge: 'purge-age',
} as const;

/** The longest a `/v1/changes` request is held open. */
export const MAX_CHANGES_WAIT_MS = 60_000;

export const MANIFEST_CONTENT_TYPE = 'application/x-ndjson';
export const ARCHIVE_CONTENT_TYPE = 'application/x-tar';

/** The most files one archive request may name; the controller batches below it. */
export const MAX_ARCHIVE_FILES = 5000;

/**
 * Archives an agent keeps receipts for until they are acknowledged (the oldest go first): a
 * controller has at most this many of one agent's archives read and not yet acknowledged.
 */
export const PENDING_ARCHIVES = 64;

/** PAX header record that carries an entry's xxh64 inside the tar stream. */
export const PAX_XXH64 = 'FORGESYNC.xxh64';

/**
 * The last entry of every archive: a JSON ArchiveReport. Its name starts with a dot, which no root
 * name may, so it can never be confused with a file. A stream without it was cut short.
 */
export const ARCHIVE_REPORT_NAME = '.forge-sync/report.json';

export interface HealthResponse {
  ok: true;
  protocol: number;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** A file an agent has not offered for a long time, and why. */
export interface LongPendingFile {
  path: string;
  reason: string;
  pendingForMs: number;
}

/** Counters that show what an agent's scans cost. */
export interface AgentStats {
  scans: number;
  filesHashed: number;
  bytesHashed: number;
  cacheHits: number;
  manifestFiles: number;
  pendingFiles: number;
  /** Files pending longer than the agent's limit (default 1 h), oldest first, with why; at most 50. */
  longPending?: LongPendingFile[];
  generation: number;
  /** Names the history `generation` counts in; a restart after a crash starts a new one. */
  epoch?: string;
  lastScanAt: string | null;
}

/** The answer to `GET /v1/changes`: where the agent's index is now. */
export interface ChangesResponse {
  protocol: number;
  epoch: string;
  generation: number;
  files: number;
  pending: number;
}

export interface InfoResponse {
  protocol: number;
  version: string;
  roots: { name: string }[];
  capabilities: string[];
  settleMs: number;
  stats: AgentStats;
}

/**
 * Lines of the NDJSON manifest, in order: `scan` progress lines while the agent scans, one
 * `header`, any number of `file` (and, in an incremental manifest, `removed`) lines, then one `end`. A manifest without its `end` line
 * was cut short and must not be used.
 */
export type ManifestLine =
  | {
      type: 'header';
      protocol: number;
      generation: number;
      /** null for a full manifest; the base generation for an incremental one. */
      since: number | null;
      /** The history `generation` counts in: pass it back with `since`. */
      epoch?: string;
    }
  | { type: 'file'; path: string; size: number; mtimeMs: number; xxh64: string; ino?: number }
  | {
      /** Sent before the header, every half second, while the agent is still scanning. */
      type: 'scan';
      phase: 'walking' | 'checking' | 'hashing';
      filesSeen: number;
      filesToHash: number;
      filesHashed: number;
      bytesToHash: number;
      bytesHashed: number;
    }
  | { type: 'removed'; path: string }
  | {
      type: 'end';
      generation: number;
      /** How many files the agent lists in all (in an incremental manifest too). */
      files: number;
      /** Files seen but not offered yet: still being written, or not settled. */
      pending: number;
      /**
       * `pending` by why, from agents that say: `settling` (still changing or too young),
       * `incomplete` (its bytes say unfinished), `unstable` (changed while hashed); absent from older agents.
       */
      pendingReasons?: PendingReasons;
      /** The pending files waiting longer than the agent's limit, with why (at most 20). */
      longPending?: LongPendingFile[];
      hashed: number;
      cacheHits: number;
    };

export interface ArchiveRequestFile {
  path: string;
  xxh64: string;
  size: number;
}

export interface ArchiveRequest {
  files: ArchiveRequestFile[];
}

export type SkipReason =
  'vanished' | 'changed' | 'changed-during-read' | 'not-regular' | 'unsafe' | 'unknown-root' | 'unreadable';

export interface ArchiveReport {
  protocol: number;
  sent: number;
  skipped: { path: string; reason: SkipReason; message: string }[];
  /**
   * Names this archive for `POST /v1/ack` (agents with the `receipts` capability): a random value
   * only the receiver of the stream learns.
   */
  archiveId?: string;
}

/** `POST /v1/ack`: the files of an archive the controller stored, verified and catalogued. */
export interface AckRequest {
  archiveId: string;
  files: { path: string; xxh64: string }[];
}

export interface AckResponse {
  protocol: number;
  acknowledged: number;
  /** Files that got no receipt: an archive this agent does not know (restarted?), a file it did not send whole, other bytes. */
  refused: { path: string; reason: 'unknown-archive' | 'not-streamed' | 'other-content' }[];
}

/** The most files one purge request may name; the controller batches below it. */
export const MAX_PURGE_FILES = 1000;

/** A file the controller confirmed as stored: the agent deletes it only if it is still exactly this. */
export interface PurgeRequestFile {
  path: string;
  xxh64: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface PurgeRequest {
  runId: string;
  /** Check everything, delete nothing: results say `would-purge`. */
  dryRun: boolean;
  /**
   * Only files at least this old by the agent's own clock (mtime), on top of its floor: a
   * controller clock ahead cannot make a young file look old. Absent: the floor alone.
   */
  olderThanMs?: number;
  files: PurgeRequestFile[];
}

/** Why an agent kept a file it was asked to purge. */
export type AgentKeepReason =
  | 'vanished'
  | 'changed'
  | 'not-regular'
  | 'hard-linked'
  | 'unsafe'
  | 'unknown-root'
  | 'below-floor'
  | 'too-young'
  | 'no-receipt'
  | 'failed';

export interface PurgeFileResult {
  path: string;
  outcome: 'purged' | 'would-purge' | 'kept';
  reason?: AgentKeepReason;
  message?: string;
  /**
   * With `vanished`: this agent itself deleted the file with this content, in that purge run, at
   * that time (its journal), so an interrupted run's outcome can be settled.
   */
  purgedBy?: { runId: string; at: string };
}

export interface PurgeResponse {
  protocol: number;
  results: PurgeFileResult[];
}

/** Files still pending, counted by reason. */
export type PendingReasons = Record<string, number>;

/** The `scan` line an agent sends while it is still scanning. */
export type ScanLine = Extract<ManifestLine, { type: 'scan' }>;
