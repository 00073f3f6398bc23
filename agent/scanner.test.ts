// Scanner: settle window on an injected clock, the hash cache's counters, and a cache that survives a restart.
import { appendFile, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../common/clock.js';
import { createFilter } from './filters.js';
import { HashCache } from './hash-cache.js';
import { resolveRoots } from './roots.js';
import { Scanner } from './scanner.js';

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
  const base = Date.parse('2026-11-24T12:00:00Z');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scanner-'));
    out = join(dir, 'output');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function scannerFor(clock: Clock, cache = new HashCache()): Promise<Scanner> {
    return new Scanner({
      roots: await resolveRoots([out]),
      filter: createFilter([], []),
      settleMs: 10_000,
      cache,
      clock,
      logger,
    });
  }

  async function putAt(name: string, content: Buffer, mtimeMs: number): Promise<void> {
    await writeFile(join(out, name), content);
    await utimes(join(out, name), mtimeMs / 1000, mtimeMs / 1000);
  }

  it('offers a file only once it is older than the settle window', async () => {
    const clock = new FakeClock(base);
    await putAt('ComfyUI_00001_.png', PNG, base - 2_000);
    const scanner = await scannerFor(clock);
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
    const scanner = await scannerFor(clock);
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

  it('hashes each file once, then reuses the cache until the file changes', async () => {
    const clock = new FakeClock(base);
    for (let i = 0; i < 20; i++)
      await putAt(
        `img-${i}.png`,
        Buffer.concat([PNG.subarray(0, 8), Buffer.from(`n${i}`), PNG.subarray(-12)]),
        base - 60_000,
      );
    const scanner = await scannerFor(clock);
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

  it('does not re-hash after a restart when the cache lives in a state folder', async () => {
    const clock = new FakeClock(base);
    const stateDir = join(dir, 'state');
    for (let i = 0; i < 5; i++)
      await putAt(
        `img-${i}.png`,
        Buffer.concat([PNG.subarray(0, 8), Buffer.from(`n${i}`), PNG.subarray(-12)]),
        base - 60_000,
      );
    const before = await (await scannerFor(clock, new HashCache(stateDir))).scan();
    expect(before.hashed).toBe(5);

    const cache = new HashCache(stateDir);
    await cache.load();
    const after = await (await scannerFor(clock, cache)).scan();
    expect([after.hashed, after.cacheHits]).toEqual([0, 5]);
    expect(after.entries).toEqual(before.entries);
  });

  it('joins a scan that is already running instead of starting a second', async () => {
    await putAt('a.png', PNG, base - 60_000);
    const scanner = await scannerFor(new FakeClock(base));
    const [a, b] = await Promise.all([scanner.scan(), scanner.scan()]);
    expect(a).toBe(b);
    expect(scanner.stats.scans).toBe(1);
  });
});
