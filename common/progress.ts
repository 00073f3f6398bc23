// Live progress messages: what /v1/progress sends, what `forge-sync watch` and the dashboard read.
import type { ErrorCode } from './errors.js';
import type { AgentPurgeResult, AgentSyncResult } from './protocol.js';

/** Bumped when a message changes in a way an older client would misread. */
export const PROGRESS_VERSION = 1;
export const PROGRESS_ROUTE = '/v1/progress';

/** Counters of a phase in flight. `etaSeconds` is null until the rate is known; never negative. */
export interface Progress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Smoothed transfer (or hashing) rate over this phase, bytes per second; null until known. */
  rateBps: number | null;
  etaSeconds: number | null;
}

export type Phase = 'idle' | 'scanning' | 'syncing' | 'purging';

/** Everything a client needs to draw one agent, as of now. */
export interface AgentProgressState {
  agent: string;
  url: string;
  /** False once Docker discovery lost it, or its last contact failed. */
  present: boolean;
  phase: Phase;
  runId: string | null;
  progress: Progress | null;
  lastSync: AgentSyncResult | null;
  lastPurge: AgentPurgeResult | null;
  lastError: { code: ErrorCode; message: string; at: string } | null;
}

interface Base {
  v: typeof PROGRESS_VERSION;
  /** ISO time the controller sent or coalesced the message. */
  at: string;
}

interface AgentBase extends Base {
  agent: string;
  runId: string;
}

/**
 * Messages, all JSON with a `type`. A client gets one `snapshot` first, then events. Progress
 * messages are throttled per agent and may be coalesced for a slow client (it then gets the
 * latest), but every `*.started`, `*.completed`, `scan.done`, `file.*` and `error` is delivered
 * unless the client is dropped.
 */
export type ProgressMessage =
  | (Base & { type: 'snapshot'; agents: AgentProgressState[] })
  | (Base & { type: 'agent.discovered'; agent: string; url: string })
  | (Base & { type: 'agent.lost'; agent: string })
  | (AgentBase & { type: 'scan.started' })
  | (AgentBase & { type: 'scan.progress'; progress: Progress })
  | (AgentBase & { type: 'scan.done'; files: number; pending: number; hashed: number })
  | (AgentBase & { type: 'sync.started'; progress: Progress })
  | (AgentBase & { type: 'sync.progress'; progress: Progress })
  | (AgentBase & { type: 'sync.completed'; progress: Progress; result: AgentSyncResult })
  | (AgentBase & { type: 'file.stored'; path: string; storedPath: string; size: number })
  | (AgentBase & { type: 'file.rejected'; path: string; code: ErrorCode; message: string })
  | (AgentBase & { type: 'purge.started'; progress: Progress; dryRun: boolean })
  | (AgentBase & { type: 'purge.progress'; progress: Progress; dryRun: boolean })
  | (AgentBase & { type: 'purge.completed'; progress: Progress; result: AgentPurgeResult })
  | (Base & { type: 'error'; agent: string | null; runId: string | null; code: ErrorCode; message: string });

export type ProgressMessageType = ProgressMessage['type'];

/** Intermediate messages a throttle may drop or a slow client may get coalesced. */
export function isCoalescable(message: ProgressMessage): boolean {
  return (
    message.type === 'scan.progress' || message.type === 'sync.progress' || message.type === 'purge.progress'
  );
}

type WithoutStamp<T> = T extends unknown ? Omit<T, 'v' | 'at'> : never;
/** A message before the hub stamps it with the protocol version and time. */
export type UnstampedMessage = WithoutStamp<ProgressMessage>;

/** What producers (sync, purge, discovery) publish to. */
export interface ProgressReporter {
  publish(message: ProgressMessage | UnstampedMessage): void;
}

/** A reporter that drops everything, for one-shot commands without listeners. */
export const noProgress: ProgressReporter = { publish: () => undefined };
