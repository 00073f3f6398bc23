// Pulls a Node stream's chunks one at a time, and gives up on a sender that went silent.
import type { Readable } from 'node:stream';

export interface IdleLimit {
  ms: number;
  /** The error the read fails with once nothing has arrived for `ms` while a read waits. */
  error: () => Error;
}

/**
 * Reads `stream` chunk by chunk without copying. Only a read that waits counts toward the idle
 * limit: a consumer that is slow (data buffered) is never mistaken for a dead sender. One reader
 * owns its stream; `next` is not called again before the previous call settles.
 */
export class ChunkReader {
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private waitingSince = 0;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: Readable,
    private readonly idle?: IdleLimit,
  ) {
    stream.on('readable', () => this.notify());
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
    if (idle) {
      this.timer = setInterval(() => this.checkIdle(), Math.max(10, Math.floor(idle.ms / 4)));
      this.timer.unref();
    }
  }

  /** The next chunk, or null at the end of the stream. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.failure) throw this.failure;
      const chunk = this.stream.read() as Buffer | null;
      if (chunk !== null) return chunk;
      if (this.ended) return null;
      if (this.stream.destroyed) {
        this.failure ??= this.stream.errored ?? new Error('the stream was destroyed before its end');
      }
      if (this.failure) throw this.failure;
      this.waitingSince = Date.now();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.waitingSince = 0;
    }
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

  private checkIdle(): void {
    if (!this.idle || this.waitingSince === 0) return;
    if (Date.now() - this.waitingSince < this.idle.ms) return;
    this.destroy(this.idle.error());
  }
}
