// Opening a stored file for the metadata readers, which take Buffers through common/media's ReadAt.
import { open } from 'node:fs/promises';
import { bytesReadAt, type ReadAt } from '../../common/media/read-at.js';
import { fileReadAt } from '../../lib/file-read-at.js';

/**
 * Positioned reads from one file, as Buffers. A read past the end returns fewer bytes (or none),
 * never throws for that reason. One instance belongs to one extraction and is used by one parser at a time.
 */
export type ByteSource = ReadAt<Buffer>;

/** A ByteSource over an open file; close it when done. */
export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<FileByteSource> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    return { ...fileReadAt(handle, size), close: () => handle.close() };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** A ByteSource over bytes already in memory, for tests and for nested containers. */
export const bufferSource = (bytes: Buffer): ByteSource => bytesReadAt(bytes);
