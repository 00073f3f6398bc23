// Builds the tar stream of an archive request: only requested files, each with its xxh64, then a report.
import { closeSync, fstatSync, readSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import {
  ARCHIVE_REPORT_NAME,
  type ArchiveReport,
  type ArchiveRequestFile,
  PAX_XXH64,
  PROTOCOL_VERSION,
} from '../common/protocol.js';
import { createXxh64, xxh64Of } from '../common/xxh64.js';
import { hashHandle, readChunks } from '../lib/file-chunks.js';
import { markingOffForTransfer } from '../lib/gc-tuning.js';
import { encodeFileHeader, tarPadding } from '../lib/tar-writer.js';
import type { FileIdentity, FileIndex } from './file-index.js';
import type { ReceiptLedger } from './receipts.js';
import type { Root } from './roots.js';
import { sameObservation } from './settle.js';
import { identityOf, openInRoot, openInRootSync } from './safe-open.js';
import { Lookahead, type Prepared, SMALL_FILE_BYTES, type Skip } from './archive-lookahead.js';
import { EntrySlab } from './entry-slab.js';
import { ArchiveOut, type EntryHeader } from './tar-output.js';

export interface ArchiveDeps {
  roots: readonly Root[];
  index: FileIndex;
  /** Told of each file sent whole, for the controller to acknowledge. */
  receipts: ReceiptLedger;
  logger: Logger;
}

/** Zeros to pad a file that came up short, written a chunk at a time. */
const PAD = Buffer.alloc(1 << 20);

/**
 * Writes the tar archive of `files` to `out`, the raw HTTP response: status and headers, then the
 * entries, then the report. Up to LOOKAHEAD_FILES files are opened and read (small ones whole)
 * while earlier ones are sent, so the disk's latency does not add up file by file; memory stays
 * bounded by LOOKAHEAD_BYTES plus one chunk of a large file. A file whose content no longer has
 * the requested hash is not sent; the closing report says why. A client that hangs up stops it.
 * Each file sent whole is pending under the archive's id (in the report) until a controller
 * acknowledges it: only then may a purge delete it.
 */
export async function writeArchive(
  files: readonly ArchiveRequestFile[],
  deps: ArchiveDeps,
  out: ServerResponse,
  headers: Record<string, string>,
): Promise<void> {
  out.writeHead(200, headers);
  const archive = new ArchiveOut(out);
  const slab = new EntrySlab();
  const ahead = new Lookahead(files, (file) => prepareFile(file, deps, slab));
  const releaseGc = markingOffForTransfer(
    files.length,
    files.reduce((sum, file) => sum + file.size, 0),
  );
  try {
    const archiveId = deps.receipts.openArchive();
    const report: ArchiveReport = { protocol: PROTOCOL_VERSION, sent: 0, skipped: [], archiveId };
    for (const file of files) {
      const prepared = await ahead.next();
      if (archive.cancelled) {
        if (prepared.kind === 'large') await prepared.handle.close();
        return;
      }
      const skipped = await sendPrepared(archive, prepared, (identity) => forgetStale(deps, file, identity));
      if (skipped) report.skipped.push({ path: file.path, ...skipped });
      else if (prepared.kind !== 'skip') {
        report.sent++;
        deps.receipts.streamed(archiveId, file.path, prepared.identity, prepared.xxh64);
      }
    }
    const body = Buffer.from(JSON.stringify(report));
    await archive.file(
      { name: ARCHIVE_REPORT_NAME, size: body.length, mode: 0o644, mtimeMs: Date.now() },
      body,
    );
    await archive.finish();
    deps.logger.debug({ sent: report.sent, skipped: report.skipped.length }, 'archive done');
  } catch (err) {
    // A client that hangs up ends the archive; that is routine, not a crash.
    if (archive.cancelled) {
      deps.logger.debug({ err }, 'archive stream closed early');
      return;
    }
    deps.logger.error({ err }, 'archive failed');
    out.destroy(err as Error);
  } finally {
    releaseGc();
    // Whatever ends the archive early, nothing read ahead stays open.
    await ahead.close();
  }
}

/** Opens one file and checks it against the request; small files are read whole and checked by their bytes. */
async function prepareFile(file: ArchiveRequestFile, deps: ArchiveDeps, slab: EntrySlab): Promise<Prepared> {
  if (file.size <= SMALL_FILE_BYTES) return prepareSmall(file, deps, slab);
  const opened = await openInRoot(deps.roots, file.path);
  if (!opened.ok) return { kind: 'skip', skip: { reason: opened.reason, message: opened.message } };
  const { handle, identity } = opened;
  let keepOpen = false;
  try {
    if (identity.size !== file.size) return { kind: 'skip', skip: CHANGED };
    const header = headerOf(file, identity);
    let xxh64 = deps.index.get(file.path, identity);
    if (!xxh64) {
      // Not hashed by this agent yet (a restart without --state-dir, say): hash before sending.
      const hashed = await hashHandle(handle, identity.size).catch((err: Error) => err);
      if (hashed instanceof Error) return { kind: 'skip', skip: unreadable(hashed) };
      if (hashed.bytes !== identity.size) {
        return { kind: 'skip', skip: BEING_WRITTEN };
      }
      xxh64 = hashed.xxh64;
      if (xxh64 !== file.xxh64) return { kind: 'skip', skip: CHANGED };
      // Only bytes the manifest listed go into the index: other bytes have not settled there.
      deps.index.set(file.path, identity, xxh64);
    }
    if (xxh64 !== file.xxh64) return { kind: 'skip', skip: CHANGED };
    keepOpen = true;
    return { kind: 'large', header, handle, identity, xxh64 };
  } finally {
    if (!keepOpen) await handle.close();
  }
}

const CHANGED: Skip = { reason: 'changed', message: 'the file has other content than the manifest listed' };
const BEING_WRITTEN: Skip = { reason: 'changed', message: 'the file is being written' };

/**
 * The file has other bytes than its index entry says, though its size, mtime and inode are those it
 * was hashed with (rewritten in place with its time put back, as `touch -r` or a restore does). The
 * entry is dropped, so the next look at the file (a full manifest, a rescan, a change) hashes it
 * again and lists its new bytes; kept, it would be offered under the old hash, and refused, forever.
 */
function forgetStale(deps: ArchiveDeps, file: ArchiveRequestFile, identity: FileIdentity): void {
  if (deps.index.get(file.path, identity) !== file.xxh64) return;
  deps.index.delete(file.path);
  deps.logger.warn(
    { file: file.path },
    'file rewritten in place without a new mtime; it will be hashed again',
  );
}

function unreadable(err: Error): Skip {
  return { reason: 'unreadable', message: `cannot read it: ${err.message}` };
}

function headerOf(file: ArchiveRequestFile, identity: FileIdentity): EntryHeader {
  return {
    name: file.path,
    size: identity.size,
    mode: 0o644,
    mtimeMs: identity.mtimeMs,
    pax: { [PAX_XXH64]: file.xxh64 },
  };
}

/**
 * A small file (the requested size is at most SMALL_FILE_BYTES): opened, read whole and checked
 * with synchronous calls, a handful of cheap syscalls on a file in the page cache, where six round
 * trips through libuv's thread pool per file cost the agent more CPU than the reads themselves.
 * The bytes sent are hashed here, so what goes out is exactly what the manifest listed: when the
 * hash matches, whatever happened to the file during the read does not matter, and the file is not
 * looked at again. Only bytes with another hash need a second `fstat`, to tell a file changing as
 * it was read from one rewritten in place.
 */
async function prepareSmall(file: ArchiveRequestFile, deps: ArchiveDeps, slab: EntrySlab): Promise<Prepared> {
  const opened = openInRootSync(deps.roots, file.path);
  if (!opened.ok) return { kind: 'skip', skip: { reason: opened.reason, message: opened.message } };
  const { fd, identity } = opened;
  try {
    if (identity.size !== file.size) return { kind: 'skip', skip: CHANGED };
    // The entry as it will go out: header, then the body read straight behind it, then padding.
    const header = encodeFileHeader(headerOf(file, identity));
    const padding = tarPadding(identity.size);
    const entry = slab.take(header.length + identity.size + padding.length);
    header.copy(entry, 0);
    const body = entry.subarray(header.length, header.length + identity.size);
    let filled: number;
    try {
      filled = readWholeSync(fd, body);
    } catch (err) {
      return { kind: 'skip', skip: unreadable(err as Error) };
    }
    if (filled !== identity.size) return { kind: 'skip', skip: BEING_WRITTEN };
    padding.copy(entry, header.length + identity.size);
    const xxh64 = await xxh64Of(body);
    if (xxh64 !== file.xxh64) {
      if (!sameObservation(identity, identityOf(fstatSync(fd)))) return { kind: 'skip', skip: BEING_WRITTEN };
      forgetStale(deps, file, identity);
      return { kind: 'skip', skip: CHANGED };
    }
    // Bytes that match the requested hash are what the manifest listed, whatever the index knew.
    deps.index.set(file.path, identity, xxh64);
    return { kind: 'small', entry, identity, xxh64 };
  } finally {
    closeSync(fd);
  }
}

/** Reads the file from its start into `into`, until it is full or the file ends; how many bytes were read. */
function readWholeSync(fd: number, into: Buffer): number {
  let filled = 0;
  while (filled < into.length) {
    const bytesRead = readSync(fd, into, filled, into.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** Puts one prepared file in the stream; returns why it was skipped, or undefined once it is in. */
async function sendPrepared(
  archive: ArchiveOut,
  prepared: Prepared,
  /** Called when the whole file was read, unchanged by its stat, and its bytes have another hash. */
  stale: (identity: FileIdentity) => void,
): Promise<Skip | undefined> {
  if (prepared.kind === 'skip') return prepared.skip;
  if (prepared.kind === 'small') {
    await archive.body(prepared.entry);
    return undefined;
  }
  const { header, handle, identity, xxh64 } = prepared;
  try {
    await archive.beginFile(header);
    const hasher = await createXxh64();
    let written = 0;
    let readError: Error | undefined;
    try {
      for await (const chunk of readChunks(handle, identity.size)) {
        if (archive.cancelled) throw new Error('archive cancelled by the client');
        hasher.update(chunk);
        written += chunk.length;
        await archive.body(chunk);
      }
    } catch (err) {
      if (archive.cancelled) throw err;
      readError = err as Error;
    }
    // A file cut short (or unreadable) mid-read is padded, so the tar stays well-formed; its hash then fails.
    for (let missing = identity.size - written; missing > 0; missing -= PAD.length) {
      await archive.body(missing >= PAD.length ? PAD : PAD.subarray(0, missing));
    }
    await archive.endFile(identity.size);

    const after = await handle.stat();
    const untouched = sameObservation(identity, { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino });
    if (readError) return { reason: 'unreadable', message: `read failed mid-file: ${readError.message}` };
    if (untouched && written === identity.size && hasher.hex() !== xxh64) stale(identity);
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
