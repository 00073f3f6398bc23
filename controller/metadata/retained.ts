// The bytes of a file as they stream past, kept where metadata lives, so it is read without reopening the file.
import type { ByteSource } from './byte-source.js';

/** Files up to this size are kept whole while they are received. */
export const RETAIN_WHOLE_BYTES = 1 << 20;
/** Of a larger file, its first and last bytes: where PNG text, EXIF, RIFF chunks and MP4 `moov` sit. */
export const RETAIN_EDGE_BYTES = 256 << 10;

/**
 * Collects a file's bytes as they arrive, in order: all of a small file, the head and the tail of
 * a large one. What is kept is copied out of the network buffers, except a small file that arrives
 * in one chunk: it is kept as a view of that chunk (no copy), which holds the chunk only until the
 * file is written. `source` then serves reads from what was kept and sends any other read to
 * `fallback`, the file itself.
 */
export class RetainedBytes {
  /** Whether the whole file is kept. */
  readonly whole: boolean;
  private kept: Buffer | undefined;
  private readonly tail: Buffer;
  private readonly tailStart: number;
  private position = 0;

  constructor(readonly size: number) {
    const whole = size <= RETAIN_WHOLE_BYTES;
    this.whole = whole;
    this.tailStart = whole ? size : size - RETAIN_EDGE_BYTES;
    this.tail = Buffer.allocUnsafe(size - this.tailStart);
  }

  /** The whole file when `whole`, else its first RETAIN_EDGE_BYTES. */
  get head(): Buffer {
    this.kept ??= Buffer.allocUnsafe(this.whole ? this.size : RETAIN_EDGE_BYTES);
    return this.kept;
  }

  /** The next bytes of the file, in order. */
  add(chunk: Buffer): void {
    const start = this.position;
    const end = start + chunk.length;
    this.position = end;
    if (this.whole && start === 0 && chunk.length === this.size && !this.kept) {
      this.kept = chunk;
      return;
    }
    if (start < this.head.length) {
      chunk.copy(this.head, start, 0, Math.min(chunk.length, this.head.length - start));
    }
    if (end > this.tailStart && this.tail.length > 0) {
      const from = Math.max(start, this.tailStart);
      chunk.copy(this.tail, from - this.tailStart, from - start, Math.min(end, this.size) - start);
    }
  }

  /**
   * Reads served from the kept bytes where they cover them, else from `fallback`. A file kept
   * whole needs none.
   */
  source(fallback: ByteSource = NO_FALLBACK): ByteSource {
    const { size, head, tail, tailStart } = this;
    return {
      size,
      read: async (position, length) => {
        const start = Math.max(0, position);
        const end = Math.min(size, position + Math.max(0, length));
        if (end <= start) return Buffer.alloc(0);
        if (end <= head.length) return head.subarray(start, end);
        if (start >= tailStart && tail.length > 0) return tail.subarray(start - tailStart, end - tailStart);
        return fallback.read(position, length);
      },
    };
  }
}

const NO_FALLBACK: ByteSource = {
  size: 0,
  read: () => Promise.reject(new Error('these bytes were not kept')),
};
