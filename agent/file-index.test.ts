// Unit tests for the file index: identity matching, the change journal (generations, tombstones,
// horizon), waiting for a change, and its state file on disk (epochs across clean and crashed runs).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileIdentity, FileIndex, type IndexChanges, MAX_TOMBSTONES } from './file-index.js';

const FILE_NAME = 'file-index.v2.ndjson';
const V1_FILE_NAME = 'hash-cache.v1.ndjson';
const OPEN_MARKER = 'file-index.open';
const H1 = '0123456789abcdef';
const H2 = 'fedcba9876543210';
const ID: FileIdentity = { size: 100, mtimeMs: 1_700_000_000_123.5, ino: 42 };

/** changesSince as sorted paths, for comparisons; null stays null. */
function changed(index: FileIndex, since: number, epoch = index.epoch) {
  const changes: IndexChanges | null = index.changesSince(epoch, since);
  if (!changes) return null;
  return { files: changes.files.map(([path]) => path).sort(), removed: [...changes.removed].sort() };
}

/** An index with these paths listed (identity ID, hash H1) and committed as one generation. */
function indexWith(...paths: string[]): FileIndex {
  const index = new FileIndex();
  for (const path of paths) index.set(path, ID, H1);
  index.commit();
  return index;
}

describe('FileIndex.get and set', () => {
  const index = indexWith('outputs/a.png');

  it.each<[string, string, FileIdentity, string | undefined]>([
    ['identical identity', 'outputs/a.png', { ...ID }, H1],
    ['other size', 'outputs/a.png', { ...ID, size: 101 }, undefined],
    ['other mtime', 'outputs/a.png', { ...ID, mtimeMs: ID.mtimeMs + 0.5 }, undefined],
    ['other inode', 'outputs/a.png', { ...ID, ino: 43 }, undefined],
    ['unknown path', 'outputs/b.png', { ...ID }, undefined],
    ['path differing in case', 'outputs/A.png', { ...ID }, undefined],
  ])('%s → %s', (_label, path, identity, expected) => {
    expect(index.get(path, identity)).toBe(expected);
  });

  it('set replaces the previous entry for a path', () => {
    const i = new FileIndex();
    i.set('p', ID, H1);
    i.set('p', { ...ID, size: 5 }, H2);
    expect(i.size).toBe(1);
    expect(i.get('p', ID)).toBeUndefined();
    expect(i.get('p', { ...ID, size: 5 })).toBe(H2);
  });

  it('set of exactly what is listed changes nothing: no new generation', () => {
    const i = indexWith('p');
    expect(i.generation).toBe(1);
    i.set('p', { ...ID }, H1);
    expect(i.commit()).toBe(false);
    expect(i.generation).toBe(1);
    expect(changed(i, 1)).toEqual({ files: [], removed: [] });
  });

  it.each<[string, FileIdentity, string]>([
    ['another hash', ID, H2],
    ['another size', { ...ID, size: 7 }, H1],
    ['another mtime', { ...ID, mtimeMs: 1 }, H1],
    ['another inode', { ...ID, ino: 7 }, H1],
  ])('set with %s is a change', (_label, identity, xxh64) => {
    const i = indexWith('p');
    i.set('p', identity, xxh64);
    expect(i.commit()).toBe(true);
    expect(changed(i, 1)).toEqual({ files: ['p'], removed: [] });
  });
});

