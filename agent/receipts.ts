// Receipts: what this agent streamed completely and a controller acknowledged, the only files a purge may delete;
// and the journal of what purges deleted, so a controller killed mid-purge can learn the outcome.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { PENDING_ARCHIVES } from '../common/protocol.js';
import type { FileIdentity } from './file-index.js';
import { RECEIPT_KEY_LENGTH, ReceiptSet } from './receipt-set.js';

export interface ReceiptLimits {
  /** Acknowledged receipts kept; beyond it the oldest go (their files are streamed again before a purge). */
  maxReceipts: number;
  /** Archives streamed and not acknowledged yet, kept to be acknowledged; the oldest go first. */
  maxPendingArchives: number;
  /** Files in those archives, in all. */
  maxPendingFiles: number;
  /** Deletions remembered for controllers that did not hear the answer. */
  maxJournal: number;
}

export const DEFAULT_RECEIPT_LIMITS: ReceiptLimits = {
  maxReceipts: 500_000,
  maxPendingArchives: PENDING_ARCHIVES,
  maxPendingFiles: 50_000,
  maxJournal: 50_000,
};

/** A deletion this agent made: which purge run asked for it, and when. */
export interface PurgeRecord {
  runId: string;
  at: number;
}

export interface AckResult {
  acknowledged: number;
  /** Files of the acknowledgement that get no receipt, and why. */
  refused: { path: string; reason: 'unknown-archive' | 'not-streamed' | 'other-content' }[];
}

