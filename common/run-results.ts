// What a sync or purge pass reports, per agent and in sum: the shapes `--json`, /v1/status and progress messages carry.
import type { ErrorCode, Problem } from './errors.js';
import type { AgentKeepReason, LongPendingFile, PendingReasons } from './protocol.js';

/** Why a file stayed in the container: the controller's reasons, then the agent's. */
export type KeepReason =
  | 'not-synced'
  | 'too-young'
  | 'host-copy-missing'
  | 'host-copy-mismatch'
  | 'host-copy-corrupt'
  | 'over-cap'
  | AgentKeepReason;

/** One agent's outcome of one purge pass: the shape of `purge --json`. */
export interface AgentPurgeResult {
  name: string;
  ok: boolean;
  runId: string;
  dryRun: boolean;
  filesPurged: number;
  bytesFreed: number;
  /** Paths purged (with dryRun: the paths that would be). */
  purged: string[];
  kept: Partial<Record<KeepReason, number>>;
  problems: Problem[];
  error?: { code: ErrorCode; message: string };
  /** Set when this pass left the agent alone, and why (another controller held it). */
  skipped?: string;
}

export interface PurgeSummary {
  runId: string;
  ok: boolean;
  dryRun: boolean;
  agents: AgentPurgeResult[];
  totals: { filesPurged: number; bytesFreed: number; kept: Partial<Record<KeepReason, number>> };
}

/** One agent's outcome of one sync pass: the shape of `sync --json` and `/v1/status`. */
export interface AgentSyncCounters {
  filesTransferred: number;
  bytesTransferred: number;
  filesUnchanged: number;
  filesPending: number;
  errors: number;
}

/** Pending files counted by reason; the reason names are the agent's. */
export interface AgentSyncResult extends AgentSyncCounters {
  name: string;
  /** Files the agent has held back longer than its limit (default 1 h), with why; each pass repeats them. */
  longPending?: LongPendingFile[];
  ok: boolean;
  runId: string;
  startedAt: string;
  finishedAt: string;
  /** Per-file problems: rejected entries, files that changed in flight. */
  problems: Problem[];
  /** Set when the agent as a whole failed (unreachable, refused, protocol mismatch). */
  error?: { code: ErrorCode; message: string };
  /** Set when this pass left the agent alone, and why (another controller held it). */
  skipped?: string;
  /** What the agent listed: every file, or only the changes since the last complete pass. */
  manifest?: 'full' | 'changes';
  /** `filesPending` by reason, when the agent says why. */
  pendingReasons?: PendingReasons;
}

export interface SyncSummary {
  runId: string;
  ok: boolean;
  agents: AgentSyncResult[];
  totals: AgentSyncCounters;
}

export type AgentState = 'idle' | 'syncing' | 'failed';

export interface ControllerStatus {
  protocol: number;
  version: string;
  syncing: boolean;
  lastRun: SyncSummary | null;
  /** The last purge pass, when purging is on. */
  lastPurge: PurgeSummary | null;
  agents: { name: string; url: string; state: AgentState; last: AgentSyncResult | null }[];
}

export function sumCounters(items: readonly AgentSyncCounters[]): AgentSyncCounters {
  const totals: AgentSyncCounters = {
    filesTransferred: 0,
    bytesTransferred: 0,
    filesUnchanged: 0,
    filesPending: 0,
    errors: 0,
  };
  for (const item of items) {
    totals.filesTransferred += item.filesTransferred;
    totals.bytesTransferred += item.bytesTransferred;
    totals.filesUnchanged += item.filesUnchanged;
    totals.filesPending += item.filesPending;
    totals.errors += item.errors;
  }
  return totals;
}
