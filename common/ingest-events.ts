// The ingest events of the wire contract: every file the catalog records or the agents free, for systems that want their own copy (docs/ingest.md).
import type { GenerationMetadata, MediaInfo } from './generation-metadata.js';
import type { Provenance } from './search.js';

export const INGEST_EVENT_VERSION = 1;

/** A file became durable on the host and was catalogued. Field by field what the catalog row holds. */
export interface FileStoredEvent {
  type: 'file.stored';
  v: typeof INGEST_EVENT_VERSION;
  runId: string;
  agent: string;
  containerPath: string;
  storedPath: string;
  /** Absolute path of the copy on the host. */
  hostPath: string;
  size: number;
  mtimeMs: number;
  xxh64: string;
  syncedAt: string;
  provenance?: Provenance;
  metadata?: GenerationMetadata;
  /** Media kind and pixel size, from the file's own headers. */
  media?: MediaInfo;
  metaFrom?: string;
}

/** The agent deleted a container file whose copy the catalog holds. */
export interface FilePurgedEvent {
  type: 'file.purged';
  v: typeof INGEST_EVENT_VERSION;
  runId: string;
  agent: string;
  containerPath: string;
  xxh64: string;
  purgedAt: string;
}

export type IngestEvent = FileStoredEvent | FilePurgedEvent;

/**
 * Where ingest events go besides the catalog. `emit` never blocks or throws: events are written in
 * the order emitted, after the catalog commit they describe. One sink belongs to one process.
 */
export interface IngestSink {
  emit(event: IngestEvent): void;
  close(): Promise<void>;
}

export const noSink: IngestSink = { emit: () => undefined, close: async () => undefined };
