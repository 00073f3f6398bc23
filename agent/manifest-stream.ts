// The NDJSON manifest as a stream: scan progress while the scan runs, then header, files and end.
import { type ManifestLine, PROTOCOL_VERSION } from '../common/protocol.js';
import type { Scanner, ScanSnapshot } from './scanner.js';

const LINES_PER_CHUNK = 1000;
/** How often a running scan reports on the open manifest request. */
export const SCAN_PROGRESS_MS = 500;

const encoder = new TextEncoder();
const line = (value: ManifestLine): Uint8Array => encoder.encode(`${JSON.stringify(value)}\n`);

/**
 * Starts (or joins) a scan and streams its manifest. While it runs, a `scan` line goes out every
 * SCAN_PROGRESS_MS so the controller can show hashing progress; entries are produced as the client
 * reads, so 200k files never sit in one buffer.
 */
export function manifestStream(scanner: Scanner): ReadableStream<Uint8Array> {
  const scan = scanner.scan();
  let snapshot: ScanSnapshot | null = null;
  void scan.then(
    (done) => (snapshot = done),
    () => undefined,
  );
  let index = -1;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!snapshot) {
        let timer: NodeJS.Timeout | undefined;
        const tick = new Promise<'tick'>(
          (resolve) => (timer = setTimeout(() => resolve('tick'), SCAN_PROGRESS_MS)),
        );
        const outcome = await Promise.race([scan, tick]).finally(() => clearTimeout(timer));
        if (outcome === 'tick') {
          const live = scanner.progress;
          if (live) {
            const { phase, filesSeen, filesToHash, filesHashed, bytesToHash, bytesHashed } = live;
            controller.enqueue(
              line({ type: 'scan', phase, filesSeen, filesToHash, filesHashed, bytesToHash, bytesHashed }),
            );
          }
          return;
        }
        snapshot = outcome;
      }
      if (index === -1) {
        index = 0;
        controller.enqueue(
          line({ type: 'header', protocol: PROTOCOL_VERSION, generation: snapshot.generation, since: null }),
        );
        return;
      }
      const { entries } = snapshot;
      if (index >= entries.length) {
        controller.enqueue(
          line({
            type: 'end',
            generation: snapshot.generation,
            files: entries.length,
            pending: snapshot.pending,
            hashed: snapshot.hashed,
            cacheHits: snapshot.cacheHits,
          }),
        );
        controller.close();
        return;
      }
      const parts: Uint8Array[] = [];
      const stop = Math.min(entries.length, index + LINES_PER_CHUNK);
      for (; index < stop; index++) {
        const { path, size, mtimeMs, xxh64, ino } = entries[index]!;
        parts.push(line({ type: 'file', path, size, mtimeMs, xxh64, ino }));
      }
      controller.enqueue(Buffer.concat(parts));
    },
  });
}
