// The NDJSON manifest as a stream: scan progress while a scan runs, then header, files (and, for an
// incremental manifest, removals) and end.
import { type ManifestLine, PROTOCOL_VERSION } from '../common/protocol.js';
import type { IndexListing } from './file-index.js';
import type { Scanner } from './scanner.js';

const LINES_PER_CHUNK = 1000;
/** How often a running scan reports on the open manifest request. */
export const SCAN_PROGRESS_MS = 500;

const encoder = new TextEncoder();
const line = (value: ManifestLine): Uint8Array => encoder.encode(`${JSON.stringify(value)}\n`);

export interface ManifestRequest {
  /** Scan the roots before answering (a full manifest, or an index no watch keeps current). */
  rescan: boolean;
  /** The client's position: answer with what changed after it, when the index can say. */
  since?: { epoch: string; generation: number };
}

/**
 * Waits for the scan or refreshes it needs, sending a `scan` line every SCAN_PROGRESS_MS meanwhile so
 * the controller can show hashing progress. Then lists the index as it is: in full, or the changes
 * after the client's position. Lines are produced as the client reads, so 200k files never sit in
 * one buffer.
 */
export function manifestStream(scanner: Scanner, request: ManifestRequest): ReadableStream<Uint8Array> {
  const ready = request.rescan ? scanner.scan().then(() => undefined) : scanner.settled();
  let done = false;
  void ready.then(
    () => (done = true),
    () => undefined,
  );
  let body: Generator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!done) {
        let timer: NodeJS.Timeout | undefined;
        const tick = new Promise<'tick'>(
          (resolve) => (timer = setTimeout(() => resolve('tick'), SCAN_PROGRESS_MS)),
        );
        const outcome = await Promise.race([ready, tick]).finally(() => clearTimeout(timer));
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
        done = true;
      }
      body ??= manifestBody(scanner, request.since);
      const next = body.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    // A client that hangs up ends the body, which releases the listing it froze.
    cancel() {
      body?.return(undefined);
    },
  });
}

/** The manifest of the index as it is now, in chunks of lines. */
function* manifestBody(scanner: Scanner, since: ManifestRequest['since']): Generator<Uint8Array> {
  const { index } = scanner;
  index.commit();
  const changes = since ? index.listing(since) : null;
  // A frozen listing, so refreshes while the client reads do not shift it; released however the
  // client's reading ends.
  const listing: IndexListing = changes ?? index.listing()!;
  const { epoch, generation } = index;
  try {
    yield line({
      type: 'header',
      protocol: PROTOCOL_VERSION,
      generation,
      since: changes ? since!.generation : null,
      epoch,
    });
    for (let at = 0; at < listing.length; at += LINES_PER_CHUNK) {
      let text = '';
      for (let i = at; i < Math.min(at + LINES_PER_CHUNK, listing.length); i++) {
        text += fileLine(listing.path(i), listing.file(i));
      }
      yield Buffer.from(text);
    }
    const { removed } = listing;
    for (let at = 0; at < removed.length; at += LINES_PER_CHUNK) {
      let text = '';
      for (const path of removed.slice(at, at + LINES_PER_CHUNK))
        text += `{"type":"removed","path":${JSON.stringify(path)}}\n`;
      yield Buffer.from(text);
    }
  } finally {
    listing.release();
  }
  const snapshot = scanner.latest;
  yield line({
    type: 'end',
    generation,
    files: index.size,
    pending: scanner.stats.pendingFiles,
    pendingReasons: scanner.pendingByReason(),
    // Bounded so that the end line stays far below the controller's line limit.
    longPending: scanner.stats.longPending
      ?.slice(0, 20)
      .map((file) => ({ ...file, path: file.path.slice(0, 1024) })),
    hashed: snapshot?.hashed ?? 0,
    cacheHits: snapshot?.cacheHits ?? 0,
  });
}

/**
 * A `file` line, exactly as JSON.stringify writes {type, path, size, mtimeMs, xxh64, ino} (numbers
 * print the same either way), without an object and a string per field for each of 200k files.
 */
function fileLine(path: string, file: { size: number; mtimeMs: number; xxh64: string; ino: number }): string {
  return `{"type":"file","path":${JSON.stringify(path)},"size":${file.size},"mtimeMs":${file.mtimeMs},"xxh64":"${file.xxh64}","ino":${file.ino}}\n`;
}
