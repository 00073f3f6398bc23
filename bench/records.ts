// The bench's results: one record per (corpus, scenario, tool), the failures of groups that could not finish, and the statistics they use.

/**
 * One measurement. `peakRssMiB` is the forge-sync process on the host side (a one-shot sync or purge,
 * or the controller daemon); `agentPeakRssMiB` is the agent it talked to. Long-running processes are
 * read from /proc/<pid>/status (VmHWM), one-shot ones from their own rusage as they exit.
 */
export interface BenchRecord {
  corpus: string;
  scenario:
    | 'cold'
    | 'no-change'
    | 'changed-1pct'
    | 'start-up'
    | 'search'
    | 'new-file-latency'
    | 'purge'
    | 'load'
    | 'serve';
  tool:
    | 'forge-sync'
    | 'forge-sync, PostgreSQL catalog'
    | 'forge-sync daemon'
    | 'forge-sync agent'
    | 'tar -c'
    | 'tar|tar+sync'
    | 'rsync'
    | 'docker cp+sync'
    | 'rm -rf';
  files: number;
  bytes: number;
  /** Wall time; for a daemon scenario timed over several passes, their median; for latency, the p50 (null: a miss). */
  wallMs: number;
  mibPerS?: number;
  filesPerS?: number;
  peakRssMiB?: number;
  agentPeakRssMiB?: number;
  /** The agent's user and system CPU over what was timed (the serve group). */
  agentCpuMs?: number;
  /** Daemon passes or cold rounds: each one's wall time, of which `wallMs` is the median. */
  passesMs?: number[];
  /** New-file latency: written → listed by GET /v1/files, per file; null where it was not seen in time. */
  p50Ms?: number | null;
  p95Ms?: number | null;
  settleMs?: number;
  timeoutMs?: number;
  misses?: number;
  note?: string;
}

export interface BenchFailure {
  group: string;
  message: string;
}

export const records: BenchRecord[] = [];
export const failures: BenchFailure[] = [];
/** Groups left out on purpose, and why (no Docker engine, no rsync). */
export const skipped: BenchFailure[] = [];

export const round = (n: number): number => Math.round(n * 10) / 10;

/** Adds a record with its rates worked out from wall time, unless `rates` is false (latency, for one). */
export function record(entry: Omit<BenchRecord, 'mibPerS' | 'filesPerS'>, rates = true): BenchRecord {
  const seconds = entry.wallMs / 1000;
  const added: BenchRecord = {
    ...entry,
    ...(rates && entry.bytes > 0 ? { mibPerS: round(entry.bytes / 2 ** 20 / seconds) } : {}),
    ...(rates && entry.files > 0 ? { filesPerS: round(entry.files / seconds) } : {}),
    wallMs: round(entry.wallMs),
    ...(entry.peakRssMiB !== undefined ? { peakRssMiB: round(entry.peakRssMiB) } : {}),
    ...(entry.agentPeakRssMiB !== undefined ? { agentPeakRssMiB: round(entry.agentPeakRssMiB) } : {}),
    ...(entry.passesMs ? { passesMs: entry.passesMs.map(round) } : {}),
  };
  records.push(added);
  return added;
}

export function find(
  corpus: string,
  scenario: BenchRecord['scenario'],
  tool: BenchRecord['tool'],
): BenchRecord | undefined {
  return records.find((r) => r.corpus === corpus && r.scenario === scenario && r.tool === tool);
}

/**
 * Runs one group of the bench. A failure is written down and the bench goes on with the next group:
 * the figures of the others still count, and the run ends non-zero.
 */
export async function runGroup(group: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    failures.push({ group, message });
    console.error(`[${group}] failed: ${message}`);
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Nearest-rank percentile; a miss counts as slower than any hit, and a percentile that lands on one is null. */
export function percentile(values: readonly (number | null)[], p: number): number | null {
  const sorted = values.map((v) => v ?? Infinity).sort((a, b) => a - b);
  const value = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
  return value === undefined || value === Infinity ? null : round(value);
}
