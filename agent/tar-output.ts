// Writing an archive to an HTTP response: headers, bodies and padding joined into few large writes, minding back-pressure.
import type { ServerResponse } from 'node:http';
import { TAR_END, type TarFileHeader, encodeFileHeader, tarPadding } from '../lib/tar-writer.js';

export type EntryHeader = TarFileHeader;

/** Queued bytes are written once they reach this size, or when the event loop turns, whichever is first. */
const COALESCE_BYTES = 256 << 10;
/** Queued chunks this large go out as they are: a write that size is no burden for the client. */
const OWN_WRITE_BYTES = 16 << 10;

/**
 * The archive as it goes out. Each response write becomes one HTTP chunk that the client parses on
 * its own, so a file's header, body and padding, and the files that follow, go out in few writes
 * of up to COALESCE_BYTES: whole entries that lie one after another in memory (from an EntrySlab)
 * as one view of it, smaller pieces joined; what is queued goes out at the latest when the event
 * loop turns (the next file waits on the disk), so nothing sits unsent. A large file's big chunks
 * go as they are. Writes wait while the socket is full, and fail once the client has gone.
 */
export class ArchiveOut {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private blocked: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly out: ServerResponse) {
    out.once('close', () => (this.closed = true));
  }

  /** The client hung up before the archive was whole. */
  get cancelled(): boolean {
    return this.closed && !this.out.writableFinished;
  }

  /** A whole file from memory. */
  async file(header: EntryHeader, body: Buffer): Promise<void> {
    await this.ready();
    this.queue(encodeFileHeader(header));
    this.queue(body);
    this.queue(tarPadding(body.length));
  }

  /** A file's header; its body follows with `body`, then `endFile`. */
  async beginFile(header: EntryHeader): Promise<void> {
    await this.ready();
    this.queue(encodeFileHeader(header));
  }

  /** Bytes of the archive as they are: a chunk of a file's body, or a whole entry already encoded. */
  async body(chunk: Buffer): Promise<void> {
    await this.ready();
    if (chunk.length >= COALESCE_BYTES) {
      this.flush();
      this.send(chunk);
    } else this.queue(chunk);
  }

  /** The padding after a body of `size` bytes. */
  async endFile(size: number): Promise<void> {
    await this.ready();
    this.queue(tarPadding(size));
  }

  /** The end of the archive, then the end of the answer once every byte is handed to the socket. */
  async finish(): Promise<void> {
    await this.ready();
    this.queue(TAR_END);
    this.flush();
    await this.ready();
    // Ended when it finished, or when the client went first (a response's end callback waits for 'finish' only).
    await new Promise<void>((resolve) => {
      this.out.once('close', resolve);
      this.out.end(() => resolve());
    });
  }

  private async ready(): Promise<void> {
    if (this.blocked) await this.blocked;
    if (this.closed) throw new Error('the archive stream was closed');
  }

  private queue(chunk: Buffer): void {
    if (chunk.length === 0) return;
    // Right behind the last queued bytes in the same memory (entries taken in turn from one
    // EntrySlab): one longer view of that memory, so the flush need not join them.
    const last = this.pending.at(-1);
    if (last && last.buffer === chunk.buffer && last.byteOffset + last.length === chunk.byteOffset) {
      this.pending[this.pending.length - 1] = Buffer.from(
        last.buffer,
        last.byteOffset,
        last.length + chunk.length,
      );
    } else this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= COALESCE_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /**
   * Sends what is queued: a chunk of OWN_WRITE_BYTES or more as it is (a run of entries from one
   * slab, not copied), and the smaller ones between them joined.
   */
  private flush(): void {
    if (this.pendingBytes === 0) return;
    const chunks = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let joined: Buffer[] = [];
    let joinedBytes = 0;
    const sendJoined = (): void => {
      if (joined.length === 0) return;
      this.send(joined.length === 1 ? joined[0]! : Buffer.concat(joined, joinedBytes));
      joined = [];
      joinedBytes = 0;
    };
    for (const chunk of chunks) {
      if (chunk.length >= OWN_WRITE_BYTES) {
        sendJoined();
        this.send(chunk);
      } else {
        joined.push(chunk);
        joinedBytes += chunk.length;
      }
    }
    sendJoined();
  }

  private send(chunk: Buffer): void {
    if (this.closed) return;
    if (this.out.write(chunk) || this.blocked) return;
    this.blocked = new Promise<void>((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('close', done);
        this.blocked = undefined;
        resolve();
      };
      this.out.once('drain', done);
      this.out.once('close', done);
    });
  }
}
