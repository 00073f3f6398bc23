// The ingest event stream: every file the catalog records, as NDJSON, for systems that want their own copy.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from 'pino';
import type { StoredFileRecord } from '../catalog/catalog.js';

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
  provenance: StoredFileRecord['provenance'];
  metadata: StoredFileRecord['metadata'];
  /** Media kind and pixel size, from the file's own headers. */
  media?: StoredFileRecord['media'];
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

/**
 * Appends events as NDJSON to a file (created if missing), or to stdout for `-`. A write error is
 * logged once and the sink goes quiet; the sync it describes is not affected.
 */
export function openNdjsonSink(target: string, logger: Logger): IngestSink {
  const file: WriteStream | null = target === '-' ? null : createWriteStream(target, { flags: 'a' });
  const stream: NodeJS.WritableStream = file ?? process.stdout;
  let failed = false;
  stream.on('error', (err: Error) => {
    if (!failed) logger.error({ err, events: target }, 'cannot write ingest events; no more will be written');
    failed = true;
  });
  return {
    emit(event) {
      if (!failed) stream.write(`${JSON.stringify(event)}\n`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!file || failed) resolve();
        else file.end(() => resolve());
      }),
  };
}
