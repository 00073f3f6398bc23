// Reading an open file in bounded chunks, and hashing it that way: no file is ever held whole.
import type { FileHandle } from 'node:fs/promises';
import { hashChunks } from '../common/xxh64.js';

export const CHUNK_SIZE = 1 << 20;

/**
 * Yields the first `size` bytes of the file in chunks of at most CHUNK_SIZE, each a fresh buffer.
 * Stops early if the file turns out shorter; the caller compares what it got with `size`.
 */
export async function* readChunks(handle: FileHandle, size: number): AsyncGenerator<Buffer> {
  let position = 0;
  while (position < size) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, size - position));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
  }
}

/** xxh64 of the first `size` bytes; `bytes` is less than `size` when the file was shorter. */
export function hashHandle(handle: FileHandle, size: number): Promise<{ xxh64: string; bytes: number }> {
  return hashChunks(readChunks(handle, size));
}
