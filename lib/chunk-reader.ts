// Pulls a Node stream's chunks one at a time, and gives up on a sender that stalls or outlives its deadline.
import type { Readable } from 'node:stream';

export interface StallLimit {
  /** The stretch of waiting over which progress is judged. */
  ms: number;
  /** Fewer bytes than this over `ms` of waiting is a stall: a byte now and then keeps nothing alive. */
  minBytes: number;
  /** The error the read fails with once the sender stalled. */
  error: () => Error;
}

export interface ReadLimits {
  stall?: StallLimit;
  /** The whole body must be read by this time (ms since the epoch, as Date.now()). */
  deadline?: { atMs: number; error: () => Error };
}

/**
 * Bytes, and chunks, received and not yet handed out above which the stream is paused (resumed
 * below half of both). The count bounds a sender of tiny chunks: half a MiB of one-byte chunks would
 * be half a million Buffers, and a queue that long makes every shift a copy.
 */
const QUEUE_BYTES = 512 * 1024;
const QUEUE_CHUNKS = 1024;
/** Chunks smaller than this that wait together are handed out joined, up to about JOIN_UP_TO. */
const JOIN_BELOW = 16 * 1024;
const JOIN_UP_TO = 64 * 1024;

/**
 * Reads `stream` chunk by chunk without copying: each chunk as the stream delivered it, held in a
 * short queue (`read()` joins whatever is buffered into one new Buffer, which copied every byte
 * received once more when the reader fell behind). Only time a read waits counts toward the stall
 * limit: a consumer that is slow (data buffered) is never mistaken for a dead sender. The deadline
 * counts all time. Limits are checked by a timer, so a chunk costs one addition. One reader owns
 * its stream; `next` is not called again before the previous call settles.
 */
export class ChunkReader {
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private waitingSince = 0;
  /** Time spent waiting in reads that finished, and bytes handed out. */
  private waitedMs = 0;
  private received = 0;
  /** Where the current stall window began, in waiting time and bytes. */
  private windowWaitedMs = 0;
  private windowReceived = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;

  constructor(
    private readonly stream: Readable,
    private readonly limits: ReadLimits = {},
  ) {
    stream.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      if (this.queuedBytes >= QUEUE_BYTES || this.queue.length >= QUEUE_CHUNKS) stream.pause();
      this.notify();
    });
    stream.once('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.once('error', (err: Error) => {
      this.failure ??= err;
      this.notify();
    });
    stream.once('close', () => {
      // Closed without an end or an error: the peer went away mid-body.
      if (!this.ended) {
        this.failure ??= this.stream.errored ?? new Error('the connection closed before the answer ended');
      }
      this.notify();
      clearInterval(this.timer);
    });
    const { stall, deadline } = limits;
    if (stall || deadline) {
      const every = stall ? Math.floor(stall.ms / 4) : 1000;
      this.timer = setInterval(() => this.checkLimits(), Math.max(10, Math.min(every, 1000)));
      this.timer.unref();
    }
  }

  /** The next chunk, or null at the end of the stream. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.failure) throw this.failure;
      const chunk = this.take();
      if (chunk !== undefined) {
        this.queuedBytes -= chunk.length;
        const room = this.queuedBytes < QUEUE_BYTES / 2 && this.queue.length < QUEUE_CHUNKS / 2;
        if (room && this.stream.isPaused() && !this.stream.destroyed) {
          this.stream.resume();
        }
        this.received += chunk.length;
        return chunk;
      }
      if (this.ended) return null;
      if (this.stream.destroyed) {
        this.failure ??= this.stream.errored ?? new Error('the stream was destroyed before its end');
      }
      if (this.failure) throw this.failure;
      this.waitingSince = Date.now();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.waitedMs += Date.now() - this.waitingSince;
      this.waitingSince = 0;
    }
  }

  /**
   * The first queued chunk as it is; small ones waiting behind each other are joined (a copy of a few
   * KiB) rather than handed out one by one, each a read of its own for the caller.
   */
  private take(): Buffer | undefined {
    const first = this.queue.shift();
    if (first === undefined || first.length >= JOIN_BELOW) return first;
    let next = this.queue[0];
    if (next === undefined || next.length >= JOIN_BELOW) return first;
    const parts = [first];
    let bytes = first.length;
    while (next !== undefined && next.length < JOIN_BELOW && bytes < JOIN_UP_TO) {
      parts.push(this.queue.shift()!);
      bytes += next.length;
      next = this.queue[0];
    }
    return Buffer.concat(parts, bytes);
  }

  /** Stops reading: the stream is destroyed and any waiting read fails. */
  destroy(error?: Error): void {
    this.failure ??= error ?? new Error('reading was stopped');
    clearInterval(this.timer);
    this.stream.destroy();
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private checkLimits(): void {
    if (this.failure || this.ended) return;
    const now = Date.now();
    const { stall, deadline } = this.limits;
    if (deadline && now >= deadline.atMs) {
      this.destroy(deadline.error());
      return;
    }
    if (!stall) return;
    const waited = this.waitedMs + (this.waitingSince === 0 ? 0 : now - this.waitingSince);
    if (waited - this.windowWaitedMs < stall.ms) return;
    if (this.received - this.windowReceived < stall.minBytes) {
      this.destroy(stall.error());
      return;
    }
    this.windowWaitedMs = waited;
    this.windowReceived = this.received;
  }
}
