// Checking the host copy of a file before its container original may go: there, the right size, and (with --verify) the right bytes.
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredCopy } from '../../common/purge-plan.js';
import { hashHandle } from '../../lib/file-chunks.js';

export type HostCopyState = 'ok' | 'host-copy-missing' | 'host-copy-mismatch' | 'host-copy-corrupt';

/**
 * The state of the stored copy under --dest. A missing file or a different size or hash is a state;
 * any other I/O failure (permissions, a failing disk) throws, because it says the destination
 * cannot be read at all.
 */
export async function checkHostCopy(
  destRoot: string,
  copy: StoredCopy,
  xxh64: string,
  verify: boolean,
): Promise<HostCopyState> {
  const path = join(destRoot, ...copy.storedPath.split('/'));
  let stats;
  try {
    stats = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'host-copy-missing';
    throw err;
  }
  if (!stats.isFile()) return 'host-copy-missing';
  if (stats.size !== copy.size) return 'host-copy-mismatch';
  if (!verify) return 'ok';
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hashed = await hashHandle(handle, copy.size);
    return hashed.bytes === copy.size && hashed.xxh64 === xxh64 ? 'ok' : 'host-copy-corrupt';
  } finally {
    await handle.close();
  }
}
