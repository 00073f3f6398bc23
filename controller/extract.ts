// Reads an agent's tar stream: each requested entry is written to a temp file, hashed, checked, fsynced, placed.
import { randomUUID } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { AppError, type Problem } from '../common/errors.js';
import type { ManifestEntry } from '../common/manifest.js';
import { unsafePathReason } from '../common/path-safety.js';
import { ARCHIVE_REPORT_NAME, type ArchiveReport, PAX_XXH64 } from '../common/protocol.js';
import { createXxh64 } from '../common/xxh64.js';
import type { DirtyDirs } from './durable.js';
import { TaskGroup } from '../lib/pool.js';
import type { Placer } from './place.js';

export interface StoredFile {
  entry: ManifestEntry;
  storedPath: string;
  /** False when an identical copy was already there (adopted, not written). */
  fresh: boolean;
}

export interface ExtractResult {
  stored: StoredFile[];
  problems: Problem[];
  /** Requested files the agent did not send because they changed or vanished; synced next pass. */
  skipped: ArchiveReport['skipped'];
  /** Set when the stream itself failed (cut short, not a tar); what was stored before it stays stored. */
  streamError?: AppError;
}

export interface ExtractContext {
  agent: string;
  tmpDir: string;
  requested: ReadonlyMap<string, ManifestEntry>;
  placer: Placer;
  dirty: DirtyDirs;
  /** Called once per stored file, as it lands. */
  onStored?: (file: StoredFile) => void;
  /** Called with each chunk's size as accepted entries arrive, for progress. */
  onBytes?: (bytes: number) => void;
}

const MAX_REPORT_BYTES = 16 << 20;
/** Verified files being fsynced and placed at once, per archive stream. */
const FINISH_CONCURRENCY = 16;

type Entry = AsyncIterable<Buffer> & { header: tar.Header };

/**
 * Consumes the tar stream. Nothing is written but temp files under tmpDir and placed files under
 * the destination; an entry that was not requested, has an unsafe name, is not a regular file, or
 * does not match the requested size and hash is drained and reported as a problem.
 */
export async function extractArchive(source: Readable, ctx: ExtractContext): Promise<ExtractResult> {
  const result: ExtractResult = { stored: [], problems: [], skipped: [] };
  const seen = new Set<string>();
  let report: ArchiveReport | undefined;
  const finishing = new TaskGroup(FINISH_CONCURRENCY);
  const extract = tar.extract();
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const raw of extract as AsyncIterable<unknown>) {
      const entry = raw as Entry;
      const name = entry.header.name;
      if (name === ARCHIVE_REPORT_NAME) {
        report = parseReport(await readSmall(entry, MAX_REPORT_BYTES));
        continue;
      }
      const refusal = refuse(entry.header, ctx.requested, seen);
      // Seen even when refused: a requested file that came wrong is one problem, not also a missing one.
      seen.add(name);
      if (refusal) {
        result.problems.push({ code: refusal.code, path: name, message: refusal.message });
        await drain(entry);
        continue;
      }
      const expected = ctx.requested.get(name)!;
      const received = await receive(entry, expected, ctx);
      if ('problem' in received) {
        result.problems.push(received.problem);
        continue;
      }
      // fsync and placing run beside the next entries, so the disk commits many files per flush.
      await finishing.start(async () => {
        const outcome = await finish(received, expected, ctx);
        if ('problem' in outcome) result.problems.push(outcome.problem);
        else {
          result.stored.push(outcome.stored);
          ctx.onStored?.(outcome.stored);
        }
      });
    }
    if (!report)
      throw new AppError('E_PROTOCOL', 'the archive ended without its report: the transfer was cut short');
    await finishing.settle();
  } catch (err) {
    // Files already verified still land before the stream's failure is reported.
    let failure = err;
    await finishing.settle().catch((finishError: unknown) => {
      failure = finishError;
    });
    result.streamError =
      failure instanceof AppError
        ? failure
        : new AppError(
            'E_PROTOCOL',
            `the archive stream failed (${(failure as Error).message}); maybe the agent restarted or the tar is corrupted`,
            { cause: failure },
          );
    source.destroy();
    return result;
  }

  const skippedPaths = new Set(report.skipped.map((item) => item.path));
  const stored = new Set(result.stored.map((file) => file.entry.path));
  result.skipped = report.skipped.filter((item) => ctx.requested.has(item.path) && !stored.has(item.path));
  // The agent saw the file change while it was being sent: the mismatch we found is that, not an attack.
  const changedInFlight = new Set(
    report.skipped.filter((item) => item.reason === 'changed-during-read').map((item) => item.path),
  );
  result.problems = result.problems.filter(
    (problem) =>
      !(
        changedInFlight.has(problem.path) &&
        (problem.code === 'E_HASH_MISMATCH' || problem.code === 'E_SIZE_MISMATCH')
      ),
  );
  for (const path of ctx.requested.keys()) {
    if (!seen.has(path) && !skippedPaths.has(path)) {
      result.problems.push({
        code: 'E_FILE_MISSING_FROM_ARCHIVE',
        path,
        message: 'requested but neither sent nor reported by the agent',
      });
    }
  }
  return result;
}

