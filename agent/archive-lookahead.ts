// Reading ahead of the archive stream: the next files opened, checked and (small ones) read while earlier ones are sent.
import type { FileHandle } from 'node:fs/promises';
import type { ArchiveRequestFile, SkipReason } from '../common/protocol.js';
import type { FileIdentity } from './file-index.js';
import type { EntryHeader } from './tar-output.js';

/** Files read ahead of the one being sent, so their opens and reads overlap the sending. */
const LOOKAHEAD_FILES = 16;
/** Files up to this size are read whole, checked, and sent from memory. */
export const SMALL_FILE_BYTES = 1 << 20;
/** Bytes read ahead at most, across the files waiting to be sent. */
const LOOKAHEAD_BYTES = 8 << 20;

export type Skip = { reason: SkipReason; message: string };

/** A file ready to go into the stream: its bytes in memory (small), or an open handle (large). */
export type Prepared =
  | { kind: 'skip'; skip: Skip }
  /** `entry`: the file's whole tar entry, header, body and padding, ready to send. */
  | { kind: 'small'; entry: Buffer; identity: FileIdentity; xxh64: string }
  | { kind: 'large'; header: EntryHeader; handle: FileHandle; identity: FileIdentity; xxh64: string };

/**
 * Runs `prepare` over the files ahead of the reader, LOOKAHEAD_FILES at most and LOOKAHEAD_BYTES
 * of small files' bodies at most, and hands the results out in order.
 */
export class Lookahead {
  private readonly queue: { promise: Promise<Prepared>; bytes: number }[] = [];
  private index = 0;
  private bytesAhead = 0;

  constructor(
    private readonly files: readonly ArchiveRequestFile[],
    private readonly prepare: (file: ArchiveRequestFile) => Promise<Prepared>,
  ) {
    this.fill();
  }

  async next(): Promise<Prepared> {
    const head = this.queue.shift()!;
    const prepared = await head.promise;
    this.bytesAhead -= head.bytes;
    this.fill();
    return prepared;
  }

  /** Closes what was opened ahead and never sent. */
  async close(): Promise<void> {
    for (const { promise } of this.queue.splice(0)) {
      const prepared = await promise.catch(() => undefined);
      if (prepared?.kind === 'large') await prepared.handle.close().catch(() => undefined);
    }
  }

  private fill(): void {
    while (this.index < this.files.length && this.queue.length < LOOKAHEAD_FILES) {
      const file = this.files[this.index]!;
      const bytes = file.size <= SMALL_FILE_BYTES ? file.size : 0;
      // Always one in flight, however large; otherwise within the byte budget.
      if (this.queue.length > 0 && this.bytesAhead + bytes > LOOKAHEAD_BYTES) return;
      this.index++;
      this.bytesAhead += bytes;
      const promise = this.prepare(file);
      promise.catch(() => undefined); // awaited in order by next(); this only keeps it from going unhandled
      this.queue.push({ promise, bytes });
    }
  }
}
