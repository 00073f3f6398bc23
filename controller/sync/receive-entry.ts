// One entry of an agent's archive: received while hashed, kept only if size and hash match, then given its name.
import { AppError, type Problem } from '../../common/errors.js';
import type { ManifestEntry } from '../../common/manifest.js';
import { type Xxh64, createXxh64 } from '../../common/xxh64.js';
import { TarFormatError, type TarReader } from '../../lib/tar-reader.js';
import type { PlaceOutcome, Placer } from '../host-store/place.js';
import type { TempFile } from '../host-store/temp-file.js';
import {
  type FileReading,
  type GenerationMetadata,
  type MediaInfo,
  readFromSource,
} from '../metadata/extract.js';
import { RetainedBytes } from '../metadata/retained.js';
import { readMetadataWithin } from './build-records.js';
import type { DirtyDirs } from '../host-store/durable.js';

export interface StoredFile {
  entry: ManifestEntry;
  storedPath: string;
  /** False when an identical copy was already there (adopted, not written). */
  fresh: boolean;
  /** Read from the verified bytes as they arrived. */
  metadata: GenerationMetadata;
  /** What its headers say it is, read with the metadata. */
  media: MediaInfo;
}

export interface ExtractContext {
  agent: string;
  /** A new temp file on the destination's filesystem, for an entry too large to hold in memory. */
  createTemp: () => Promise<TempFile>;
  /** --dest as given, for the message of a full disk. */
  destName: string;
  requested: ReadonlyMap<string, ManifestEntry>;
  placer: Placer;
  dirty: DirtyDirs;
  /** fsync each file as it lands; otherwise the batch is made durable as a whole (BatchDurability). */
  fsyncEachFile: boolean;
  /** Called once per stored file, as it lands. */
  onStored?: (file: StoredFile) => void;
  /** Called with each chunk's size as accepted entries arrive, for progress. */
  onBytes?: (bytes: number) => void;
}

/** Received bytes gathered per write. */
const WRITE_BYTES = 1 << 20;

/** A verified entry: in memory (small files), or already in its temp file (large ones). */
type Received =
  | { kind: 'memory'; xxh64: string; bytes: number; body: Buffer; retained: RetainedBytes }
  | {
      kind: 'file';
      xxh64: string;
      bytes: number;
      temp: TempFile;
      /** Where the metadata is read from: the bytes kept as they passed, else the temp file. */
      retained: RetainedBytes;
    };

/**
 * Receives one entry while hashing it and keeps it only if size and hash match. A small file is
 * gathered in memory and written to disk later, beside the next entries; a large one streams into
 * its temp file as it arrives.
 */
export async function receive(
  tar: TarReader,
  expected: ManifestEntry,
  ctx: ExtractContext,
): Promise<Received | { problem: Problem }> {
  const hasher = await createXxh64();
  const retained = new RetainedBytes(expected.size);
  if (retained.whole) {
    const bytes = await pump(tar, hasher, retained, ctx);
    const problem = verify(expected, bytes, hasher.hex());
    if (problem) return { problem };
    return { kind: 'memory', xxh64: expected.xxh64, bytes, body: retained.head, retained };
  }
  const temp = await ctx.createTemp();
  let kept = false;
  try {
    // Body chunks are gathered into one writev of up to WRITE_BYTES: few syscalls, no copies.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      const chunks = pending;
      pending = [];
      pendingBytes = 0;
      await temp.write(chunks);
    };
    const bytes = await pump(tar, hasher, retained, ctx, async (chunk) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_BYTES) await flush();
    });
    if (pendingBytes > 0) await flush();
    const problem = verify(expected, bytes, hasher.hex());
    if (problem) return { problem };
    kept = true;
    return { kind: 'file', temp, xxh64: expected.xxh64, bytes, retained };
  } finally {
    if (!kept) await temp.discard();
  }
}

/** Reads the entry's body through the hasher and the retained bytes, handing each chunk to `sink`. */
async function pump(
  tar: TarReader,
  hasher: Xxh64,
  retained: RetainedBytes,
  ctx: ExtractContext,
  sink?: (chunk: Buffer) => Promise<void>,
): Promise<number> {
  let bytes = 0;
  try {
    for await (const chunk of tar.body()) {
      hasher.update(chunk);
      bytes += chunk.length;
      if (bytes <= retained.size) retained.add(chunk);
      if (sink) await sink(chunk);
      ctx.onBytes?.(chunk.length);
    }
  } catch (err) {
    // A cut stream: nothing of this file is kept; the stream's failure is the one reported.
    throw err instanceof TarFormatError ? new AppError('E_PROTOCOL', err.message, { cause: err }) : err;
  }
  return bytes;
}

function verify(expected: ManifestEntry, bytes: number, xxh64: string): Problem | undefined {
  if (bytes !== expected.size) {
    return {
      code: 'E_SIZE_MISMATCH',
      path: expected.path,
      message: `received ${bytes} bytes, ${expected.size} expected`,
    };
  }
  if (xxh64 !== expected.xxh64) {
    return {
      code: 'E_HASH_MISMATCH',
      path: expected.path,
      message: `received content hashes to ${xxh64}, ${expected.xxh64} expected`,
    };
  }
  return undefined;
}

/**
 * Gives a verified file its final name: a small one (in memory) is written there, straight or
 * through a temp file (Placer.placeBytes); a large one's temp file is fsynced and linked. The
 * metadata is read from the verified bytes, the file only where they were not kept.
 */
export async function finish(
  received: Received,
  expected: ManifestEntry,
  ctx: ExtractContext,
): Promise<{ stored: StoredFile } | { problem: Problem }> {
  const { xxh64, bytes, retained } = received;
  const target = { agent: ctx.agent, containerPath: expected.path, xxh64, size: bytes };
  let reading: FileReading;
  let outcome: PlaceOutcome;
  if (received.kind === 'memory') {
    reading = await readMetadataWithin(() => readFromSource(retained.source(), expected.path));
    outcome = await ctx.placer.placeBytes({ ...target, body: received.body }, ctx.dirty, ctx.fsyncEachFile);
  } else {
    const { temp } = received;
    try {
      // The metadata is read while the disk syncs.
      const source = retained.source(temp.source(bytes));
      [reading] = await Promise.all([
        readMetadataWithin(() => readFromSource(source, expected.path)),
        ctx.fsyncEachFile ? temp.sync() : undefined,
      ]);
      await temp.close();
    } catch (err) {
      await temp.discard();
      throw err;
    }
    outcome = await ctx.placer.place({ ...target, tempPath: temp.path }, ctx.dirty);
  }
  if (!outcome.ok) return { problem: outcome.problem };
  return {
    stored: { entry: expected, storedPath: outcome.storedPath, fresh: outcome.fresh, ...reading },
  };
}
