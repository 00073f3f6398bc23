// Random access to a file's bytes in bounded reads, so metadata parsers can seek past pixel data.
import { type FileHandle, open } from 'node:fs/promises';

/**
 * Positioned reads from one file. A read past the end returns fewer bytes (or none), never throws
 * for that reason. One instance belongs to one extraction and is used by one parser at a time.
 */
export interface ByteSource {
  readonly size: number;
  read(position: number, length: number): Promise<Buffer>;
}

/** A ByteSource over an open file; close it when done. */
export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<FileByteSource> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    return { ...handleSource(handle, size), close: () => handle.close() };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** A ByteSource over a file the caller keeps open (and closes), whose size it knows. */
export function handleSource(handle: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(position, length) {
      const wanted = Math.max(0, Math.min(length, size - position));
      if (wanted === 0) return Buffer.alloc(0);
      const buffer = Buffer.allocUnsafe(wanted);
      let filled = 0;
      while (filled < wanted) {
        const { bytesRead } = await handle.read(buffer, filled, wanted - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === wanted ? buffer : buffer.subarray(0, filled);
    },
  };
}

/** A ByteSource over bytes already in memory, for tests and for nested containers. */
export function bufferSource(bytes: Buffer): ByteSource {
  return {
    size: bytes.length,
    read: async (position, length) =>
      bytes.subarray(Math.min(position, bytes.length), Math.min(position + length, bytes.length)),
  };
}

/**
 * Serves small reads (box and chunk headers) from a window of WINDOW bytes, so walking a file with
 * many small chunks costs one read per window rather than one per header. A read larger than the
 * window goes straight to the source.
 */
export class WindowedReader {
  static readonly WINDOW = 4096;
  private windowStart = 0;
  private window: Buffer = Buffer.alloc(0);

  constructor(readonly source: ByteSource) {}

  get size(): number {
    return this.source.size;
  }

  async read(position: number, length: number): Promise<Buffer> {
    const offset = position - this.windowStart;
    if (offset >= 0 && offset + length <= this.window.length) {
      return this.window.subarray(offset, offset + length);
    }
    if (length > WindowedReader.WINDOW) return this.source.read(position, length);
    this.window = await this.source.read(position, WindowedReader.WINDOW);
    this.windowStart = position;
    return this.window.subarray(0, length);
  }
}
