// The bodies and query values of the agent's requests, checked before anything is done with them.
import { AppError } from '../common/errors.js';
import { isXxh64 } from '../common/manifest.js';
import {
  type AckRequest,
  type ArchiveRequestFile,
  MAX_ARCHIVE_FILES,
  MAX_CHANGES_WAIT_MS,
  MAX_PURGE_FILES,
  type PurgeRequest,
  type PurgeRequestFile,
} from '../common/protocol.js';

export function parseAckRequest(body: unknown): AckRequest {
  const { archiveId, files } = (body ?? {}) as Partial<AckRequest>;
  if (typeof archiveId !== 'string' || !/^[0-9a-f]{32}$/.test(archiveId) || !Array.isArray(files)) {
    throw new AppError(
      'E_BAD_REQUEST',
      'ack request needs {"archiveId": the archive report\'s archiveId, "files": [{"path", "xxh64"}]}',
    );
  }
  if (files.length > MAX_ARCHIVE_FILES) {
    throw new AppError(
      'E_BAD_REQUEST',
      `ack request names ${files.length} files; an archive has at most ${MAX_ARCHIVE_FILES}`,
    );
  }
  return {
    archiveId,
    files: files.map((file: unknown, i) => {
      const { path, xxh64 } = (file ?? {}) as Partial<AckRequest['files'][number]>;
      if (typeof path !== 'string' || !isXxh64(xxh64))
        throw new AppError('E_BAD_REQUEST', `ack request file ${i}: needs path and xxh64`);
      return { path, xxh64 };
    }),
  };
}

/** `?since=G&epoch=E` (or `after=`): a position in the agent's history; both or neither. */
export function parsePosition(
  generation: string | undefined,
  epoch: string | undefined,
  name: string,
): { epoch: string; generation: number } | undefined {
  if (generation === undefined && epoch === undefined) return undefined;
  const value = Number(generation);
  if (generation === undefined || !/^\d{1,15}$/.test(generation) || !epoch || epoch.length > 64) {
    throw new AppError(
      'E_BAD_REQUEST',
      `${name}= needs a generation (a whole number) and epoch= the epoch it counts in`,
    );
  }
  return { epoch, generation: value };
}

export function parseWait(wait: string | undefined): number {
  if (wait === undefined) return 0;
  if (!/^\d{1,9}$/.test(wait))
    throw new AppError('E_BAD_REQUEST', 'wait= needs a whole number of milliseconds');
  return Math.min(Number(wait), MAX_CHANGES_WAIT_MS);
}

export function parsePurgeRequest(body: unknown): PurgeRequest {
  const { runId, dryRun, files, olderThanMs } = (body ?? {}) as Partial<PurgeRequest>;
  if (typeof runId !== 'string' || typeof dryRun !== 'boolean' || !Array.isArray(files)) {
    throw new AppError(
      'E_BAD_REQUEST',
      'purge request needs {"runId": string, "dryRun": boolean, "files": [...]}',
    );
  }
  if (
    olderThanMs !== undefined &&
    !(typeof olderThanMs === 'number' && olderThanMs >= 0 && olderThanMs < 1e15)
  ) {
    throw new AppError('E_BAD_REQUEST', 'purge request olderThanMs: expected milliseconds, 0 or more');
  }
  if (files.length > MAX_PURGE_FILES) {
    throw new AppError(
      'E_BAD_REQUEST',
      `purge request names ${files.length} files; the most is ${MAX_PURGE_FILES}`,
    );
  }
  return {
    runId,
    dryRun,
    ...(olderThanMs !== undefined ? { olderThanMs } : {}),
    files: files.map((file: unknown, i) => {
      const { path, xxh64, size, mtimeMs, ino } = (file ?? {}) as Partial<PurgeRequestFile>;
      const valid =
        typeof path === 'string' &&
        isXxh64(xxh64) &&
        Number.isSafeInteger(size) &&
        typeof mtimeMs === 'number' &&
        Number.isFinite(mtimeMs) &&
        Number.isSafeInteger(ino);
      if (!valid)
        throw new AppError(
          'E_BAD_REQUEST',
          `purge request file ${i}: needs path, xxh64, size, mtimeMs and ino`,
        );
      return { path, xxh64, size: size!, mtimeMs, ino: ino! };
    }),
  };
}

export function parseArchiveRequest(body: unknown): ArchiveRequestFile[] {
  const files = (body as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) throw new AppError('E_BAD_REQUEST', 'archive request needs {"files": [...]}');
  if (files.length > MAX_ARCHIVE_FILES) {
    throw new AppError(
      'E_BAD_REQUEST',
      `archive request names ${files.length} files; the most is ${MAX_ARCHIVE_FILES}`,
    );
  }
  return files.map((file: unknown, i) => {
    const { path, xxh64, size } = (file ?? {}) as Partial<ArchiveRequestFile>;
    if (typeof path !== 'string' || !isXxh64(xxh64) || !Number.isSafeInteger(size) || (size as number) < 0) {
      throw new AppError(
        'E_BAD_REQUEST',
        `archive request file ${i}: needs path, xxh64 (16 hex digits) and size`,
      );
    }
    return { path, xxh64, size: size as number };
  });
}
