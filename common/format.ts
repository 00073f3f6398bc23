// Numbers as people read them, shared by the CLI and the dashboard: sizes, rates, ETAs and percent done.
import type { Progress } from './progress.js';

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** Bytes in binary units: `512 B`, `1.5 KiB`, `320.0 MiB`; one decimal above bytes. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** Bytes per second as `45.2 MiB/s`; `—` while the rate is not known. */
export function formatRate(bps: number | null): string {
  return bps === null ? '—' : `${formatBytes(Math.round(bps))}/s`;
}

/** Seconds left as `42s`, `3m05s` or `2h07m`; `—` while not known. */
export function formatEta(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Whole percent done, by bytes when the phase has any, else by files; a phase with nothing to do
 * is 100. Rounded down, so 100 means finished. Null without progress.
 */
export function percentOf(progress: Progress | null): number | null {
  if (!progress) return null;
  const [done, total] =
    progress.bytesTotal > 0
      ? [progress.bytesDone, progress.bytesTotal]
      : [progress.filesDone, progress.filesTotal];
  if (total <= 0) return 100;
  return Math.max(0, Math.min(100, Math.floor((done * 100) / total)));
}