const FILE_NAME = 'receipts.v1.log';
/** A receipt key as receiptKey makes it; anything else in the log is a line a crash cut. */
const KEY_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${RECEIPT_KEY_LENGTH}}$`);

/**
 * The key of one receipt: a digest of the path and the exact identity and hash it was streamed
 * with. A file replaced, rewritten or moved has another key, so an old receipt never covers it.
 */
function receiptKey(path: string, identity: FileIdentity, xxh64: string): string {
  return createHash('sha256')
    .update(JSON.stringify([path, identity.size, identity.mtimeMs, identity.ino, xxh64]))
    .digest('base64url')
    .slice(0, RECEIPT_KEY_LENGTH);
}

/**
 * One instance per agent process, shared by the archive writer (which reports what it streamed),
 * the acknowledgement route and the purge, all on one event loop. Receipts and the purge journal
 * live in memory as digests and, with a state folder, in an append-only log there: an
 * acknowledgement is fsynced before it is answered, so a receipt the controller was told about
 * survives a crash. The log is compacted at start and whenever it holds twice what is live.
 * Without a state folder, receipts end with the process, and files are streamed again before
 * they can be purged.
 */
export class ReceiptLedger {
  private readonly receipts = new ReceiptSet();
  private readonly pending = new Map<string, Map<string, { key: string; xxh64: string }>>();
  private pendingFiles = 0;
  private readonly journal = new Map<string, PurgeRecord>();
  private log: FileHandle | undefined;
  private logLines = 0;
  private unsynced = false;
  private writing: Promise<void> = Promise.resolve();
  /** A write that failed in the background; the next flush reports it. */
  private failure: Error | undefined;

  constructor(
    private readonly stateDir?: string,
    private readonly limits: ReceiptLimits = DEFAULT_RECEIPT_LIMITS,
  ) {}

  get size(): number {
    return this.receipts.size;
  }

  /** A new archive: the id its report carries, and that an acknowledgement must name. */
  openArchive(): string {
    const id = randomBytes(16).toString('hex');
    this.pending.set(id, new Map());
    while (this.pending.size > this.limits.maxPendingArchives) this.dropOldestArchive();
    return id;
  }

  /** The archive's entry for `path` went out whole, with these bytes. */
  streamed(archiveId: string, path: string, identity: FileIdentity, xxh64: string): void {
    const files = this.pending.get(archiveId);
    if (!files) return;
    if (!files.has(path)) this.pendingFiles++;
    files.set(path, { key: receiptKey(path, identity, xxh64), xxh64 });
    while (this.pendingFiles > this.limits.maxPendingFiles && this.pending.size > 0) this.dropOldestArchive();
  }

  private dropOldestArchive(): void {
    const [id, files] = this.pending.entries().next().value!;
    this.pending.delete(id);
    this.pendingFiles -= files.size;
  }

  /**
   * A controller says it stored these files of this archive: each one this agent streamed whole
   * with that hash gets a receipt, durable before this resolves. The archive's other files stay
   * pending, so a later acknowledgement of them still counts.
   */
  async acknowledge(
    archiveId: string,
    files: readonly { path: string; xxh64: string }[],
  ): Promise<AckResult> {
    const streamed = this.pending.get(archiveId);
    const result: AckResult = { acknowledged: 0, refused: [] };
    const lines: string[] = [];
    for (const { path, xxh64 } of files) {
      const entry = streamed?.get(path);
      if (!streamed) result.refused.push({ path, reason: 'unknown-archive' });
      else if (!entry) result.refused.push({ path, reason: 'not-streamed' });
      else if (entry.xxh64 !== xxh64) result.refused.push({ path, reason: 'other-content' });
      else {
        this.addReceipt(entry.key);
        lines.push(`r ${entry.key}`);
        streamed.delete(path);
        this.pendingFiles--;
        result.acknowledged++;
      }
    }
    if (streamed && streamed.size === 0) this.pending.delete(archiveId);
    await this.append(lines, true);
    return result;
  }

  private addReceipt(key: string): void {
    this.receipts.add(key);
    while (this.receipts.size > this.limits.maxReceipts) this.receipts.shift();
  }

  /** Whether a controller acknowledged exactly this file: this path, identity and hash. */
  holds(path: string, identity: FileIdentity, xxh64: string): boolean {
    return this.receipts.has(receiptKey(path, identity, xxh64));
  }

  /**
   * A purge deleted this file: its receipt goes, and the deletion is journaled. Written to the log
   * at once; made durable by `flush`, which the purge calls before it answers.
   */
  purged(path: string, identity: FileIdentity, xxh64: string, record: PurgeRecord): void {
    const key = receiptKey(path, identity, xxh64);
    this.receipts.delete(key);
    const name = `${path}\0${xxh64}`;
    this.journal.delete(name);
    this.journal.set(name, record);
    while (this.journal.size > this.limits.maxJournal) {
      this.journal.delete(this.journal.keys().next().value!);
    }
    this.appendLater([`d ${key}`, `p ${JSON.stringify([path, xxh64, record.runId, record.at])}`]);
  }

  /** The deletion of this path with this content, when this agent made it and still remembers. */
  purgedBy(path: string, xxh64: string): PurgeRecord | undefined {
    return this.journal.get(`${path}\0${xxh64}`);
  }

  /**
   * Forgets receipts no listed file matches any more (files gone or changed), once there are more
   * receipts than files: the set stays bounded by what is in the roots.
   */
  retainListed(listed: Iterable<[string, FileIdentity & { xxh64: string }]>, listedCount: number): void {
    if (this.receipts.size <= listedCount) return;
    this.receipts.beginSweep();
    for (const [path, file] of listed) this.receipts.mark(receiptKey(path, file, file.xxh64));
    this.appendLater(this.receipts.deleteUnmarked().map((key) => `d ${key}`));
  }

  /** Makes every line written so far durable. */
  async flush(): Promise<void> {
    await this.append([], true);
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  private appendLater(lines: readonly string[]): void {
    this.append(lines, false).catch((err: unknown) => {
      this.failure = err as Error;
    });
  }

  /** Loads the log of the state folder, compacted, and keeps it open for appending. */
  async load(): Promise<void> {
    if (!this.stateDir) return;
    // A line at a time: the log of 200k receipts is 5 MB of text, and read whole (then split) it
    // and its lines were most of a restarting agent's peak.
    try {
      const input = createReadStream(join(this.stateDir, FILE_NAME), {
        encoding: 'utf8',
        highWaterMark: 1 << 16,
      });
      for await (const line of createInterface({ input, crlfDelay: Infinity })) this.replay(line);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await mkdir(this.stateDir, { recursive: true });
    await this.compact();
  }

  private replay(line: string): void {
    const kind = line.slice(0, 2);
    const rest = line.slice(2);
    if (kind === 'r ' && KEY_PATTERN.test(rest)) this.addReceipt(rest);
    else if (kind === 'd ' && KEY_PATTERN.test(rest)) this.receipts.delete(rest);
    else if (kind === 'p ') {
      try {
        const [path, xxh64, runId, at] = JSON.parse(rest) as unknown[];
        if (typeof path === 'string' && typeof xxh64 === 'string' && typeof runId === 'string') {
          if (typeof at === 'number') this.journal.set(`${path}\0${xxh64}`, { runId, at });
        }
      } catch {
        // A line cut by a crash: that one deletion is reported as unconfirmed.
      }
    }
  }

  /** Rewrites the log with only what is live (temp file, fsync, rename), then appends to it. */
  private async compact(): Promise<void> {
    if (!this.stateDir) return;
    const target = join(this.stateDir, FILE_NAME);
    const temp = `${target}.${process.pid}.tmp`;
    const handle = await open(temp, 'w');
    let lines = 0;
    try {
      // Written in chunks of about a megabyte, never as one text of every line.
      let chunk = '';
      const add = async (line: string): Promise<void> => {
        chunk += `${line}\n`;
        lines++;
        if (chunk.length >= 1 << 20) {
          await handle.write(chunk);
          chunk = '';
        }
      };
      for (const key of this.receipts.keys()) await add(`r ${key}`);
      for (const [name, record] of this.journal) {
        const [path, xxh64] = name.split('\0');
        await add(`p ${JSON.stringify([path, xxh64, record.runId, record.at])}`);
      }
      await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    await this.log?.close();
    this.log = await open(target, 'a');
    this.logLines = lines;
    this.unsynced = false;
  }

  private append(lines: readonly string[], sync: boolean): Promise<void> {
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        if (!this.log) return;
        if (lines.length > 0) {
          await this.log.write(`${lines.join('\n')}\n`);
          this.logLines += lines.length;
          this.unsynced = true;
        }
        if (sync && this.unsynced) {
          await this.log.datasync();
          this.unsynced = false;
        }
        if (this.logLines > 2 * (this.receipts.size + this.journal.size) + 10_000) await this.compact();
      });
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.log?.close();
    this.log = undefined;
    if (this.stateDir) await rm(join(this.stateDir, `${FILE_NAME}.${process.pid}.tmp`), { force: true });
  }
}
