// Batch journals in a real temp --dest: written durably once, and at the next start only uncatalogued listed names are removed.
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredPathInfo } from '../catalog/catalog.js';
import { recoverInflight, writeDurably } from './batch-journal.js';

let base: string;
let dest: string;
let journalDir: string;

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'batch-journal-test-')));
  dest = join(base, 'dest');
  journalDir = join(dest, '.forge-sync', 'inflight');
  await mkdir(journalDir, { recursive: true });
  await mkdir(join(dest, '.forge-sync', 'tmp'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A catalog that records exactly `paths`, and the lookups it was asked. */
function catalogOf(paths: readonly string[]): {
  findByStoredPaths: (storedPaths: readonly string[]) => Promise<Map<string, StoredPathInfo>>;
  asked: string[][];
} {
  const asked: string[][] = [];
  return {
    asked,
    findByStoredPaths: async (storedPaths) => {
      asked.push([...storedPaths]);
      const info = { agent: 'gpu1', containerPath: 'x', xxh64: '0000000000000000', size: 1 };
      return new Map(storedPaths.filter((path) => paths.includes(path)).map((path) => [path, info]));
    },
  };
}

/** Writes a file at a path relative to `base` (so `dest/…` is under --dest, `outside/…` is not). */
async function put(relative: string): Promise<void> {
  const path = join(base, relative);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, relative);
}

/** Every file below `base`, relative, the journal folder left out. */
async function filesLeft(): Promise<string[]> {
  const entries = await readdir(base, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(base.length + 1))
    .filter((path) => !path.startsWith('dest/.forge-sync/inflight'))
    .sort();
}

describe('recoverInflight', () => {
  it.each<{
    name: string;
    files: string[];
    catalogued?: string[];
    journals: Record<string, string>;
    removed: number;
    left: string[];
  }>([
    {
      name: 'no journal: nothing to do',
      files: ['dest/gpu1/a.png'],
      journals: {},
      removed: 0,
      left: ['dest/gpu1/a.png'],
    },
    {
      name: 'a listed name never catalogued goes; one not listed stays',
      files: ['dest/gpu1/a.png', 'dest/gpu1/b.png'],
      journals: { 'j1.json': JSON.stringify({ names: ['gpu1/a.png'] }) },
      removed: 1,
      left: ['dest/gpu1/b.png'],
    },
    {
      name: 'a listed name the catalog records stays',
      files: ['dest/gpu1/a.png', 'dest/gpu1/sub/b.png'],
      catalogued: ['gpu1/sub/b.png'],
      journals: { 'j1.json': JSON.stringify({ names: ['gpu1/a.png', 'gpu1/sub/b.png'] }) },
      removed: 1,
      left: ['dest/gpu1/sub/b.png'],
    },
    {
      name: 'a listed name that was never created is not counted',
      files: [],
      journals: { 'j1.json': JSON.stringify({ names: ['gpu1/never-made.png'] }) },
      removed: 0,
      left: [],
    },
    {
      name: 'unsafe and state-folder names are ignored',
      files: ['outside/victim.png', 'dest/.forge-sync/tmp/x.part', 'dest/gpu1/a.png'],
      journals: {
        'j1.json': JSON.stringify({
          names: [
            '../outside/victim.png',
            `${base}/outside/victim.png`,
            '.forge-sync/tmp/x.part',
            'gpu1/./a.png',
          ],
        }),
      },
      removed: 0,
      left: ['dest/.forge-sync/tmp/x.part', 'dest/gpu1/a.png', 'outside/victim.png'],
    },
    {
      name: 'a journal cut short while written lists nothing',
      files: ['dest/gpu1/a.png'],
      journals: { 'cut.json': '{"names": ["gpu1/a.p' },
      removed: 0,
      left: ['dest/gpu1/a.png'],
    },
    {
      name: 'a journal of another shape lists nothing; non-string names are skipped',
      files: ['dest/gpu1/a.png', 'dest/gpu1/b.png'],
      journals: {
        'object.json': JSON.stringify({ names: { 'gpu1/a.png': true } }),
        'null.json': 'null',
        'mixed.json': JSON.stringify({ names: [7, null, ['gpu1/a.png'], 'gpu1/b.png'] }),
      },
      removed: 1,
      left: ['dest/gpu1/a.png'],
    },
    {
      name: 'several journals: every one is read, the count is their sum',
      files: ['dest/gpu1/a.png', 'dest/gpu2/b.png', 'dest/gpu2/c.png'],
      journals: {
        'j1.json': JSON.stringify({ names: ['gpu1/a.png'] }),
        'j2.json': JSON.stringify({ names: ['gpu2/b.png', 'gpu2/c.png'] }),
      },
      removed: 3,
      left: [],
    },
  ])('$name', async ({ files, catalogued = [], journals, removed, left }) => {
    for (const file of files) await put(file);
    for (const [name, text] of Object.entries(journals)) await writeFile(join(journalDir, name), text);
    expect(await recoverInflight(journalDir, dest, catalogOf(catalogued))).toBe(removed);
    expect(await filesLeft()).toEqual(left);
    expect(await readdir(journalDir), 'every journal read is removed').toEqual([]);
  });

  it('at the next start, removes what a stopped batch created in place and never catalogued, and nothing else', async () => {
    const primary = 'forge/outputs/txt2img/00001-123.png';
    const content = Buffer.from('the new image bytes');
    const other = Buffer.from('some other image bytes');
    const atDest = (storedPath: string): string => join(dest, ...storedPath.split('/'));
    await mkdir(dirname(atDest(primary)), { recursive: true });
    await mkdir(join(base, 'outside'));
    await writeFile(atDest(primary), content.subarray(0, 5)); // cut short by the stop
    await writeFile(atDest('forge/outputs/kept.png'), content); // catalogued before the stop
    await writeFile(atDest('forge/outputs/elsewhere.png'), other); // not in the list
    await writeFile(join(base, 'outside', 'victim.png'), other);
    await writeFile(
      join(journalDir, 'stopped.json'),
      JSON.stringify({
        names: [
          primary,
          'forge/outputs/kept.png',
          'forge/outputs/never-made.png',
          '../outside/victim.png',
          '.forge-sync/tmp',
        ],
      }),
    );
    await writeFile(join(journalDir, 'cut-short.json'), '{"names": ["forge/outp');
    expect(await recoverInflight(journalDir, dest, catalogOf(['forge/outputs/kept.png']))).toBe(1);
    await expect(stat(atDest(primary))).rejects.toThrow();
    expect(await readFile(atDest('forge/outputs/kept.png'))).toEqual(content);
    expect(await readFile(atDest('forge/outputs/elsewhere.png'))).toEqual(other);
    expect(await readFile(join(base, 'outside', 'victim.png'))).toEqual(other);
    expect(await readdir(join(dest, '.forge-sync'))).toContain('tmp');
    expect(await readdir(journalDir)).toEqual([]);
  });

  it('asks the catalog about the safe names only', async () => {
    const catalog = catalogOf([]);
    await writeFile(
      join(journalDir, 'j1.json'),
      JSON.stringify({ names: ['gpu1/a.png', '../x', '.forge-sync/lock', 'gpu1/b.png'] }),
    );
    await recoverInflight(journalDir, dest, catalog);
    expect(catalog.asked).toEqual([['gpu1/a.png', 'gpu1/b.png']]);
  });

  it('fails on a listed name that is now a folder, and keeps the journal for the next start', async () => {
    await mkdir(join(dest, 'gpu1', 'a.png'), { recursive: true });
    await writeFile(join(journalDir, 'j1.json'), JSON.stringify({ names: ['gpu1/a.png'] }));
    await expect(recoverInflight(journalDir, dest, catalogOf([]))).rejects.toMatchObject({
      code: expect.stringMatching(/^(EISDIR|EPERM)$/),
    });
    expect(await readdir(journalDir)).toEqual(['j1.json']);
    expect((await stat(join(dest, 'gpu1', 'a.png'))).isDirectory()).toBe(true);
  });
});

describe('writeDurably', () => {
  it('writes a new file with the text', async () => {
    const path = join(journalDir, 'new.json');
    await writeDurably(path, '{"names":[]}');
    expect(await readFile(path, 'utf8')).toBe('{"names":[]}');
  });

  it('never replaces a journal that exists', async () => {
    const path = join(journalDir, 'taken.json');
    await writeFile(path, 'first');
    await expect(writeDurably(path, 'second')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(path, 'utf8')).toBe('first');
  });
});