describe('FileIndex.delete, deleteUnder and retainOnly', () => {
  it('delete unlists one path and leaves a tombstone; deleting an unknown path changes nothing', () => {
    const index = indexWith('r/a.png', 'r/b.png');
    index.delete('r/nothing.png');
    expect(index.commit()).toBe(false);
    index.delete('r/a.png');
    expect(index.commit()).toBe(true);
    expect(index.size).toBe(1);
    expect(index.get('r/a.png', ID)).toBeUndefined();
    expect(changed(index, 1)).toEqual({ files: [], removed: ['r/a.png'] });
  });

  it('deleteUnder unlists everything below a folder, and nothing beside it', () => {
    const index = indexWith('r/sub/a.png', 'r/sub/deep/b.png', 'r/sub.png', 'r/subway/c.png', 'r/x.png');
    index.deleteUnder('r/sub');
    index.commit();
    expect([...index.listed()].map(([path]) => path).sort()).toEqual([
      'r/sub.png',
      'r/subway/c.png',
      'r/x.png',
    ]);
    expect(changed(index, 1)).toEqual({ files: [], removed: ['r/sub/a.png', 'r/sub/deep/b.png'] });
  });

  it('retainOnly forgets exactly the paths not kept', () => {
    const index = indexWith('r/a.png', 'r/b.png', 'r/c.png');
    index.retainOnly(new Set(['r/b.png', 'r/gone-already.png']));
    index.commit();
    expect(index.size).toBe(1);
    expect(index.get('r/a.png', ID)).toBeUndefined();
    expect(index.get('r/b.png', ID)).toBe(H1);
    expect(changed(index, 1)).toEqual({ files: [], removed: ['r/a.png', 'r/c.png'] });
  });

  it('retainOnly with an empty set empties the index', () => {
    const index = indexWith('r/a.png');
    index.retainOnly(new Set());
    expect(index.size).toBe(0);
  });

  it('a path listed again loses its tombstone, and one removed again is reported once', () => {
    const index = indexWith('r/a.png', 'r/b.png');
    index.delete('r/a.png');
    index.delete('r/b.png');
    index.commit(); // 2
    index.set('r/a.png', ID, H2);
    index.commit(); // 3
    expect(changed(index, 1)).toEqual({ files: ['r/a.png'], removed: ['r/b.png'] });
    expect(changed(index, 2)).toEqual({ files: ['r/a.png'], removed: [] });
    index.delete('r/a.png');
    index.commit(); // 4
    expect(changed(index, 1)).toEqual({ files: [], removed: ['r/a.png', 'r/b.png'] });
  });
});

describe('FileIndex generations', () => {
  it('starts at generation 0 with nothing changed', () => {
    const index = new FileIndex();
    expect(index.generation).toBe(0);
    expect(index.epoch).toMatch(/^[0-9a-f]{12}$/);
    expect(changed(index, 0)).toEqual({ files: [], removed: [] });
  });

  it('gives each index its own epoch', () => {
    expect(new FileIndex().epoch).not.toBe(new FileIndex().epoch);
  });

  it('keeps changes out of the generation until commit, then makes them all one generation', () => {
    const index = indexWith('r/old.png');
    index.set('r/a.png', ID, H1);
    index.set('r/b.png', ID, H1);
    index.delete('r/old.png');
    expect(index.generation).toBe(1);
    expect(index.changesSince(index.epoch, 1)?.files).toEqual([]);
    expect(index.commit()).toBe(true);
    expect(index.generation).toBe(2);
    expect(changed(index, 1)).toEqual({ files: ['r/a.png', 'r/b.png'], removed: ['r/old.png'] });
    expect(changed(index, 2)).toEqual({ files: [], removed: [] });
  });

  it('does not move on a commit without changes', () => {
    const index = indexWith('r/a.png');
    expect(index.commit()).toBe(false);
    expect(index.commit()).toBe(false);
    expect(index.generation).toBe(1);
  });

  it('stamps each entry with the generation that last changed it', () => {
    const index = new FileIndex();
    for (const [gen, path] of ['r/1.png', 'r/2.png', 'r/3.png'].entries()) {
      index.set(path, ID, H1);
      index.commit();
      expect(index.generation).toBe(gen + 1);
    }
    expect(changed(index, 0)?.files).toEqual(['r/1.png', 'r/2.png', 'r/3.png']);
    expect(changed(index, 1)?.files).toEqual(['r/2.png', 'r/3.png']);
    expect(changed(index, 2)?.files).toEqual(['r/3.png']);
    expect(changed(index, 3)?.files).toEqual([]);
    const entry = index.changesSince(index.epoch, 2)!.files[0]![1];
    expect(entry).toMatchObject({ gen: 3, xxh64: H1, size: ID.size, mtimeMs: ID.mtimeMs, ino: ID.ino });
  });

  it.each<[string, (index: FileIndex) => [string, number]]>([
    ['another epoch', () => ['000000000000', 1]],
    ['a generation it never had', (index) => [index.epoch, index.generation + 1]],
    ['a generation far ahead', (index) => [index.epoch, 1e9]],
  ])('cannot say what changed since %s', (_label, position) => {
    const index = indexWith('r/a.png');
    const [epoch, since] = position(index);
    expect(index.changesSince(epoch, since)).toBeNull();
  });

  it(`forgets the oldest removals beyond ${MAX_TOMBSTONES}, and sends older positions to a full list`, () => {
    const index = new FileIndex();
    const paths = Array.from({ length: MAX_TOMBSTONES + 1 }, (_, i) => `r/${i}.png`);
    for (const path of paths) index.set(path, ID, H1);
    index.commit(); // 1: all listed
    index.delete(paths[0]!);
    index.commit(); // 2: one removed
    expect(changed(index, 1)?.removed).toEqual([paths[0]]);
    for (const path of paths.slice(1)) index.delete(path);
    index.commit(); // 3: the rest removed, one tombstone too many
    expect(index.size).toBe(0);
    expect(index.changesSince(index.epoch, 1)).toBeNull();
    expect(index.changesSince(index.epoch, 0)).toBeNull();
    const since2 = index.changesSince(index.epoch, 2)!;
    expect(since2.removed).toHaveLength(MAX_TOMBSTONES);
    expect(since2.removed).not.toContain(paths[0]);
    expect(changed(index, 3)).toEqual({ files: [], removed: [] });
  });
});

