// Builds the tar stream of an archive request: only requested files, each with its xxh64, then a report.
import tar from 'tar-stream';
import type { Logger } from 'pino';
import {
  ARCHIVE_REPORT_NAME,
  type ArchiveReport,
  type ArchiveRequestFile,
  PAX_XXH64,
  PROTOCOL_VERSION,
  type SkipReason,
} from '../common/protocol.js';
import { createXxh64 } from '../common/xxh64.js';
import { hashHandle, readChunks } from '../lib/file-chunks.js';
import type { HashCache } from './hash-cache.js';
import type { Root } from './roots.js';
import { sameObservation } from './settle.js';
import { openInRoot } from './safe-open.js';

export interface ArchiveDeps {
  roots: readonly Root[];
  cache: HashCache;
  logger: Logger;
}

type Pack = tar.Pack;

/** Zeros to pad a file that came up short, written a chunk at a time. */
const PAD = Buffer.alloc(1 << 20);
type EntryHeader = Partial<tar.Header> & { name: string; pax?: Record<string, string> };

type Sink = ReturnType<Pack['entry']>;

/**
 * A web stream of the tar archive for `files`. Files are read one at a time in bounded chunks, so
 * memory stays flat whatever their size. A file whose content no longer has the requested hash is
 * not sent; the closing report says why. Cancelling the stream stops reading.
 */
export function createArchiveStream(
  files: readonly ArchiveRequestFile[],
  deps: ArchiveDeps,
): ReadableStream<Uint8Array> {
  const pack = tar.pack();
  const state = { cancelled: false };
  // A client that hangs up destroys the pack; that is routine, not a crash.
  pack.on('error', (err: Error) => deps.logger.debug({ err }, 'archive stream closed early'));
  const produce = async (): Promise<void> => {
    const report: ArchiveReport = { protocol: PROTOCOL_VERSION, sent: 0, skipped: [] };
    for (const file of files) {
      if (state.cancelled) return;
      const skipped = await sendFile(pack, file, deps, state);
      if (skipped) report.skipped.push({ path: file.path, ...skipped });
      else report.sent++;
    }
    await writeEntry(pack, { name: ARCHIVE_REPORT_NAME, mode: 0o644 }, Buffer.from(JSON.stringify(report)));
    pack.finalize();
    deps.logger.debug({ sent: report.sent, skipped: report.skipped.length }, 'archive done');
  };
  produce().catch((err: unknown) => {
    if (state.cancelled) return;
    deps.logger.error({ err }, 'archive failed');
    pack.destroy(err as Error);
  });

  const iterator = pack[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) {
          controller.close();
          return;
        }
        const chunk = next.value as Buffer;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        controller.error(err);
      }
    },
    cancel() {
      state.cancelled = true;
      pack.destroy();
    },
  });
}

/** Sends one file; returns why it was skipped, or undefined once its bytes are in the stream. */
async function sendFile(
  pack: Pack,
  file: ArchiveRequestFile,
  deps: ArchiveDeps,
  state: { cancelled: boolean },
): Promise<{ reason: SkipReason; message: string } | undefined> {
  const opened = await openInRoot(deps.roots, file.path);
  if (!opened.ok) return { reason: opened.reason, message: opened.message };
  const { handle, identity } = opened;
  try {
    let xxh64 = deps.cache.get(file.path, identity);
    if (!xxh64) {
      // Not hashed by this agent yet (a restart without --state-dir, say): hash before sending.
      const hashed = await hashHandle(handle, identity.size).catch((err: Error) => err);
      if (hashed instanceof Error)
        return { reason: 'unreadable', message: `cannot read it: ${hashed.message}` };
      if (hashed.bytes !== identity.size) return { reason: 'changed', message: 'the file is being written' };
      xxh64 = hashed.xxh64;
      deps.cache.set(file.path, identity, xxh64);
    }
    if (xxh64 !== file.xxh64 || identity.size !== file.size) {
      return { reason: 'changed', message: 'the file has other content than the manifest listed' };
    }

    const header: EntryHeader = {
      name: file.path,
      size: identity.size,
      mode: 0o644,
      mtime: new Date(identity.mtimeMs),
      type: 'file',
      pax: { [PAX_XXH64]: xxh64 },
    };
    const entry = pack.entry(header);
    const done = finished(entry);
    done.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    const hasher = await createXxh64();
    let written = 0;
    let readError: Error | undefined;
    try {
      for await (const chunk of readChunks(handle, identity.size)) {
        if (state.cancelled) throw new Error('archive cancelled by the client');
        hasher.update(chunk);
        written += chunk.length;
        if (!entry.write(chunk)) await drained(entry);
      }
    } catch (err) {
      if (state.cancelled) throw err;
      readError = err as Error;
    }
    // A file cut short (or unreadable) mid-read is padded, so the tar stays well-formed; its hash then fails.
    for (let missing = identity.size - written; missing > 0; missing -= PAD.length) {
      const pad = missing >= PAD.length ? PAD : PAD.subarray(0, missing);
      if (!entry.write(pad)) await drained(entry);
    }
    entry.end(undefined);
    await done;

    const after = await handle.stat();
    const untouched = sameObservation(identity, { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino });
    if (readError) return { reason: 'unreadable', message: `read failed mid-file: ${readError.message}` };
    if (!untouched || written !== identity.size || hasher.hex() !== xxh64) {
      return {
        reason: 'changed-during-read',
        message: 'the file changed while it was sent; it will be sent again',
      };
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

function writeEntry(pack: Pack, header: EntryHeader, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
  });
}

function drained(stream: Sink): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: unknown): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => onError(new Error('the archive stream was closed'));
    stream.once('drain', onDrain);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

function finished(stream: Sink): Promise<void> {
  return new Promise((resolve, reject) => {
    let ended = false;
    stream.once('finish', () => {
      ended = true;
      resolve();
    });
    stream.once('error', (err: Error) => reject(err));
    stream.once('close', () => (ended ? resolve() : reject(new Error('the archive stream was closed'))));
  });
}
