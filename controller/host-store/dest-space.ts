// Free space under --dest: checked before work that needs it, and a full disk named as the destination's problem.
import { statfs } from 'node:fs/promises';
import { AppError } from '../../common/errors.js';

/**
 * Kept free beyond what a batch needs: the catalog's growth, folders, the journal, and the file
 * system's own needs. A batch that would leave less is not started.
 */
export const FREE_SPACE_MARGIN = 32 << 20;

/**
 * Whether `err` (or its cause) says the disk is full: ENOSPC or EDQUOT from a file call, or
 * PostgreSQL's disk_full (SQLSTATE 53100) from the catalog, which PGlite reports as text only.
 * An AppError has been named already, and is not looked into.
 */
export function isNoSpace(err: unknown): boolean {
  for (let at = err, depth = 0; at && depth < 5; at = (at as { cause?: unknown }).cause, depth++) {
    if (typeof at !== 'object' || at instanceof AppError) return false;
    const { code, message } = at as { code?: unknown; message?: unknown };
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === '53100') return true;
    if (typeof message === 'string' && /no space left on device|disk quota exceeded/i.test(message)) {
      return true;
    }
  }
  return false;
}

/** The one line a full destination gets: the --dest as given, and what was being written. */
export function destFullError(dest: string, doing: string, cause?: unknown): AppError {
  return new AppError(
    'E_DEST_FULL',
    `--dest ${dest}: no space left on the device (while ${doing}); free some space and sync again`,
    { cause },
  );
}

/** Bytes an unprivileged writer may still use on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/** Refuses, with E_DEST_FULL, work of `bytes` that would not fit under `dir` with the margin. */
export async function ensureFreeSpace(
  dir: string,
  dest: string,
  bytes: number,
  doing: string,
): Promise<void> {
  const free = await freeBytes(dir);
  if (bytes + FREE_SPACE_MARGIN <= free) return;
  const mb = (n: number): string => (n / 2 ** 20).toFixed(1);
  throw new AppError(
    'E_DEST_FULL',
    `--dest ${dest}: not enough free space for ${doing}: ${mb(bytes)} MiB and ${mb(FREE_SPACE_MARGIN)} MiB to spare are needed, ${mb(free)} MiB are free; free some space and sync again`,
  );
}
