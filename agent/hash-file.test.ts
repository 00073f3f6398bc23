// hashSettledFile on real files, through both of its paths (small files read whole with synchronous
// calls, larger ones in chunks through the thread pool): the same verdicts and hashes either way, a
// FIFO never waited on, and a scan of many small files that still gives the event loop its turns.
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { xxh64Of } from '../common/xxh64.js';
import { tempDir } from '../test/helpers/processes.js';
import { FileIndex } from './file-index.js';
import { createFilter } from './filters.js';
import { SYNC_HASH_BYTES, hashSettledFile, identifySync } from './hash-file.js';
import { Scanner } from './scanner.js';

const logger = pino({ level: 'silent' });
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/** A PNG-shaped file of `size` bytes; without its IEND chunk when `complete` is false. */
function png(size: number, complete = true): Buffer {
  const body = Buffer.alloc(size - SIGNATURE.length - IEND.length, 7);
  body.write(`size ${size}`);
  return Buffer.concat([SIGNATURE, body, complete ? IEND : Buffer.alloc(IEND.length, 1)]);
}

describe('hashSettledFile', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  const hash = (abs: string, name = 'a.png') => {
    const identity = identifySync(abs);
    if (!identity) throw new Error(`${abs} is not a file`);
    return hashSettledFile(abs, name, identity, logger, () => undefined);
  };

  beforeEach(async () => {
    work = await tempDir('hash-file-');
  });
  afterEach(async () => {
    await work[Symbol.asyncDispose]();
  });

  // Both sides of the limit: the first sizes take the synchronous path, the last the chunked one.
  const SIZES = [100, 20_000, SYNC_HASH_BYTES, SYNC_HASH_BYTES + 1, 3 * SYNC_HASH_BYTES + 5];

  it.each(SIZES)('hashes a complete file of %i bytes to the xxh64 of its bytes', async (size) => {
    const bytes = png(size);
    await writeFile(join(work.path, 'a.png'), bytes);
    expect(await hash(join(work.path, 'a.png'))).toEqual({ xxh64: await xxh64Of(bytes) });
  });

  it.each(SIZES)('calls a PNG of %i bytes without its IEND incomplete', async (size) => {
    await writeFile(join(work.path, 'a.png'), png(size, false));
    expect(await hash(join(work.path, 'a.png'))).toBe('incomplete');
  });

  it.each(SIZES)(
    'calls a file of %i bytes unstable when it no longer has the identity it was seen with',
    async (size) => {
      const abs = join(work.path, 'a.png');
      await writeFile(abs, png(size));
      const seen = identifySync(abs)!;
      await utimes(abs, new Date(seen.mtimeMs + 5_000), new Date(seen.mtimeMs + 5_000));
      expect(await hashSettledFile(abs, 'a.png', seen, logger, () => undefined)).toBe('unstable');
      await truncate(abs, size - 10);
      expect(await hashSettledFile(abs, 'a.png', seen, logger, () => undefined)).toBe('unstable');
    },
  );

  it('never follows a symlink, and never waits on a FIFO', async () => {
    const target = join(work.path, 'target.png');
    await writeFile(target, png(100));
    await symlink(target, join(work.path, 'link.png'));
    // The identity of the file behind the link, handed in for the link's path: the open refuses it.
    const identity = identifySync(target)!;
    expect(
      await hashSettledFile(join(work.path, 'link.png'), 'link.png', identity, logger, () => undefined),
    ).toBe('unstable');
    execFileSync('mkfifo', [join(work.path, 'fifo.png')]);
    const fifo = { size: 0, mtimeMs: identity.mtimeMs, ino: identity.ino };
    expect(
      await hashSettledFile(join(work.path, 'fifo.png'), 'fifo.png', fifo, logger, () => undefined),
    ).toBe('unstable');
  });

  it('lets timers run while a scan hashes thousands of small files', async () => {
    const out = join(work.path, 'output');
    await mkdir(out);
    for (let i = 0; i < 5_000; i++) await writeFile(join(out, `${i}.png`), png(2_000 + i));
    const scanner = new Scanner({
      roots: [{ name: 'output', dir: out }],
      filter: createFilter([], []),
      settleMs: 0,
      index: new FileIndex(),
      clock: { now: () => Date.now() + 60_000 },
      logger,
    });
    // Ticks of a 1 ms timer seen while files are being hashed (not while the walk lists them, which
    // has turns of its own, nor while the index is saved after, nor while the hash first loads).
    let hashingTicks = 0;
    const ticker = setInterval(() => {
      const live = scanner.progress;
      if (live?.phase === 'hashing' && live.filesHashed > 0 && live.filesHashed < live.filesToHash)
        hashingTicks++;
    }, 1);
    try {
      const snapshot = await scanner.scan();
      expect(snapshot.hashed).toBe(5_000);
      expect(hashingTicks).toBeGreaterThanOrEqual(2);
    } finally {
      clearInterval(ticker);
    }
  });
});
