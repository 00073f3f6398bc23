// Unit tests for the manifest diff, batch planning and the xxh64 wire-format check.
import { describe, expect, it } from 'vitest';
import {
  diffManifest,
  isXxh64,
  planBatches,
  type ManifestEntry,
  type ManifestRows,
  type StoredIndex,
} from './manifest.js';

const H1 = '0123456789abcdef';
const H2 = 'fedcba9876543210';

function entry(path: string, xxh64 = H1, size = 10): ManifestEntry {
  return { path, size, mtimeMs: 1_700_000_000_000, xxh64 };
}

/** Entries as the rows a diff reads (a ManifestTable in the controller). */
function rowsOf(entries: readonly ManifestEntry[]): ManifestRows {
  return { length: entries.length, path: (row) => entries[row]!.path, xxh64: (row) => entries[row]!.xxh64 };
}

function stored(pairs: [string, string[]][]): StoredIndex {
  return new Map(pairs.map(([path, hashes]) => [path, new Set(hashes)]));
}

describe('diffManifest', () => {
  const cases: {
    name: string;
    entries: ManifestEntry[];
    stored: StoredIndex;
    toPull: string[];
    unchanged: number;
  }[] = [
    { name: 'empty manifest', entries: [], stored: stored([]), toPull: [], unchanged: 0 },
    {
      name: 'nothing stored pulls everything in order',
      entries: [entry('r/b.png'), entry('r/a.png')],
      stored: stored([]),
      toPull: ['r/b.png', 'r/a.png'],
      unchanged: 0,
    },
    {
      name: 'same path and hash is unchanged',
      entries: [entry('r/a.png', H1)],
      stored: stored([['r/a.png', [H1]]]),
      toPull: [],
      unchanged: 1,
    },
    {
      name: 'same path, other hash is pulled',
      entries: [entry('r/a.png', H2)],
      stored: stored([['r/a.png', [H1]]]),
      toPull: ['r/a.png'],
      unchanged: 0,
    },
    {
      name: 'a hash stored for an older version still counts',
      entries: [entry('r/a.png', H1)],
      stored: stored([['r/a.png', [H2, H1]]]),
      toPull: [],
      unchanged: 1,
    },
    {
      name: 'same hash under another path is pulled',
      entries: [entry('r/b.png', H1)],
      stored: stored([['r/a.png', [H1]]]),
      toPull: ['r/b.png'],
      unchanged: 0,
    },
    {
      name: 'mixed',
      entries: [entry('r/1.png', H1), entry('r/2.png', H2), entry('r/3.png', H1)],
      stored: stored([
        ['r/1.png', [H1]],
        ['r/2.png', [H1]],
      ]),
      toPull: ['r/2.png', 'r/3.png'],
      unchanged: 1,
    },
  ];

  it.each(cases)('$name', ({ entries, stored, toPull, unchanged }) => {
    const diff = diffManifest(rowsOf(entries), stored);
    expect(diff.toPull.map((row) => entries[row]!.path)).toEqual(toPull);
    expect(diff.unchanged).toBe(unchanged);
  });

  it('gives row numbers, in order', () => {
    const entries = [entry('r/a.png'), entry('r/b.png', H2), entry('r/c.png')];
    expect(diffManifest(rowsOf(entries), stored([['r/b.png', [H2]]]))).toEqual({
      toPull: [0, 2],
      unchanged: 1,
    });
  });
});

describe('planBatches', () => {
  const sized = (...sizes: number[]) => sizes.map((size, i) => entry(`r/${i}.png`, H1, size));
  const cases: { name: string; sizes: number[]; maxBytes: number; maxFiles: number; batches: number[][] }[] =
    [
      { name: 'no entries, no batches', sizes: [], maxBytes: 100, maxFiles: 10, batches: [] },
      { name: 'all fit in one', sizes: [10, 20, 30], maxBytes: 100, maxFiles: 10, batches: [[0, 1, 2]] },
      {
        name: 'exactly maxBytes fits',
        sizes: [50, 50, 1],
        maxBytes: 100,
        maxFiles: 10,
        batches: [[0, 1], [2]],
      },
      {
        name: 'split by bytes',
        sizes: [60, 50, 40, 10],
        maxBytes: 100,
        maxFiles: 10,
        batches: [[0], [1, 2, 3]],
      },
      {
        name: 'split by file count',
        sizes: [1, 1, 1, 1, 1],
        maxBytes: 100,
        maxFiles: 2,
        batches: [[0, 1], [2, 3], [4]],
      },
      {
        name: 'an oversized file travels alone',
        sizes: [10, 500, 10],
        maxBytes: 100,
        maxFiles: 10,
        batches: [[0], [1], [2]],
      },
      { name: 'oversized first file', sizes: [500, 10], maxBytes: 100, maxFiles: 10, batches: [[0], [1]] },
      { name: 'one file per batch', sizes: [1, 2, 3], maxBytes: 100, maxFiles: 1, batches: [[0], [1], [2]] },
      {
        name: 'empty files count towards maxFiles only',
        sizes: [0, 0, 0],
        maxBytes: 0,
        maxFiles: 2,
        batches: [[0, 1], [2]],
      },
    ];

  it.each(cases)('$name', ({ sizes, maxBytes, maxFiles, batches }) => {
    const entries = sized(...sizes);
    const planned = planBatches(entries, { maxBytes, maxFiles }, (entry) => entry.size);
    expect(planned.map((batch) => batch.map((e) => entries.indexOf(e)))).toEqual(batches);
  });
});

describe('isXxh64', () => {
  it.each([
    [H1, true],
    ['0000000000000000', true],
    ['ffffffffffffffff', true],
    ['0123456789ABCDEF', false],
    ['0123456789abcde', false],
    ['0123456789abcdef0', false],
    ['0123456789abcdeg', false],
    [' 0123456789abcdef', false],
    ['0123456789abcdef\n', false],
    ['', false],
    [123, false],
    [null, false],
    [undefined, false],
  ])('%o → %s', (value, expected) => {
    expect(isXxh64(value)).toBe(expected);
  });

  it('rejects a bigint of the right value', () => {
    expect(isXxh64(0x0123456789abcdefn)).toBe(false);
  });
});
