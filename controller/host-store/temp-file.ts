// A temp file on the destination's filesystem: where a large incoming file streams before it is verified and linked into place.
import { randomUUID } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../common/errors.js';
import { fileReadAt } from '../../lib/file-read-at.js';
import type { ByteSource } from '../metadata/byte-source.js';

/**
 * One temp file, written in order by one receiver. `path` is handed to Placer.place once the
 * content is verified; until then `discard` removes it. Not shared between tasks.
 */
export interface TempFile {
  readonly path: string;
  /** Writes the chunks after what was written before, finishing any short write. */
  write(chunks: readonly Buffer[]): Promise<void>;
  /** The first `size` bytes written, for the metadata readers. */
  source(size: number): ByteSource;
  sync(): Promise<void>;
  close(): Promise<void>;
  /** Closes and removes it; never throws. */
  discard(): Promise<void>;
}

/** Creates a new, empty temp file in `dir` (which must be on the destination's filesystem). */
export async function createTempFile(dir: string): Promise<TempFile> {
  const path = join(dir, `${randomUUID()}.part`);
  // Read as well as written: the metadata readers read a large file's body back through `source`.
  const handle = await open(path, 'wx+', 0o644);
  return {
    path,
    write: (chunks) => writeAll(handle, chunks),
    source: (size) => fileReadAt(handle, size),
    sync: () => handle.sync(),
    close: () => handle.close(),
    discard: async () => {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
    },
  };
}

/** One writev for the chunks; a short one (rare: a full disk, a signal) is finished chunk by chunk. */
async function writeAll(handle: FileHandle, chunks: readonly Buffer[]): Promise<void> {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const { bytesWritten } = await handle.writev(chunks as Buffer[]);
  if (bytesWritten === total) return;
  let skip = bytesWritten;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    let rest = chunk.subarray(skip);
    skip = 0;
    while (rest.length > 0) {
      const { bytesWritten: n } = await handle.write(rest);
      if (n === 0) throw new AppError('E_IO', 'the disk accepted no more bytes');
      rest = rest.subarray(n);
    }
  }
}
