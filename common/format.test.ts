// Sizes, rates, ETAs and percent done as the CLI and the dashboard both print them.
import { describe, expect, it } from 'vitest';
import { formatBytes, formatEta, formatRate, percentOf } from './format.js';
import type { Progress } from './progress.js';

const MiB = 1024 * 1024;

/** Counters for percentOf; it reads no rate or ETA. */
const counts = (bytesDone: number, bytesTotal: number, filesDone = 0, filesTotal = 0): Progress => ({
  bytesDone,
  bytesTotal,
  filesDone,
  filesTotal,
  rateBps: null,
  etaSeconds: null,
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [320 * MiB, '320.0 MiB'],
    [2.5 * 1024 * MiB, '2.5 GiB'],
    [3 * 1024 * 1024 * MiB, '3.0 TiB'],
    [2048 * 1024 * 1024 * MiB, '2048.0 TiB'],
  ])('%s → %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});

describe('formatRate and formatEta', () => {
  it.each([
    [null, '—'],
    [0, '0 B/s'],
    [512, '512 B/s'],
    [511.6, '512 B/s'],
    [1536, '1.5 KiB/s'],
    [45.25 * MiB, '45.3 MiB/s'],
    [2.5 * 1024 * MiB, '2.5 GiB/s'],
  ])('rate %s → %s', (bps, text) => expect(formatRate(bps)).toBe(text));

  it.each([
    [null, '—'],
    [0, '0s'],
    [42, '42s'],
    [59.6, '1m00s'],
    [185, '3m05s'],
    [3600, '1h00m'],
    [7620, '2h07m'],
    [-3, '0s'],
  ])('eta %s → %s', (seconds, text) => expect(formatEta(seconds)).toBe(text));
});

describe('percentOf', () => {
  it.each([
    ['no progress', null, null],
    ['by bytes', counts(80, 320, 1, 40), 25],
    ['rounded down, so 100 means done', counts(999, 1000), 99],
    ['done', counts(1000, 1000), 100],
    ['by files when no bytes', counts(0, 0, 3, 4), 75],
    ['nothing to do', counts(0, 0, 0, 0), 100],
    ['clamped', counts(2000, 1000), 100],
  ])('%s', (_name, value, expected) => expect(percentOf(value)).toBe(expected));
});