describe('FileIndex.waitForChange', () => {
  it('resolves at the next commit that changes something, not at one that does not', async () => {
    const index = indexWith('r/a.png');
    let woken = false;
    const waiting = index.waitForChange(60_000).then(() => (woken = true));
    index.commit();
    await Promise.resolve();
    await Promise.resolve();
    expect(woken).toBe(false);
    index.set('r/b.png', ID, H1);
    await Promise.resolve();
    expect(woken).toBe(false);
    index.commit();
    await waiting;
    expect(woken).toBe(true);
    expect(index.generation).toBe(2);
  });

  it('wakes every waiter', async () => {
    const index = new FileIndex();
    const waits = [index.waitForChange(60_000), index.waitForChange(60_000)];
    index.set('r/a.png', ID, H1);
    index.commit();
    await Promise.all(waits);
  });

  it('resolves after the timeout when nothing changes', async () => {
    const index = new FileIndex();
    const started = Date.now();
    await index.waitForChange(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(index.generation).toBe(0);
  });

  it('resolves when the signal aborts, or at once when it was aborted already', async () => {
    const index = new FileIndex();
    const controller = new AbortController();
    const waiting = index.waitForChange(60_000, controller.signal);
    controller.abort();
    await waiting;
    const soon = (wait: Promise<void>) =>
      Promise.race([
        wait.then(() => 'resolved'),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2_000)),
      ]);
    expect(await soon(index.waitForChange(10_000, AbortSignal.abort()))).toBe('resolved');
  });
});

