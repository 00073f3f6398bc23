// Positioned reads from a file or from bytes in memory: the one I/O edge the media rules see.

/**
 * Positioned reads from one file or byte array of a known size. A read past the end returns fewer
 * bytes (or none) and never throws for that reason. An instance belongs to one check or one
 * extraction and is read by one walker at a time; implementations need not allow concurrent reads.
 * `Bytes` lets a Node caller keep Buffers (a Buffer is a Uint8Array).
 */
export interface ReadAt<Bytes extends Uint8Array = Uint8Array> {
  readonly size: number;
  read(position: number, length: number): Promise<Bytes>;
}

/** A ReadAt over bytes already in memory, for tests and for containers nested in a read block. */
export function bytesReadAt<Bytes extends Uint8Array>(bytes: Bytes): ReadAt<Bytes> {
  return {
    size: bytes.length,
    // subarray keeps the class of its receiver: a Buffer's is a Buffer.
    read: async (position, length) =>
      bytes.subarray(Math.min(position, bytes.length), Math.min(position + length, bytes.length)) as Bytes,
  };
}

/**
 * Serves small reads (box and chunk headers) from a window of WINDOW bytes, so walking a file with
 * many small chunks costs one read per window rather than one per header. A read larger than the
 * window goes straight to the source.
 */
export class WindowedReader<Bytes extends Uint8Array = Uint8Array> implements ReadAt<Bytes> {
  static readonly WINDOW = 4096;
  private windowStart = 0;
  private window: Bytes | undefined;

  constructor(readonly source: ReadAt<Bytes>) {}

  get size(): number {
    return this.source.size;
  }

  async read(position: number, length: number): Promise<Bytes> {
    const offset = position - this.windowStart;
    if (this.window && offset >= 0 && offset + length <= this.window.length) {
      return this.window.subarray(offset, offset + length) as Bytes;
    }
    if (length > WindowedReader.WINDOW) return this.source.read(position, length);
    this.window = await this.source.read(position, WindowedReader.WINDOW);
    this.windowStart = position;
    return this.window.subarray(0, length) as Bytes;
  }
}
