// Unit tests for parsing and formatting command-line durations.
import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['0s', 0],
    ['0ms', 0],
    ['500ms', 500],
    ['1s', 1_000],
    ['10s', 10_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    ['1.0005s', 1_001],
    ['0.4ms', 0],
    ['  10s\t', 10_000],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    [''],
    ['10'],
    ['s'],
    ['-5s'],
    ['+5s'],
    ['1e3ms'],
    ['.5s'],
    ['5.s'],
    ['10 s'],
    ['10S'],
    ['10sec'],
    ['1h30m'],
    ['5w'],
    ['ten seconds'],
  ])('rejects %j with E_USAGE naming the flag', (text) => {
    let caught: unknown;
    try {
      parseDuration(text, '--settle');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe('E_USAGE');
    expect((caught as AppError).message).toBe(
      `--settle: expected a duration like 10s, 5m, 24h or 500ms, got "${text}"`,
    );
  });

  it('names "duration" when no flag is given', () => {
    expect(() => parseDuration('soon')).toThrow(
      'duration: expected a duration like 10s, 5m, 24h or 500ms, got "soon"',
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_500, '1500ms'],
    [10_000, '10s'],
    [90_000, '90s'],
    [60_000, '1m'],
    [300_000, '5m'],
    [5_400_000, '90m'],
    [3_600_000, '1h'],
    [86_400_000, '1d'],
    [90_000_000, '25h'],
    [604_800_000, '7d'],
  ])('%d ms → %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([0, 500, 10_000, 300_000, 86_400_000, 604_800_000, 90_061_001])('round-trips %d ms', (ms) => {
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
