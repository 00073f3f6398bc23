// Unit tests for the hash cache: identity matching, forgetting gone files, and its state file on disk.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HashCache, type FileIdentity } from './hash-cache.js';

const FILE_NAME = 'hash-cache.v1.ndjson';
const H1 = '0123456789abcdef';
const H2 = 'fedcba9876543210';
const ID: FileIdentity = { size: 100, mtimeMs: 1_700_000_000_123.5, ino: 42 };

describe('HashCache.get', () => {
  const cache = new HashCache();
  cache.set('outputs/a.png', ID, H1);

  it.each<[string, string, FileIdentity, string | undefined]>([
    ['identical identity', 'outputs/a.png', { ...ID }, H1],
    ['other size', 'outputs/a.png', { ...ID, size: 101 }, undefined],
    ['other mtime', 'outputs/a.png', { ...ID, mtimeMs: ID.mtimeMs + 0.5 }, undefined],
    ['other inode', 'outputs/a.png', { ...ID, ino: 43 }, undefined],
    ['unknown path', 'outputs/b.png', { ...ID }, undefined],
    ['path differing in case', 'outputs/A.png', { ...ID }, undefined],
  ])('%s → %s', (_label, path, identity, expected) => {
    expect(cache.get(path, identity)).toBe(expected);
  });

  it('set replaces the previous entry for a path', () => {
    const c = new HashCache();
    c.set('p', ID, H1);
    c.set('p', { ...ID, size: 5 }, H2);
    expect(c.size).toBe(1);
    expect(c.get('p', ID)).toBeUndefined();
    expect(c.get('p', { ...ID, size: 5 })).toBe(H2);
  });
});

describe('HashCache.retainOnly', () => {
  it('forgets exactly the paths not kept', () => {
    const cache = new HashCache();
    for (const path of ['r/a.png', 'r/b.png', 'r/c.png']) cache.set(path, ID, H1);
    cache.retainOnly(new Set(['r/b.png', 'r/gone-already.png']));
    expect(cache.size).toBe(1);
    expect(cache.get('r/a.png', ID)).toBeUndefined();
    expect(cache.get('r/b.png', ID)).toBe(H1);
    expect(cache.get('r/c.png', ID)).toBeUndefined();
  });

  it('an empty keep set empties the cache', () => {
    const cache = new HashCache();
    cache.set('r/a.png', ID, H1);
    cache.retainOnly(new Set());
    expect(cache.size).toBe(0);
  });
});

describe('HashCache state file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hash-cache-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips through save and load, creating the state folder', async () => {
    const stateDir = join(dir, 'state', 'nested');
    const cache = new HashCache(stateDir);
    cache.set('outputs/a.png', ID, H1);
    cache.set('outputs/sub/ünï "quoted"\nname.png', { size: 0, mtimeMs: 0, ino: 0 }, H2);
    await cache.save();
    expect(await readdir(stateDir)).toEqual([FILE_NAME]);

    const loaded = new HashCache(stateDir);
    await loaded.load();
    expect(loaded.size).toBe(2);
    expect(loaded.get('outputs/a.png', ID)).toBe(H1);
    expect(loaded.get('outputs/sub/ünï "quoted"\nname.png', { size: 0, mtimeMs: 0, ino: 0 })).toBe(H2);
  });

  it('writes one JSON array per line', async () => {
    const cache = new HashCache(dir);
    cache.set('r/a.png', { size: 1, mtimeMs: 2, ino: 3 }, H1);
    cache.set('r/b.png', { size: 4, mtimeMs: 5.5, ino: 6 }, H2);
    await cache.save();
    expect(await readFile(join(dir, FILE_NAME), 'utf8')).toBe(
      `["r/a.png",1,2,3,"${H1}"]\n["r/b.png",4,5.5,6,"${H2}"]\n`,
    );
  });

  it('skips damaged lines and keeps the good ones', async () => {
    const lines = [
      `["r/good1.png",1,2,3,"${H1}"]`,
      `["r/cut.png",1,2,3,"${H1}`,
      'not json at all',
      '42',
      'null',
      '{"path":"r/obj.png"}',
      `["r/badhash.png",1,2,3,"XYZ"]`,
      `["r/shorthash.png",1,2,3,"0123"]`,
      `[7,1,2,3,"${H1}"]`,
      '',
      `["r/good2.png",4,5,6,"${H2}"]`,
    ];
    await writeFile(join(dir, FILE_NAME), lines.join('\n'));
    const cache = new HashCache(dir);
    await cache.load();
    expect(cache.size).toBe(2);
    expect(cache.get('r/good1.png', { size: 1, mtimeMs: 2, ino: 3 })).toBe(H1);
    expect(cache.get('r/good2.png', { size: 4, mtimeMs: 5, ino: 6 })).toBe(H2);
  });

  it('loads nothing, without error, when the file does not exist', async () => {
    const cache = new HashCache(join(dir, 'missing'));
    await cache.load();
    expect(cache.size).toBe(0);
  });

  it('does not rewrite the file when nothing changed since load', async () => {
    await writeFile(join(dir, FILE_NAME), `["r/a.png",1,2,3,"${H1}"]\n`);
    const cache = new HashCache(dir);
    await cache.load();
    await rm(join(dir, FILE_NAME));
    await cache.save();
    expect(existsSync(join(dir, FILE_NAME))).toBe(false);
  });

  it('retainOnly that forgets something makes the next save write', async () => {
    const first = new HashCache(dir);
    first.set('r/a.png', ID, H1);
    first.set('r/b.png', ID, H2);
    await first.save();

    const second = new HashCache(dir);
    await second.load();
    second.retainOnly(new Set(['r/b.png']));
    await second.save();

    const third = new HashCache(dir);
    await third.load();
    expect(third.size).toBe(1);
    expect(third.get('r/b.png', ID)).toBe(H2);
    expect(await readdir(dir)).toEqual([FILE_NAME]);
  });

  it('writes no file anywhere without a state folder', async () => {
    const previous = process.cwd();
    process.chdir(dir);
    try {
      const cache = new HashCache();
      cache.set('r/a.png', ID, H1);
      await cache.save();
      await cache.load();
      expect(cache.get('r/a.png', ID)).toBe(H1);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      process.chdir(previous);
    }
  });
});
