// The ingest event stream written as NDJSON to a file or stdout (--events FILE).
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from 'pino';
import type { IngestSink } from '../common/ingest-events.js';

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
