// Receipts: only what an archive carried whole and a controller acknowledged; durable, bounded, and the purge journal.
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RECEIPT_LIMITS, ReceiptLedger } from './receipts.js';

const id = (ino: number) => ({ size: 100, mtimeMs: 1_700_000_000_000.5, ino });
const H1 = '0123456789abcdef';
const H2 = 'fedcba9876543210';

describe('ReceiptLedger', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'receipts-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('gives a receipt only to a file the archive carried whole, with that hash, once acknowledged', async () => {
    const ledger = new ReceiptLedger();
    const archive = ledger.openArchive();
    ledger.streamed(archive, 'output/a.png', id(1), H1);
    expect(ledger.holds('output/a.png', id(1), H1)).toBe(false);
    const result = await ledger.acknowledge(archive, [
      { path: 'output/a.png', xxh64: H1 },
      { path: 'output/b.png', xxh64: H1 },
    ]);
    expect(result).toEqual({ acknowledged: 1, refused: [{ path: 'output/b.png', reason: 'not-streamed' }] });
    expect(ledger.holds('output/a.png', id(1), H1)).toBe(true);
    // Another inode, hash or path is another file.
    expect(ledger.holds('output/a.png', id(2), H1)).toBe(false);
    expect(ledger.holds('output/a.png', id(1), H2)).toBe(false);
    expect(ledger.holds('output/b.png', id(1), H1)).toBe(false);
    expect(await ledger.acknowledge('f'.repeat(32), [{ path: 'output/a.png', xxh64: H1 }])).toEqual({
      acknowledged: 0,
      refused: [{ path: 'output/a.png', reason: 'unknown-archive' }],
    });
  });

  it('refuses an acknowledgement of other bytes than were sent', async () => {
    const ledger = new ReceiptLedger();
    const archive = ledger.openArchive();
    ledger.streamed(archive, 'output/a.png', id(1), H1);
    expect((await ledger.acknowledge(archive, [{ path: 'output/a.png', xxh64: H2 }])).refused).toEqual([
      { path: 'output/a.png', reason: 'other-content' },
    ]);
    expect(ledger.holds('output/a.png', id(1), H2)).toBe(false);
  });

  it('keeps receipts and the purge journal across a restart, and drops a receipt once purged', async () => {
    const first = new ReceiptLedger(dir);
    await first.load();
    const archive = first.openArchive();
    first.streamed(archive, 'output/a.png', id(1), H1);
    first.streamed(archive, 'output/b.png', id(2), H2);
    await first.acknowledge(archive, [
      { path: 'output/a.png', xxh64: H1 },
      { path: 'output/b.png', xxh64: H2 },
    ]);
    first.purged('output/b.png', id(2), H2, { runId: 'run1', at: 1234 });
    await first.flush();
    // No close: as after a crash.
    const second = new ReceiptLedger(dir);
    await second.load();
    expect(second.holds('output/a.png', id(1), H1)).toBe(true);
    expect(second.holds('output/b.png', id(2), H2)).toBe(false);
    expect(second.purgedBy('output/b.png', H2)).toEqual({ runId: 'run1', at: 1234 });
    expect(second.purgedBy('output/b.png', H1)).toBeUndefined();
    await second.close();
    // Compacted at load: one line per live receipt or deletion.
    expect((await readFile(join(dir, 'receipts.v1.log'), 'utf8')).trim().split('\n')).toHaveLength(2);
  });

  it('keeps 60,000 receipts in order across restarts, through compactions written in chunks', async () => {
    const first = new ReceiptLedger(dir, { ...DEFAULT_RECEIPT_LIMITS, maxPendingFiles: 100_000 });
    await first.load();
    const archive = first.openArchive();
    const files = Array.from({ length: 60_000 }, (_, i) => ({ path: `output/${i}.png`, xxh64: H1 }));
    files.forEach(({ path }, i) => first.streamed(archive, path, id(i), H1));
    expect((await first.acknowledge(archive, files)).acknowledged).toBe(60_000);
    await first.close();
    // The log a crash can leave: a cut line, and a line of something else.
    const log = join(dir, 'receipts.v1.log');
    await appendFile(log, 'r abc\nr 012345678901234567890\u00e9\n');
    const second = new ReceiptLedger(dir, { ...DEFAULT_RECEIPT_LIMITS, maxReceipts: 59_999 });
    await second.load();
    // The oldest went to make room, the rest are held, and the compacted log (over a megabyte, so
    // written in more than one chunk) names each once.
    expect(second.size).toBe(59_999);
    expect(second.holds('output/0.png', id(0), H1)).toBe(false);
    const missing = files.slice(1).filter(({ path }, i) => !second.holds(path, id(i + 1), H1));
    expect(missing).toEqual([]);
    await second.close();
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(59_999);
    expect(new Set(lines).size).toBe(59_999);
    expect((await stat(log)).size).toBeGreaterThan(1 << 20);
  });

  it('stays bounded: receipts, pending archives and files, and receipts of files no longer listed', async () => {
    const ledger = new ReceiptLedger(undefined, {
      ...DEFAULT_RECEIPT_LIMITS,
      maxReceipts: 2,
      maxPendingArchives: 2,
      maxPendingFiles: 3,
    });
    const archives = [ledger.openArchive(), ledger.openArchive(), ledger.openArchive()];
    expect((await ledger.acknowledge(archives[0]!, [{ path: 'x', xxh64: H1 }])).refused[0]!.reason).toBe(
      'unknown-archive',
    );
    for (let i = 0; i < 3; i++) ledger.streamed(archives[2]!, `output/${i}.png`, id(i), H1);
    await ledger.acknowledge(
      archives[2]!,
      [0, 1, 2].map((i) => ({ path: `output/${i}.png`, xxh64: H1 })),
    );
    expect(ledger.size).toBe(2);
    expect(ledger.holds('output/0.png', id(0), H1)).toBe(false);
    expect(ledger.holds('output/2.png', id(2), H1)).toBe(true);
    ledger.retainListed([['output/2.png', { ...id(2), xxh64: H1 }]], 1);
    expect(ledger.size).toBe(1);
    expect(ledger.holds('output/1.png', id(1), H1)).toBe(false);
  });
});
