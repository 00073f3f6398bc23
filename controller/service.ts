// The controller daemon's state: scheduled sync passes, one at a time, and each agent's last result.
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import {
  type AgentState,
  type AgentSyncResult,
  type ControllerStatus,
  PROTOCOL_VERSION,
  type SyncSummary,
} from '../common/protocol.js';
import type { AgentSource } from './agent-source.js';
import { type SyncRunDeps, newRunId, runSync } from './sync-run.js';

export interface ServiceOptions {
  source: AgentSource;
  run: Omit<SyncRunDeps, 'onAgentStart' | 'onAgentDone'>;
  intervalMs: number;
  version: string;
  clock: Clock;
  logger: Logger;
}

/**
 * Runs a sync pass at start and then `intervalMs` after each pass ends. A pass asked for while one
 * runs joins it instead of starting a second. Lives on one event loop; needs no locking.
 */
export class ControllerService {
  private current: { runId: string; done: Promise<SyncSummary | null> } | undefined;
  private lastRun: SyncSummary | null = null;
  private readonly agentState = new Map<string, { state: AgentState; last: AgentSyncResult | null }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ServiceOptions) {}

  start(): void {
    void this.syncNow();
  }

  /** Starts a pass unless one is running; either way, says which run is in progress. */
  syncNow(): { started: boolean; runId: string; done: Promise<SyncSummary | null> } {
    if (this.current) return { started: false, ...this.current };
    if (this.timer) clearTimeout(this.timer);
    const runId = newRunId();
    const done = this.pass(runId);
    this.current = { runId, done };
    return { started: true, runId, done };
  }

  private async pass(runId: string): Promise<SyncSummary | null> {
    const { logger } = this.options;
    let summary: SyncSummary | null = null;
    try {
      summary = await runSync(
        this.options.source.list(),
        {
          ...this.options.run,
          onAgentStart: (agent) => this.setState(agent.name, 'syncing'),
          onAgentDone: (result) =>
            this.agentState.set(result.name, { state: result.ok ? 'idle' : 'failed', last: result }),
        },
        runId,
      );
      this.lastRun = summary;
    } catch (err) {
      logger.error({ err, runId }, 'sync run failed');
    } finally {
      this.current = undefined;
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.syncNow(), this.options.intervalMs);
      }
    }
    return summary;
  }

  private setState(name: string, state: AgentState): void {
    const entry = this.agentState.get(name);
    this.agentState.set(name, { state, last: entry?.last ?? null });
  }

  status(): ControllerStatus {
    return {
      protocol: PROTOCOL_VERSION,
      version: this.options.version,
      syncing: this.current !== undefined,
      lastRun: this.lastRun,
      agents: this.options.source.list().map((agent) => {
        const entry = this.agentState.get(agent.name);
        return { name: agent.name, url: agent.url, state: entry?.state ?? 'idle', last: entry?.last ?? null };
      }),
    };
  }

  /** Stops scheduling and waits for a running pass to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current?.done;
  }
}
