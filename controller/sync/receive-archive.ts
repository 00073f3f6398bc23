// Reads an agent's tar stream: each requested entry is received, hashed, checked, written and placed.
import { AppError, type Problem } from '../../common/errors.js';
import type { ManifestEntry } from '../../common/manifest.js';
import { unsafePathReason } from '../../common/path-safety.js';
import { ARCHIVE_REPORT_NAME, type ArchiveReport, PAX_XXH64 } from '../../common/protocol.js';
import type { ChunkReader } from '../../lib/chunk-reader.js';
import { TaskGroup } from '../../lib/pool.js';
import { type TarHeader, TarReader } from '../../lib/tar-reader.js';
import { destFullError, isNoSpace } from '../host-store/dest-space.js';
import { type ExtractContext, type StoredFile, finish, receive } from './receive-entry.js';

export type { ExtractContext, StoredFile } from './receive-entry.js';

export interface ExtractResult {
  stored: StoredFile[];
  problems: Problem[];
  /** Requested files the agent did not send because they changed or vanished; synced next pass. */
  skipped: ArchiveReport['skipped'];
  /** Set when the stream itself failed (cut short, not a tar); what was stored before it stays stored. */
  streamError?: AppError;
  /** The report's archive id, for acknowledging what was stored (agents with receipts). */
  archiveId?: string;
}

const MAX_REPORT_BYTES = 16 << 20;
/**
 * Refused entries are read and dropped (skipping one means reading it), so their number and bytes
 * per archive are bounded: an honest agent sends none, and past either bound the rest of the
 * archive is refused before its bytes are read.
 */
export const MAX_REFUSED_ENTRIES = 1000;
export const MAX_REFUSED_BYTES = 16 << 20;
/** Verified files being fsynced and placed at once, per archive stream. */
const FINISH_CONCURRENCY = 16;

/**
 * Consumes the tar stream. Nothing is written but temp files (ctx.createTemp) and placed files under
 * the destination; an entry that was not requested, has an unsafe name, is not a regular file, or
 * does not match the requested size and hash is drained and reported as a problem.
 */
export async function extractArchive(source: ChunkReader, ctx: ExtractContext): Promise<ExtractResult> {
  const result: ExtractResult = { stored: [], problems: [], skipped: [] };
  const seen = new Set<string>();
  let report: ArchiveReport | undefined;
  let refusedEntries = 0;
  let refusedBytes = 0;
  let current = '';
  const finishing = new TaskGroup(FINISH_CONCURRENCY);
  const tar = new TarReader(source);
  try {
    for (let header = await tar.nextEntry(); header; header = await tar.nextEntry()) {
      const name = header.name;
      current = name;
      if (name === ARCHIVE_REPORT_NAME) {
        if (report) throw new AppError('E_PROTOCOL', 'the archive has a second report');
        if (tar.bodyLeftBytes > MAX_REPORT_BYTES) {
          throw new AppError(
            'E_AGENT_LIMIT',
            `the archive report declares ${tar.bodyLeftBytes} bytes, more than ${MAX_REPORT_BYTES}`,
          );
        }
        report = parseReport(await readSmall(tar, MAX_REPORT_BYTES));
        continue;
      }
      const refusal = refuse(header, ctx.requested, seen);
      // Seen even when refused: a requested file that came wrong is one problem, not also a missing one.
      seen.add(name);
      if (refusal) {
        result.problems.push({ code: refusal.code, path: name, message: refusal.message });
        refusedEntries++;
        refusedBytes += tar.bodyLeftBytes;
        if (refusedEntries > MAX_REFUSED_ENTRIES || refusedBytes > MAX_REFUSED_BYTES) {
          const past =
            refusedEntries > MAX_REFUSED_ENTRIES
              ? `more than ${MAX_REFUSED_ENTRIES} refused entries`
              : `refused entries declaring more than ${MAX_REFUSED_BYTES} bytes`;
          throw new AppError(
            'E_AGENT_LIMIT',
            `the archive holds ${past} (the last, ${JSON.stringify(name)}: ${refusal.message}); the rest of it is refused unread`,
          );
        }
        await tar.skipBody();
        continue;
      }
      const expected = ctx.requested.get(name)!;
      const received = await receive(tar, expected, ctx);
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
    await readToEnd(source);
    await finishing.settle();
  } catch (err) {
    // Files already verified still land before the stream's failure is reported.
    let failure = err;
    await finishing.settle().catch((finishError: unknown) => {
      failure = finishError;
    });
    result.streamError = isNoSpace(failure)
      ? destFullError(ctx.destName, `storing ${ctx.agent}/${current}`, failure)
      : failure instanceof AppError
        ? failure
        : new AppError(
            'E_PROTOCOL',
            `the archive stream failed (${(failure as Error).message}); maybe the agent restarted or the tar is corrupted`,
            { cause: failure },
          );
    source.destroy();
    return result;
  }

  if (typeof report.archiveId === 'string') result.archiveId = report.archiveId;
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

/** What an honest archive still holds after its end marker: the second zero block, maybe record padding. */
const MAX_TRAILING_BYTES = 64 << 10;

/**
 * Reads the answer past the archive's end marker to its very end, so its connection goes back to
 * the pool. Left unread, the connection stays taken (and keeps a one-shot run from exiting) until
 * the agent's keep-alive window closes it, a minute later. More than a trailer is not read: the
 * connection is dropped instead. Everything the archive held is in by now, so a failure here costs
 * nothing but the connection.
 */
async function readToEnd(source: ChunkReader): Promise<void> {
  let bytes = 0;
  try {
    for (let chunk = await source.next(); chunk; chunk = await source.next()) {
      bytes += chunk.length;
      if (bytes > MAX_TRAILING_BYTES) {
        source.destroy();
        return;
      }
    }
  } catch {
    source.destroy();
  }
}

function refuse(
  header: TarHeader,
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
      message: `rejected: ${header.size} bytes declared, ${expected.size} expected`,
    };
  }
  const claimed = header.pax[PAX_XXH64];
  if (claimed !== undefined && claimed !== expected.xxh64) {
    return {
      code: 'E_HASH_MISMATCH',
      message: `rejected: the agent labelled it ${claimed}, ${expected.xxh64} expected`,
    };
  }
  return undefined;
}

async function readSmall(tar: TarReader, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of tar.body()) {
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
