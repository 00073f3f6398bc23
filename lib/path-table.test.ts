// The path table against a Map: any sequence of adds, replacements, unkeys and frees finds exactly the
// slots a Map would, reads back every held path unchanged (long, non-Latin and after compaction), and
// gives back the pages of dead paths.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PathTable, TextPages } from './path-table.js';

/** Paths that share prefixes and collide in few buckets, some long, some beyond Latin-1. */
const pathArb = fc.oneof(
  fc.constantFrom('a', 'b', 'a/b', 'a/b/c.png', 'output/2026-12-06/00001-1.png', 'ü/é.png', '出力/画像.png'),
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.integer({ min: 0, max: 3 }).map((n) => `deep/${'x'.repeat(70_000 + n)}`),
);

type Op =
  | { kind: 'add'; path: number }
  | { kind: 'addIfAbsent'; path: number }
  | { kind: 'replace'; path: number }
  | { kind: 'remove'; path: number }
  | { kind: 'releaseHeld' };

/** Operations on paths picked from a small pool, so that replacements and removals hit listed ones. */
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.nat().map((path): Op => ({ kind: 'add', path })) },
  { weight: 3, arbitrary: fc.nat().map((path): Op => ({ kind: 'addIfAbsent', path })) },
  { weight: 3, arbitrary: fc.nat().map((path): Op => ({ kind: 'replace', path })) },
  { weight: 3, arbitrary: fc.nat().map((path): Op => ({ kind: 'remove', path })) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'releaseHeld' }) },
);

describe('PathTable', () => {
  it('finds what a Map finds, and keeps every held path readable, through compactions', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(pathArb, { minLength: 1, maxLength: 16 }),
        fc.array(opArb, { maxLength: 300 }),
        (pool, ops) => {
          const table = new PathTable(256);
          const model = new Map<string, number>();
          /** Slots unkeyed but still held (as a listing being read keeps them), with their paths. */
          const held = new Map<number, string>();
          const free: number[] = [];
          let next = 0;
          const slot = (): number => free.pop() ?? next++;
          for (const op of ops) {
            const path = op.kind === 'releaseHeld' ? '' : pool[op.path % pool.length]!;
            const old = model.get(path);
            if (op.kind === 'add' && old === undefined) {
              const s = slot();
              table.add(s, path);
              model.set(path, s);
            } else if (op.kind === 'addIfAbsent') {
              // Listed already: refused, and the slot offered stays unused.
              const s = free.at(-1) ?? next;
              expect(table.addIfAbsent(s, path)).toBe(old === undefined);
              if (old === undefined) {
                slot();
                model.set(path, s);
              }
            } else if (op.kind === 'replace' && old !== undefined) {
              const s = slot();
              table.replace(old, s);
              model.set(path, s);
              held.set(old, path);
            } else if (op.kind === 'remove' && old !== undefined) {
              table.free(old);
              model.delete(path);
              free.push(old);
            } else if (op.kind === 'releaseHeld') {
              for (const s of held.keys()) {
                table.free(s);
                free.push(s);
              }
              held.clear();
            }
            expect(table.size).toBe(model.size);
          }
          for (const [path, s] of model) {
            expect(table.find(path)).toBe(s);
            expect(table.path(s)).toBe(path);
          }
          for (const [s, path] of held) {
            expect(table.path(s)).toBe(path);
            expect(table.find(path)).toBe(model.get(path) ?? -1);
          }
          expect([...table.keyedSlots()].sort((a, b) => a - b)).toEqual(
            [...model.values()].sort((a, b) => a - b),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tells paths under a folder from lookalikes', () => {
    const table = new PathTable();
    ['out/a.png', 'out/sub/b.png', 'outer/c.png', 'out', 'oüt/d.png'].forEach((path, s) =>
      table.add(s, path),
    );
    const under = table.prefixTest('out/');
    expect([0, 1, 2, 3, 4].filter(under)).toEqual([0, 1]);
    expect([0, 1, 2, 3, 4].filter(table.prefixTest('oüt/'))).toEqual([4]);
  });

  it('finds every one of 100k paths after the bucket table has grown many times, and none it never had', () => {
    const table = new PathTable();
    const path = (i: number): string =>
      `output/txt2img-images/2026-12-${i % 30}/${String(i).padStart(5, '0')}-${i * 7919}.png`;
    /** Paths in [0, n) that `find` does not answer with `want`. */
    const misses = (want: (i: number) => number, step = 1, from = 0): number[] => {
      const wrong: number[] = [];
      for (let i = from; i < 100_000; i += step) if (table.find(path(i)) !== want(i)) wrong.push(i);
      return wrong;
    };
    for (let i = 0; i < 100_000; i++) table.add(i, path(i));
    expect(misses((i) => i)).toEqual([]);
    expect(table.find(path(100_000))).toBe(-1);
    // Every other one removed: the runs they leave still lead to the rest.
    for (let i = 0; i < 100_000; i += 2) table.free(i);
    expect(misses((i) => i, 2, 1)).toEqual([]);
    expect(misses(() => -1, 2, 0)).toEqual([]);
    expect(table.size).toBe(50_000);
  });

  it('gives back the pages of dead paths once they outnumber the live ones', () => {
    const limit = 1024 * 1024;
    const table = new PathTable(limit);
    const path = (i: number): string => `output/${'n'.repeat(80)}/${i}.png`;
    const live = (from: number): number => {
      let bytes = 0;
      for (let i = from; i < 40_000; i++) bytes += path(i).length;
      return bytes;
    };
    for (let i = 0; i < 40_000; i++) table.add(i, path(i));
    const full = table.storedBytes;
    for (let i = 0; i < 39_000; i++) {
      table.free(i);
      // Dead bytes stay below the larger of the limit and the live bytes, give or take a page.
      if (i % 1000 === 999) {
        const held = live(i + 1);
        expect(table.storedBytes - held).toBeLessThanOrEqual(Math.max(limit, held) + 64 * 1024);
      }
    }
    expect(table.storedBytes).toBeLessThan(full / 2);
    for (let i = 39_000; i < 40_000; i++) expect(table.path(i)).toBe(path(i));
  });
});

describe('TextPages', () => {
  it('gives locations in the order texts are put, a long text in a page of its own', () => {
    const pages = new TextPages();
    const put = (text: string): number => {
      const bytes = Buffer.from(text);
      return pages.put(bytes, 0, bytes.length);
    };
    const first = put('short one');
    const long = 'L'.repeat(100_000);
    const atLong = put(long);
    const second = put('short two');
    expect(pages.text(first, 9)).toBe('short one');
    expect(pages.text(atLong, long.length)).toBe(long);
    expect(pages.text(second, 9)).toBe('short two');
    expect(first).toBeLessThan(atLong);
    expect(atLong).toBeLessThan(second);
  });

  it('reads every text not dropped, after dropping the pages before one', () => {
    const pages = new TextPages();
    const texts = Array.from({ length: 5000 }, (_, i) =>
      i % 1000 === 7 ? 'L'.repeat(70_000 + i) : `t/${i}`,
    );
    const at = texts.map((text) => {
      const bytes = Buffer.from(text);
      return pages.put(bytes, 0, bytes.length);
    });
    const before = pages.bytes;
    for (let i = 0; i < texts.length; i++) {
      expect(pages.text(at[i]!, Buffer.byteLength(texts[i]!))).toBe(texts[i]);
      if (i + 1 < texts.length) pages.dropBefore(at[i + 1]!);
    }
    expect(pages.bytes).toBeLessThan(before / 10);
  });
});
