// Scanner: settle window on an injected clock, the index's counters and generations, refreshes of
// single paths, unfinished files not re-read, and an index that survives a restart.
import { appendFile, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../common/clock.js';
import { FileIndex } from './file-index.js';
import { createFilter } from './filters.js';
import { type Root, resolveRoots } from './roots.js';
import { PENDING_REASONS, Scanner } from './scanner.js';

// Every read of a file's bytes goes through hashSettledFile; counting its calls shows what was re-read.
const reads = vi.hoisted(() => ({ paths: [] as string[] }));
vi.mock('./hash-file.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('./hash-file.js')>();
  return {
    ...original,
    hashSettledFile: (...args: Parameters<typeof original.hashSettledFile>) => {
      reads.paths.push(args[0]);
      return original.hashSettledFile(...args);
    },
  };
});

const logger = pino({ level: 'silent' });
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('pixels'),
  Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]),
]);

class FakeClock implements Clock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
}

describe('Scanner', () => {
  let dir: string;
  let out: string;
  let root: Root;
  const base = Date.parse('2026-11-24T12:00:00Z');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scanner-'));
    out = join(dir, 'output');
    await mkdir(out);
    [root] = (await resolveRoots([out])) as [Root];
    reads.paths.length = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  function scannerFor(
    clock: Clock,
    index = new FileIndex(),
    onFolder?: (root: Root, rel: string) => void,
  ): Scanner {
    return new Scanner({
      roots: [root],
      filter: createFilter([], []),
      settleMs: 10_000,
      index,
      clock,
      logger,
      onFolder,
    });
  }

  async function putAt(name: string, content: Buffer, mtimeMs: number): Promise<void> {
    await mkdir(dirname(join(out, name)), { recursive: true });
    await writeFile(join(out, name), content);
    await utimes(join(out, name), mtimeMs / 1000, mtimeMs / 1000);
  }

  /** A complete PNG whose bytes differ by `tag`. */
  const png = (tag: string): Buffer =>
    Buffer.concat([PNG.subarray(0, 8), Buffer.from(tag), PNG.subarray(-12)]);

  const paths = (scanner: Scanner): string[] => [...scanner.index.listed()].map(([path]) => path).sort();

  it('offers a file only once it is older than the settle window', async () => {
    const clock = new FakeClock(base);
    await putAt('ComfyUI_00001_.png', PNG, base - 2_000);
    const scanner = scannerFor(clock);
    let snapshot = await scanner.scan();
    expect(snapshot.entries).toEqual([]);
    expect(snapshot.pending).toBe(1);

    clock.ms = base + 8_000;
    snapshot = await scanner.scan();
    expect(snapshot.entries.map((entry) => entry.path)).toEqual(['output/ComfyUI_00001_.png']);
    expect(snapshot.entries[0]).toMatchObject({
      size: PNG.length,
      xxh64: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(snapshot.pending).toBe(0);
  });

  it('keeps a file pending while it keeps changing, even with a clock-skewed future mtime', async () => {
    const clock = new FakeClock(base);
    await putAt('grow.png', PNG.subarray(0, 10), base + 60_000);
    const scanner = scannerFor(clock);
    expect((await scanner.scan()).pending).toBe(1);
    clock.ms = base + 6_000;
    await appendFile(join(out, 'grow.png'), PNG.subarray(10));
    await utimes(join(out, 'grow.png'), (base + 61_000) / 1000, (base + 61_000) / 1000);
    expect((await scanner.scan()).pending).toBe(1);
    clock.ms = base + 12_000; // seen unchanged for 6s only
    expect((await scanner.scan()).entries).toHaveLength(0);
    clock.ms = base + 16_001; // unchanged for more than 10s since first seen in this state
    const snapshot = await scanner.scan();
    expect(snapshot.entries.map((entry) => entry.path)).toEqual(['output/grow.png']);
  });

  it('reports a file pending longer than the limit, with its reason, on every pass', async () => {
    const clock = new FakeClock(base);
    // A PNG cut before IEND: settled, but its bytes say it is unfinished.
    await putAt('stuck.png', PNG.subarray(0, 14), base - 60_000);
    await putAt('ok.png', PNG, base - 60_000);
    const scanner = scannerFor(clock);
    expect((await scanner.scan()).pending).toBe(1);
    expect(scanner.stats.longPending).toEqual([]);
    clock.ms = base + 3_600_000 - 1;
    await scanner.scan();
    expect(scanner.stats.longPending).toEqual([]);
    clock.ms = base + 3_600_000;
    await scanner.scan();
    expect(scanner.stats.longPending).toEqual([
      { path: 'output/stuck.png', reason: PENDING_REASONS.incomplete, pendingForMs: 3_600_000 },
    ]);
    clock.ms = base + 7_200_000;
    await scanner.scan();
    expect(scanner.stats.longPending).toMatchObject([{ path: 'output/stuck.png', pendingForMs: 7_200_000 }]);
    // Finished at last: no longer reported, and a new wait starts from zero.
    await putAt('stuck.png', PNG, base - 60_000);
    await scanner.scan();
    expect(scanner.stats.longPending).toEqual([]);
    expect(paths(scanner)).toEqual(['output/ok.png', 'output/stuck.png']);
  });

  it('hashes each file once, then reuses the cache until the file changes', async () => {
    const clock = new FakeClock(base);
    for (let i = 0; i < 20; i++)
      await putAt(
        `img-${i}.png`,
        Buffer.concat([PNG.subarray(0, 8), Buffer.from(`n${i}`), PNG.subarray(-12)]),
        base - 60_000,
      );
    const scanner = scannerFor(clock);
    const first = await scanner.scan();
    expect([first.hashed, first.cacheHits]).toEqual([20, 0]);
    const second = await scanner.scan();
    expect([second.hashed, second.cacheHits]).toEqual([0, 20]);
    expect(second.generation).toBe(first.generation);

    await putAt(
      'img-3.png',
      Buffer.concat([PNG.subarray(0, 8), Buffer.from('changed'), PNG.subarray(-12)]),
      base - 30_000,
    );
    const third = await scanner.scan();
    expect([third.hashed, third.cacheHits]).toEqual([1, 19]);
    expect(third.generation).toBe(first.generation + 1);
    expect(scanner.stats).toMatchObject({ scans: 3, filesHashed: 21, cacheHits: 39, manifestFiles: 20 });
  });

  it('does not re-hash after a restart when the index lives in a state folder', async () => {
    const clock = new FakeClock(base);
    const stateDir = join(dir, 'state');
    for (let i = 0; i < 5; i++)
      await putAt(
        `img-${i}.png`,
        Buffer.concat([PNG.subarray(0, 8), Buffer.from(`n${i}`), PNG.subarray(-12)]),
        base - 60_000,
      );
    const first = new FileIndex(stateDir);
    await first.load();
    const before = await scannerFor(clock, first).scan();
    expect(before.hashed).toBe(5);
    await first.close();

    const index = new FileIndex(stateDir);
    await index.load();
    const after = await scannerFor(clock, index).scan();
    expect([after.hashed, after.cacheHits]).toEqual([0, 5]);
    expect(after.entries).toEqual(before.entries);
    expect([after.generation, index.epoch]).toEqual([before.generation, first.epoch]);
  });

  it('joins a scan that is already running instead of starting a second', async () => {
    await putAt('a.png', PNG, base - 60_000);
    const scanner = scannerFor(new FakeClock(base));
    const [a, b] = await Promise.all([scanner.scan(), scanner.scan()]);
    expect(a).toBe(b);
    expect(scanner.stats.scans).toBe(1);
  });

  it('refresh lists a new file, re-hashes a changed one and unlists a deleted one, a generation each', async () => {
    const clock = new FakeClock(base);
    await putAt('keep.png', png('keep'), base - 60_000);
    await putAt('change.png', png('v1'), base - 60_000);
    await putAt('delete.png', png('delete'), base - 60_000);
    const scanner = scannerFor(clock);
    const { generation } = await scanner.scan();
    const { index } = scanner;
    const epoch = index.epoch;

    await putAt('new.png', png('new'), base - 30_000);
    expect(await scanner.refresh([{ root, rel: 'new.png' }])).toEqual([]);
    expect(index.generation).toBe(generation + 1);
    expect(index.changesSince(epoch, generation)?.files.map(([path]) => path)).toEqual(['output/new.png']);

    const old = index.changesSince(epoch, 0)!.files.find(([path]) => path === 'output/change.png')![1];
    await putAt('change.png', png('v2, longer'), base - 20_000);
    await scanner.refresh([{ root, rel: 'change.png' }]);
    expect(index.generation).toBe(generation + 2);
    const [[path, changed]] = index.changesSince(epoch, generation + 1)!.files as [[string, typeof old]];
    expect(path).toBe('output/change.png');
    expect(changed.xxh64).not.toBe(old.xxh64);
    expect(changed.size).toBe(png('v2, longer').length);

    await rm(join(out, 'delete.png'));
    await scanner.refresh([{ root, rel: 'delete.png' }]);
    expect(index.generation).toBe(generation + 3);
    expect(index.changesSince(epoch, generation + 2)).toEqual({ files: [], removed: ['output/delete.png'] });
    expect(paths(scanner)).toEqual(['output/change.png', 'output/keep.png', 'output/new.png']);

    // A refresh that finds nothing new makes no generation.
    await scanner.refresh([
      { root, rel: 'keep.png' },
      { root, rel: 'gone-already.png' },
    ]);
    expect(index.generation).toBe(generation + 3);
    expect(scanner.stats).toMatchObject({ scans: 1, manifestFiles: 3, generation: generation + 3, epoch });
  });

  it('refresh of a new folder lists what is in it, and of a deleted folder unlists everything below', async () => {
    const clock = new FakeClock(base);
    const folders: string[] = [];
    await putAt('top.png', png('top'), base - 60_000);
    const scanner = scannerFor(clock, new FileIndex(), (_root, rel) => folders.push(rel));
    const { generation } = await scanner.scan();
    expect(folders).toEqual(['']);

    await putAt('batch/a.png', png('a'), base - 60_000);
    await putAt('batch/deep/b.png', png('b'), base - 60_000);
    await scanner.refresh([{ root, rel: 'batch' }]);
    expect(scanner.index.generation).toBe(generation + 1);
    expect(paths(scanner)).toEqual(['output/batch/a.png', 'output/batch/deep/b.png', 'output/top.png']);
    expect(folders.sort()).toEqual(['', 'batch', 'batch/deep']);

    await rm(join(out, 'batch'), { recursive: true });
    await scanner.refresh([{ root, rel: 'batch' }]);
    expect(scanner.index.generation).toBe(generation + 2);
    expect(scanner.index.changesSince(scanner.index.epoch, generation + 1)).toEqual({
      files: [],
      removed: ['output/batch/a.png', 'output/batch/deep/b.png'],
    });
    expect(paths(scanner)).toEqual(['output/top.png']);
  });

  it('refresh of a folder swapped for another unlists what the new one lacks', async () => {
    const clock = new FakeClock(base);
    await putAt('set/a.png', png('a'), base - 60_000);
    await putAt('set/b.png', png('b'), base - 60_000);
    await putAt('other/c.png', png('c'), base - 60_000);
    const scanner = scannerFor(clock);
    const { generation } = await scanner.scan();

    // The folder is replaced whole, as a rename over it does: b.png is gone, c.png is new.
    await rm(join(out, 'set'), { recursive: true });
    await putAt('set/a.png', png('a'), base - 60_000);
    await putAt('set/c.png', png('c2'), base - 60_000);
    await scanner.refresh([{ root, rel: 'set' }]);
    expect(paths(scanner)).toEqual(['output/other/c.png', 'output/set/a.png', 'output/set/c.png']);
    expect(scanner.index.changesSince(scanner.index.epoch, generation)).toMatchObject({
      removed: ['output/set/b.png'],
    });
  });

  it('refresh leaves an unsettled file pending and says when to look again', async () => {
    const clock = new FakeClock(base);
    const scanner = scannerFor(clock);
    await scanner.scan();
    await putAt('fresh.png', png('fresh'), base - 2_000);
    await putAt('.hidden.png', png('hidden'), base - 60_000);
    const retries = await scanner.refresh([
      { root, rel: 'fresh.png' },
      { root, rel: '.hidden.png' },
    ]);
    expect(retries).toEqual([{ root, rel: 'fresh.png', atMs: base - 2_000 + 10_000 }]);
    expect(scanner.index.generation).toBe(0);
    expect(scanner.stats.pendingFiles).toBe(1);
    expect(scanner.pendingByReason()).toEqual({ settling: 1 });

    clock.ms = base + 8_000;
    expect(await scanner.refresh([{ root, rel: 'fresh.png' }])).toEqual([]);
    expect(paths(scanner)).toEqual(['output/fresh.png']);
    expect(scanner.stats.pendingFiles).toBe(0);
    expect(scanner.pendingByReason()).toEqual({});
  });

  it('does not re-read a PNG without IEND while its size, mtime and inode stay the same', async () => {
    const clock = new FakeClock(base);
    const unfinished = PNG.subarray(0, PNG.length - 12); // Pillow has not written IEND yet
    await putAt('unfinished.png', unfinished, base - 60_000);
    const scanner = scannerFor(clock);
    const abs = join(root.dir, 'unfinished.png');

    let snapshot = await scanner.scan();
    expect([snapshot.entries, snapshot.pending]).toEqual([[], 1]);
    expect(reads.paths).toEqual([abs]);

    clock.ms = base + 60_000;
    snapshot = await scanner.scan();
    expect([snapshot.entries, snapshot.pending]).toEqual([[], 1]);
    await scanner.refresh([{ root, rel: 'unfinished.png' }]);
    expect(reads.paths).toEqual([abs]); // not read again
    expect(scanner.stats).toMatchObject({ filesHashed: 0, bytesHashed: 0, pendingFiles: 1 });

    // Once the writer finishes, the identity changes and the file is read and listed.
    await appendFile(abs, PNG.subarray(-12));
    await utimes(abs, (base + 40_000) / 1000, (base + 40_000) / 1000);
    snapshot = await scanner.scan();
    expect(snapshot.entries.map((entry) => entry.path)).toEqual(['output/unfinished.png']);
    expect(reads.paths).toEqual([abs, abs]);
    expect(scanner.stats).toMatchObject({ filesHashed: 1, bytesHashed: PNG.length, pendingFiles: 0 });
  });
});
