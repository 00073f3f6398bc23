// The manifest in columns gives back exactly what was listed, and diffs as the entry-object diff does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ManifestEntry, type StoredIndex, diffManifest } from '../../common/manifest.js';
import { ManifestTable } from './manifest-table.js';

const hash = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
  .map(([high, low]) => high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0'));
// Few distinct paths, so lists repeat them; non-ASCII and long ones among them.
const path = fc.constantFrom(
  'r/a.png',
  'r/b.png',
  'r/ü/ß.png',
  'r/日本/画像.webp',
  `r/${'x'.repeat(300)}.png`,
  'r/a.png.txt',
  'other/a.png',
);
const entry: fc.Arbitrary<ManifestEntry> = fc.record(
  {
    path,
    size: fc.oneof(fc.constant(0), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    mtimeMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 4e12, noNaN: true })),
    xxh64: hash,
    ino: fc.oneof(fc.constant(0), fc.nat(), fc.constant(2 ** 53 - 1)),
  },
  { requiredKeys: ['path', 'size', 'mtimeMs', 'xxh64'] },
);

function tableOf(entries: readonly ManifestEntry[]): ManifestTable {
  const table = new ManifestTable();
  for (const e of entries) table.add(e);
  return table;
}

describe('ManifestTable', () => {
  it('gives back each path once, as first listed, with every field exact', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), (entries) => {
        const table = new ManifestTable();
        const first = new Map<string, ManifestEntry>();
        for (const e of entries) {
          const isNew = !first.has(e.path);
          expect(table.add(e)).toBe(isNew);
          if (isNew) first.set(e.path, e);
        }
        expect(table.length).toBe(first.size);
        expect([...table.entries()]).toEqual([...first.values()]);
        expect(table.allPaths()).toEqual([...first.keys()]);
        [...first.values()].forEach((e, row) => {
          expect(table.path(row)).toBe(e.path);
          expect(table.size(row)).toBe(e.size);
          expect(table.xxh64(row)).toBe(e.xxh64);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('keeps hashes with leading zeros and the highest one', () => {
    const hashes = [
      '0000000000000000',
      '00000000ffffffff',
      'ffffffff00000000',
      'ffffffffffffffff',
      '0123456789abcdef',
    ];
    const table = tableOf(hashes.map((xxh64, i) => ({ path: `r/${i}`, size: 1, mtimeMs: 1, xxh64 })));
    expect(hashes.map((_, row) => table.xxh64(row))).toEqual(hashes);
  });

  it('holds 100,000 files across many pages', () => {
    const table = new ManifestTable();
    for (let i = 0; i < 100_000; i++) {
      table.add({
        path: `out/2026-11-${i % 28}/${i}.png`,
        size: i,
        mtimeMs: i * 1.5,
        xxh64: i.toString(16).padStart(16, '0'),
        ino: i,
      });
    }
    expect(table.length).toBe(100_000);
    for (const row of [0, 4095, 4096, 65_535, 99_999]) {
      expect(table.entry(row)).toEqual({
        path: `out/2026-11-${row % 28}/${row}.png`,
        size: row,
        mtimeMs: row * 1.5,
        xxh64: row.toString(16).padStart(16, '0'),
        ino: row,
      });
    }
    expect(table.add({ path: 'out/2026-11-5/5.png', size: 9, mtimeMs: 9, xxh64: 'f'.repeat(16) })).toBe(
      false,
    );
    expect(table.entry(5).size).toBe(5);
  });
});

describe('diffManifest over a table', () => {
  const H1 = '0123456789abcdef';
  const H2 = 'fedcba9876543210';
  const file = (path: string, xxh64: string): ManifestEntry => ({ path, size: 1, mtimeMs: 0, xxh64 });

  it('pulls a path listed twice once, as first listed, and not at all when that is stored', () => {
    const twice = tableOf([file('r/a.png', H1), file('r/a.png', H2)]);
    const pulled = diffManifest(twice, new Map());
    expect(pulled.toPull.map((row) => twice.entry(row))).toEqual([file('r/a.png', H1)]);
    expect(diffManifest(twice, new Map([['r/a.png', new Set([H1])]]))).toEqual({ toPull: [], unchanged: 1 });
  });

  const storedIndex = fc
    .array(fc.tuple(path, fc.array(hash, { maxLength: 3 })), { maxLength: 8 })
    .map((pairs): StoredIndex => new Map(pairs.map(([p, hashes]) => [p, new Set(hashes)])));

  it('pulls each first listing whose path and hash are not stored, in order, and counts the rest', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), storedIndex, fc.boolean(), (entries, stored, reuse) => {
        // Some listed files stored with their own hash, so both outcomes are exercised.
        const index = new Map(stored);
        if (reuse) for (const e of entries.slice(0, 3)) index.set(e.path, new Set([e.xxh64]));
        const seen = new Set<string>();
        const firsts = entries.filter((e) => !seen.has(e.path) && seen.add(e.path));
        const table = tableOf(entries);
        const diff = diffManifest(table, index);
        const isStored = (e: ManifestEntry) => index.get(e.path)?.has(e.xxh64) === true;
        expect(diff.toPull.map((row) => table.entry(row))).toEqual(firsts.filter((e) => !isStored(e)));
        expect(diff.unchanged).toBe(firsts.filter(isStored).length);
      }),
      { numRuns: 300 },
    );
  });
});
