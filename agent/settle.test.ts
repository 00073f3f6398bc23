// Unit tests for the settle rules: ignored names, the settle verdict with injected times, and observation equality.
import { describe, expect, it } from 'vitest';
import { isIgnoredName, sameObservation, settleVerdict, type FirstSeen, type Observation } from './settle.js';

describe('isIgnoredName', () => {
  it.each([
    ['ComfyUI_00001_.png', false],
    ['00001-1234.png', false],
    ['notes.txt', false],
    ['video.mp4', false],
    ['partial.png', false],
    ['a.tmp.png', false],
    ['tmp', false],
    ['a.tmpx', false],
    ['.hidden.png', true],
    ['.DS_Store', true],
    ['.', true],
    ['a.png.tmp', true],
    ['a.TMP', true],
    ['video.mp4.part', true],
    ['a.partial', true],
    ['download.crdownload', true],
    ['x.Part', true],
  ])('%j → %s', (name, ignored) => {
    expect(isIgnoredName(name)).toBe(ignored);
  });
});

describe('settleVerdict', () => {
  const NOW = 1_700_000_000_000;
  const SETTLE = 10_000;
  const obs = (size: number, mtimeMs: number): Observation => ({ size, mtimeMs });
  const seen = (size: number, mtimeMs: number, seenAtMs: number): FirstSeen => ({ size, mtimeMs, seenAtMs });

  it.each<{ name: string; current: Observation; firstSeen?: FirstSeen; settleMs?: number; verdict: string }>([
    { name: 'empty, however old', current: obs(0, NOW - 3_600_000), verdict: 'empty' },
    { name: 'empty and new', current: obs(0, NOW), verdict: 'empty' },
    { name: 'just written', current: obs(100, NOW), verdict: 'unsettled' },
    { name: 'one ms too new', current: obs(100, NOW - SETTLE + 1), verdict: 'unsettled' },
    { name: 'exactly the window old', current: obs(100, NOW - SETTLE), verdict: 'settled' },
    { name: 'an hour old', current: obs(100, NOW - 3_600_000), verdict: 'settled' },
    {
      name: 'too new, first seen long ago with the same size and mtime',
      current: obs(100, NOW - 1_000),
      firstSeen: seen(100, NOW - 1_000, NOW - SETTLE),
      verdict: 'settled',
    },
    {
      name: 'future mtime, never seen before',
      current: obs(100, NOW + 3_600_000),
      verdict: 'unsettled',
    },
    {
      name: 'future mtime, seen unchanged for less than the window',
      current: obs(100, NOW + 3_600_000),
      firstSeen: seen(100, NOW + 3_600_000, NOW - SETTLE + 1),
      verdict: 'unsettled',
    },
    {
      name: 'future mtime, seen unchanged for exactly the window',
      current: obs(100, NOW + 3_600_000),
      firstSeen: seen(100, NOW + 3_600_000, NOW - SETTLE),
      verdict: 'settled',
    },
    {
      name: 'future mtime, seen unchanged for longer',
      current: obs(100, NOW + 3_600_000),
      firstSeen: seen(100, NOW + 3_600_000, NOW - 60_000),
      verdict: 'settled',
    },
    {
      name: 'future mtime, size changed since first seen',
      current: obs(200, NOW + 3_600_000),
      firstSeen: seen(100, NOW + 3_600_000, NOW - 60_000),
      verdict: 'unsettled',
    },
    {
      name: 'future mtime, mtime changed since first seen',
      current: obs(100, NOW + 3_600_001),
      firstSeen: seen(100, NOW + 3_600_000, NOW - 60_000),
      verdict: 'unsettled',
    },
    {
      name: 'future mtime, empty',
      current: obs(0, NOW + 3_600_000),
      firstSeen: seen(0, NOW + 3_600_000, NOW - 60_000),
      verdict: 'empty',
    },
    {
      name: 'zero window settles anything non-empty',
      current: obs(1, NOW),
      settleMs: 0,
      verdict: 'settled',
    },
  ])('$name → $verdict', ({ current, firstSeen, settleMs = SETTLE, verdict }) => {
    expect(settleVerdict(current, NOW, settleMs, firstSeen)).toBe(verdict);
  });
});

describe('sameObservation', () => {
  it.each<{
    name: string;
    a: Observation & { ino?: number };
    b: Observation & { ino?: number };
    same: boolean;
  }>([
    { name: 'identical without inode', a: { size: 1, mtimeMs: 5 }, b: { size: 1, mtimeMs: 5 }, same: true },
    {
      name: 'identical with inode',
      a: { size: 1, mtimeMs: 5, ino: 7 },
      b: { size: 1, mtimeMs: 5, ino: 7 },
      same: true,
    },
    { name: 'size differs', a: { size: 1, mtimeMs: 5 }, b: { size: 2, mtimeMs: 5 }, same: false },
    { name: 'mtime differs', a: { size: 1, mtimeMs: 5 }, b: { size: 1, mtimeMs: 5.5 }, same: false },
    {
      name: 'inode differs (replaced by rename)',
      a: { size: 1, mtimeMs: 5, ino: 7 },
      b: { size: 1, mtimeMs: 5, ino: 8 },
      same: false,
    },
    {
      name: 'inode known on one side only',
      a: { size: 1, mtimeMs: 5, ino: 7 },
      b: { size: 1, mtimeMs: 5 },
      same: true,
    },
    {
      name: 'inode known on the other side only',
      a: { size: 1, mtimeMs: 5 },
      b: { size: 1, mtimeMs: 5, ino: 7 },
      same: true,
    },
  ])('$name → $same', ({ a, b, same }) => {
    expect(sameObservation(a, b)).toBe(same);
    expect(sameObservation(b, a)).toBe(same);
  });
});
