// The pure purge plan: what is a candidate, why the rest is kept, the oldest-first order, and the caps.
import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from './manifest.js';
import { type StoredCopies, planPurge, purgeCap } from './purge-plan.js';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const DAY = 86_400_000;
const H = (n: number): string => n.toString(16).padStart(16, '0');

function entry(
  path: string,
  xxh64: string,
  ageMs: number,
  size = 100,
  ino: number | null = 7,
): ManifestEntry {
  return { path, xxh64, size, mtimeMs: NOW - ageMs, ...(ino === null ? {} : { ino }) };
}

const stored: StoredCopies = new Map([
  ['out/a.png', new Map([[H(1), { storedPath: 'gpu/out/a.png', size: 100 }]])],
  ['out/b.png', new Map([[H(2), { storedPath: 'gpu/out/b.png', size: 100 }]])],
  [
    'out/c.png',
    new Map([
      [H(3), { storedPath: 'gpu/out/c.png', size: 100 }],
      [H(4), { storedPath: `gpu/out/c~${H(4)}.png`, size: 100 }],
    ]),
  ],
]);

describe('planPurge', () => {
  const cases: { name: string; entry: ManifestEntry; candidate: boolean; kept?: string }[] = [
    { name: 'old and stored', entry: entry('out/a.png', H(1), 2 * DAY), candidate: true },
    { name: 'exactly at the threshold', entry: entry('out/a.png', H(1), DAY), candidate: true },
    {
      name: 'young and stored',
      entry: entry('out/a.png', H(1), DAY - 1),
      candidate: false,
      kept: 'too-young',
    },
    {
      name: 'old, never stored',
      entry: entry('out/z.png', H(9), 2 * DAY),
      candidate: false,
      kept: 'not-synced',
    },
    {
      name: 'old, stored path but other content',
      entry: entry('out/b.png', H(9), 2 * DAY),
      candidate: false,
      kept: 'not-synced',
    },
    {
      name: 'old, stored hash but other size',
      entry: entry('out/b.png', H(2), 2 * DAY, 99),
      candidate: false,
      kept: 'not-synced',
    },
    {
      name: 'old, stored, no inode from the agent',
      entry: entry('out/a.png', H(1), 2 * DAY, 100, null),
      candidate: false,
      kept: 'not-synced',
    },
    {
      name: 'second stored version of a reused name',
      entry: entry('out/c.png', H(4), 2 * DAY),
      candidate: true,
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const plan = planPurge([testCase.entry], stored, { nowMs: NOW, olderThanMs: DAY });
      expect(plan.candidates.length).toBe(testCase.candidate ? 1 : 0);
      expect(plan.kept).toEqual(testCase.kept ? { [testCase.kept]: 1 } : {});
    });
  }

  it('pairs each candidate with its own stored copy', () => {
    const plan = planPurge([entry('out/c.png', H(4), 2 * DAY)], stored, { nowMs: NOW, olderThanMs: DAY });
    expect(plan.candidates[0]!.copy).toEqual({ storedPath: `gpu/out/c~${H(4)}.png`, size: 100 });
  });

  it('orders candidates oldest first and counts kept files by reason', () => {
    const plan = planPurge(
      [
        entry('out/b.png', H(2), 3 * DAY),
        entry('out/a.png', H(1), 5 * DAY),
        entry('out/c.png', H(3), 4 * DAY),
        entry('out/new.png', H(8), 5 * DAY),
        entry('out/young.png', H(7), 1000),
      ],
      stored,
      { nowMs: NOW, olderThanMs: DAY },
    );
    expect(plan.candidates.map((candidate) => candidate.entry.path)).toEqual([
      'out/a.png',
      'out/c.png',
      'out/b.png',
    ]);
    expect(plan.kept).toEqual({ 'not-synced': 2 });
  });
});

describe('purgeCap', () => {
  const cases: { total: number; caps: { maxFiles?: number; maxPercent?: number }; cap: number }[] = [
    { total: 1000, caps: {}, cap: Number.POSITIVE_INFINITY },
    { total: 1000, caps: { maxFiles: 10 }, cap: 10 },
    { total: 1000, caps: { maxPercent: 5 }, cap: 50 },
    { total: 1000, caps: { maxFiles: 10, maxPercent: 5 }, cap: 10 },
    { total: 1000, caps: { maxFiles: 100, maxPercent: 5 }, cap: 50 },
    { total: 19, caps: { maxPercent: 10 }, cap: 1 },
    { total: 9, caps: { maxPercent: 10 }, cap: 0 },
    { total: 1000, caps: { maxFiles: 0 }, cap: 0 },
    { total: 1000, caps: { maxPercent: 100 }, cap: 1000 },
  ];
  for (const { total, caps, cap } of cases) {
    it(`${total} files with ${JSON.stringify(caps)} → ${cap}`, () => {
      expect(purgeCap(total, caps)).toBe(cap);
    });
  }
});
