// Durations as people write them on a command line: 500ms, 10s, 5m, 24h, 7d.
import { AppError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration such as `10s`, `1.5h` or `0s` into milliseconds.
 * `what` names the flag or variable in the error message.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const match = PATTERN.exec(text.trim());
  if (!match) {
    throw new AppError('E_USAGE', `${what}: expected a duration like 10s, 5m, 24h or 500ms, got "${text}"`);
  }
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

/** The shortest readable form of a millisecond count, for logs and help text. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