describe('FileIndex state folder', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-index-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function loaded(stateDir = dir): Promise<FileIndex> {
    const index = new FileIndex(stateDir);
    await index.load();
    return index;
  }

  it('round-trips files, epoch, generation and tombstones, creating the state folder', async () => {
    const stateDir = join(dir, 'state', 'nested');
    const first = await loaded(stateDir);
    const odd = 'outputs/sub/ünï "quoted"\nname.png';
    first.set('outputs/a.png', ID, H1);
    first.set(odd, { size: 1, mtimeMs: 0, ino: 0 }, H2);
    first.set('outputs/gone.png', ID, H1);
    first.commit(); // 1
    first.delete('outputs/gone.png');
    first.commit(); // 2
    await first.close();
    expect(await readdir(stateDir)).toEqual([FILE_NAME]);

    const second = await loaded(stateDir);
    expect([second.epoch, second.generation, second.size]).toEqual([first.epoch, 2, 2]);
    expect(second.get('outputs/a.png', ID)).toBe(H1);
    expect(second.get(odd, { size: 1, mtimeMs: 0, ino: 0 })).toBe(H2);
    expect(changed(second, 0)).toEqual({ files: ['outputs/a.png', odd], removed: ['outputs/gone.png'] });
    expect(changed(second, 1)).toEqual({ files: [], removed: ['outputs/gone.png'] });
    expect(changed(second, 2)).toEqual({ files: [], removed: [] });
    second.set('outputs/new.png', ID, H1);
    second.commit();
    expect(second.generation).toBe(3);
    expect(changed(second, 2)).toEqual({ files: ['outputs/new.png'], removed: [] });
  });

  it('writes a header line, then one JSON array per file and per tombstone', async () => {
    const index = await loaded();
    index.set('r/a.png', { size: 1, mtimeMs: 2, ino: 3 }, H1);
    index.set('r/b.png', { size: 4, mtimeMs: 5.5, ino: 6 }, H2);
    index.commit();
    index.delete('r/b.png');
    index.commit();
    await index.save();
    const lines = (await readFile(join(dir, FILE_NAME), 'utf8')).split('\n');
    expect(lines).toEqual([
      JSON.stringify({ v: 2, epoch: index.epoch, generation: 2, horizon: 0 }),
      `["r/a.png",1,2,3,"${H1}",1]`,
      '["r/b.png",2]',
      '',
    ]);
  });

  it('keeps the hashes of an old hash cache, in a new epoch, and replaces it at the next save', async () => {
    await writeFile(join(dir, V1_FILE_NAME), `["r/a.png",1,2,3,"${H1}"]\n["r/b.png",4,5.5,6,"${H2}"]\n`);
    const index = await loaded();
    expect(index.size).toBe(2);
    expect(index.generation).toBe(0);
    expect(index.get('r/a.png', { size: 1, mtimeMs: 2, ino: 3 })).toBe(H1);
    expect(index.get('r/b.png', { size: 4, mtimeMs: 5.5, ino: 6 })).toBe(H2);
    index.delete('r/a.png');
    await index.close();
    expect((await readdir(dir)).sort()).toEqual([FILE_NAME]);
    const again = await loaded();
    expect([again.epoch, again.generation, again.size]).toEqual([index.epoch, 1, 1]);
    expect(again.get('r/b.png', { size: 4, mtimeMs: 5.5, ino: 6 })).toBe(H2);
  });

  it('prefers the current file to an old hash cache beside it', async () => {
    await writeFile(join(dir, V1_FILE_NAME), `["r/old.png",1,2,3,"${H1}"]\n`);
    await writeFile(
      join(dir, FILE_NAME),
      `{"v":2,"epoch":"abcdefabcdef","generation":4,"horizon":0}\n["r/new.png",1,2,3,"${H2}",4]\n`,
    );
    const index = await loaded();
    expect([index.epoch, index.generation, index.size]).toEqual(['abcdefabcdef', 4, 1]);
    expect(index.get('r/new.png', { size: 1, mtimeMs: 2, ino: 3 })).toBe(H2);
  });

  it('skips damaged lines and keeps the good ones', async () => {
    const lines = [
      '{"v":2,"epoch":"abcdefabcdef","generation":7,"horizon":2}',
      `["r/good1.png",1,2,3,"${H1}",5]`,
      `["r/cut.png",1,2,3,"${H1}`,
      'not json at all',
      '42',
      'null',
      '{"path":"r/obj.png"}',
      `["r/badhash.png",1,2,3,"XYZ",1]`,
      `["r/shorthash.png",1,2,3,"0123",1]`,
      `["r/nosize.png","1",2,3,"${H1}",1]`,
      `[7,1,2,3,"${H1}",1]`,
      '["r/badtomb.png","x"]',
      '',
      `["r/good2.png",4,5,6,"${H2}",7]`,
      '["r/gone.png",6]',
    ];
    await writeFile(join(dir, FILE_NAME), lines.join('\n'));
    const index = await loaded();
    expect([index.epoch, index.generation, index.size]).toEqual(['abcdefabcdef', 7, 2]);
    expect(index.get('r/good1.png', { size: 1, mtimeMs: 2, ino: 3 })).toBe(H1);
    expect(index.get('r/good2.png', { size: 4, mtimeMs: 5, ino: 6 })).toBe(H2);
    expect(changed(index, 5)).toEqual({ files: ['r/good2.png'], removed: ['r/gone.png'] });
    expect(index.changesSince(index.epoch, 1)).toBeNull(); // below the saved horizon
  });

  it('starts a new epoch when the header is missing or damaged', async () => {
    await writeFile(join(dir, FILE_NAME), `{"v":2,"epoch":"abc`);
    expect((await loaded()).epoch).not.toBe('abc');
    await rm(join(dir, OPEN_MARKER));
    await writeFile(join(dir, FILE_NAME), `{"v":3,"epoch":"abcdefabcdef","generation":1}\n`);
    expect((await loaded()).epoch).not.toBe('abcdefabcdef');
  });

  it('loads nothing, without error, when there is no file yet', async () => {
    const index = await loaded(join(dir, 'missing'));
    expect([index.size, index.generation]).toEqual([0, 0]);
  });

  it('does not rewrite the file when nothing changed since load', async () => {
    const first = await loaded();
    first.set('r/a.png', ID, H1);
    await first.close();
    const second = await loaded();
    await rm(join(dir, FILE_NAME));
    await second.save();
    expect(existsSync(join(dir, FILE_NAME))).toBe(false);
  });

  it('marks the folder in use while open, and unmarks it at a clean close that keeps the epoch', async () => {
    const first = await loaded();
    expect(existsSync(join(dir, OPEN_MARKER))).toBe(true);
    first.set('r/a.png', ID, H1);
    await first.close();
    expect(existsSync(join(dir, OPEN_MARKER))).toBe(false);

    const second = await loaded();
    expect([second.epoch, second.generation]).toEqual([first.epoch, 1]);
    await second.close();
    const third = await loaded();
    expect(third.epoch).toBe(first.epoch);
  });

  it('starts a new epoch after a crash (marker left behind), and keeps that one after a clean close', async () => {
    const first = await loaded();
    first.set('r/a.png', ID, H1);
    first.commit();
    await first.save(); // a periodic save, then the process dies: no close()

    const second = await loaded();
    expect(second.epoch).not.toBe(first.epoch);
    expect([second.generation, second.get('r/a.png', ID)]).toEqual([1, H1]);
    // Nothing changes in this run; the new epoch must still outlive it, or a third run would count
    // on in the crashed run's epoch, whose later generations were served but never saved.
    await second.close();
    const third = await loaded();
    expect(third.epoch).toBe(second.epoch);
    expect(third.generation).toBe(1);
  });

  it('saves the changes made up to close(), committed', async () => {
    const first = await loaded();
    first.set('r/a.png', ID, H1);
    await first.close();
    expect(first.generation).toBe(1);
    const second = await loaded();
    expect(changed(second, 0)).toEqual({ files: ['r/a.png'], removed: [] });
  });

  it('writes no file anywhere without a state folder', async () => {
    const previous = process.cwd();
    process.chdir(dir);
    try {
      const index = new FileIndex();
      await index.load();
      index.set('r/a.png', ID, H1);
      index.commit();
      await index.save();
      await index.close();
      expect(index.get('r/a.png', ID)).toBe(H1);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      process.chdir(previous);
    }
  });
});