function refuse(
  header: tar.Header,
  requested: ReadonlyMap<string, ManifestEntry>,
  seen: ReadonlySet<string>,
): { code: Problem['code']; message: string } | undefined {
  const unsafe = unsafePathReason(header.name);
  if (unsafe) return { code: 'E_UNSAFE_PATH', message: `rejected tar entry: ${unsafe}` };
  if (header.type !== 'file')
    return {
      code: 'E_BAD_ENTRY_TYPE',
      message: `rejected tar entry of type ${header.type}; only regular files are accepted`,
    };
  const expected = requested.get(header.name);
  if (!expected) return { code: 'E_UNREQUESTED_ENTRY', message: 'rejected tar entry that was not requested' };
  if (seen.has(header.name))
    return { code: 'E_DUPLICATE_ENTRY', message: 'rejected second tar entry for the same path' };
  if (header.size !== expected.size) {
    return {
      code: 'E_SIZE_MISMATCH',
      message: `rejected: ${header.size} bytes sent, ${expected.size} expected`,
    };
  }
  const claimed = (header.pax as Record<string, string> | null | undefined)?.[PAX_XXH64];
  if (claimed !== undefined && claimed !== expected.xxh64) {
    return {
      code: 'E_HASH_MISMATCH',
      message: `rejected: the agent labelled it ${claimed}, ${expected.xxh64} expected`,
    };
  }
  return undefined;
}

interface Received {
  tempPath: string;
  handle: FileHandle;
  xxh64: string;
  bytes: number;
}

/** Streams one entry into a temp file while hashing it; keeps the file only if size and hash match. */
async function receive(
  entry: Entry,
  expected: ManifestEntry,
  ctx: ExtractContext,
): Promise<Received | { problem: Problem }> {
  const tempPath = join(ctx.tmpDir, `${randomUUID()}.part`);
  const handle = await open(tempPath, 'wx', 0o644);
  let kept = false;
  try {
    const hasher = await createXxh64();
    let bytes = 0;
    for await (const chunk of entry) {
      hasher.update(chunk);
      bytes += chunk.length;
      await handle.write(chunk);
      ctx.onBytes?.(chunk.length);
    }
    const xxh64 = hasher.hex();
    if (bytes !== expected.size) {
      return {
        problem: {
          code: 'E_SIZE_MISMATCH',
          path: expected.path,
          message: `received ${bytes} bytes, ${expected.size} expected`,
        },
      };
    }
    if (xxh64 !== expected.xxh64) {
      return {
        problem: {
          code: 'E_HASH_MISMATCH',
          path: expected.path,
          message: `received content hashes to ${xxh64}, ${expected.xxh64} expected`,
        },
      };
    }
    kept = true;
    return { tempPath, handle, xxh64, bytes };
  } finally {
    if (!kept) await discard(handle, tempPath);
  }
}

/** fsyncs a verified temp file and gives it its final name. The temp file is gone afterwards. */
async function finish(
  received: Received,
  expected: ManifestEntry,
  ctx: ExtractContext,
): Promise<{ stored: StoredFile } | { problem: Problem }> {
  const { tempPath, handle, xxh64, bytes } = received;
  try {
    await handle.sync();
    await handle.close();
  } catch (err) {
    await discard(handle, tempPath);
    throw err;
  }
  const outcome = await ctx.placer.place(
    { agent: ctx.agent, containerPath: expected.path, xxh64, size: bytes, tempPath },
    ctx.dirty,
  );
  if (!outcome.ok) return { problem: outcome.problem };
  return { stored: { entry: expected, storedPath: outcome.storedPath, fresh: outcome.fresh } };
}

async function discard(handle: FileHandle, tempPath: string): Promise<void> {
  await handle.close().catch(() => undefined);
  await unlink(tempPath).catch(() => undefined);
}

async function drain(entry: Entry): Promise<void> {
  for await (const _chunk of entry) {
    // discard
  }
}

async function readSmall(entry: Entry, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    size += chunk.length;
    if (size > limit) throw new AppError('E_PROTOCOL', 'the archive report is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseReport(body: Buffer): ArchiveReport {
  try {
    const report = JSON.parse(body.toString('utf8')) as ArchiveReport;
    if (!Array.isArray(report.skipped)) throw new Error('no skipped list');
    return report;
  } catch (err) {
    throw new AppError('E_PROTOCOL', `the archive report is not valid (${(err as Error).message})`);
  }
}
