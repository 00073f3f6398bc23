// The controller daemon's state: scheduled sync passes and purge passes, one piece of work per agent at a time.
import type { Logger } from 'pino';
import type { Clock } from '../../common/clock.js';
import {
  type AgentState,
  type AgentSyncResult,
  type ControllerStatus,
  PROTOCOL_VERSION,
  type PurgeSummary,
  type SyncSummary,
} from '../../common/protocol.js';
import { AgentLocks } from '../agents/agent-locks.js';
import type { AgentRef, AgentSource } from '../agents/agent-source.js';
import type { AgentPosition } from '../catalog/catalog.js';
import { destFullError, isNoSpace } from '../host-store/dest-space.js';
import { settleInterruptedPurges } from '../purge/settle-at-start.js';
import { type PurgeRunDeps, runPurge } from '../purge/run-purge.js';
import { newRunId } from '../agents/fan-out.js';
import { type SyncRunDeps, runSync } from '../sync/run-sync.js';

export interface ServiceOptions {
  source: AgentSource;
  run: Omit<SyncRunDeps, 'onAgentStart' | 'onAgentDone' | 'exclusive'>;
  intervalMs: number;
  /** Purge passes, when purging is on. */
  purge: (Omit<PurgeRunDeps, 'exclusive'> & { intervalMs: number }) | null;
  version: string;
  clock: Clock;
  logger: Logger;
}

/**
 * Runs a sync pass at start and then `intervalMs` after each pass ends; a pass asked for while one
 * runs joins it. Purge passes run on their own schedule, first after the first sync pass. Per-agent
 * locks keep a purge off an agent that is syncing: a sync waits for a purge to finish, a purge skips
 * an agent that is syncing. Lives on one event loop; needs no other locking.
 */
export class ControllerService {
  private current: { runId: string; done: Promise<SyncSummary | null> } | undefined;
  private lastRun: SyncSummary | null = null;
  private lastPurge: PurgeSummary | null = null;
  private readonly agentState = new Map<string, { state: AgentState; last: AgentSyncResult | null }>();
  private readonly locks = new AgentLocks();
  private syncTimer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private purging: Promise<unknown> | undefined;
  private settling: Promise<unknown> | undefined;
  private stopped = false;
  /** A pass was asked for while one ran: start another as soon as it ends. */
  private rerun = false;
  /** Positions agents pushed since the running pass started: it may or may not have seen them. */
  private readonly pushed = new Map<string, AgentPosition>();

  constructor(private readonly options: ServiceOptions) {}

  start(): void {
    const first = this.syncNow();
    // Deletions a killed purge left `requested` are settled after the first pass, before any purge.
    const settled = (this.settling = first.done.then(() =>
      settleInterruptedPurges(this.options.source.list(), {
        ...this.options.run,
        exclusive: (agent, work) => this.locks.run(agent.name, work),
      }),
    ));
    if (this.options.purge) void settled.then(() => this.purgeLoop());
  }

  /** Starts a pass unless one is running; either way, says which run is in progress. */
  syncNow(): { started: boolean; runId: string; done: Promise<SyncSummary | null> } {
    if (this.current) return { started: false, ...this.current };
    if (this.syncTimer) clearTimeout(this.syncTimer);
    const runId = newRunId();
    if (this.stopped) return { started: false, runId, done: Promise.resolve(null) };
    // Registered before the pass starts, so a pass that fails at once still clears it.
    const current: { runId: string; done: Promise<SyncSummary | null> } = {
      runId,
      done: Promise.resolve(null),
    };
    this.current = current;
    current.done = Promise.resolve().then(() => this.syncPass(runId));
    return { started: true, runId, done: current.done };
  }

  /** Asks for a pass soon: now if none runs, else right after the running one (new agents appeared). */
  requestSync(): void {
    if (this.stopped) return;
    if (this.current) this.rerun = true;
    else void this.syncNow();
  }

  /**
   * An agent's change channel says its index is at `position`. A pass starts when the catalog is
   * behind it; while a pass runs, the check waits for its end, since that pass may well cover it.
   */
  noteChange(agent: AgentRef, position: AgentPosition): void {
    if (this.stopped) return;
    this.pushed.set(agent.name, position);
    if (!this.current && !this.checking) void this.syncIfBehind();
  }

  private checking = false;

  /** Starts a pass if any pushed position is ahead of what the catalog has stored. */
  private async syncIfBehind(): Promise<void> {
    this.checking = true;
    try {
      // Positions pushed while the catalog is read are checked in the next round.
      while (this.pushed.size > 0 && !this.current && !this.stopped) {
        if (await this.behindPushed()) {
          this.requestSync();
          break;
        }
      }
    } catch (err) {
      this.options.logger.warn({ err }, 'cannot compare pushed changes with the catalog; syncing');
      this.requestSync();
    } finally {
      this.checking = false;
    }
  }

  /** Whether some agent pushed a position the catalog has not stored up to; forgets the rest. */
  private async behindPushed(): Promise<boolean> {
    for (const [name, position] of [...this.pushed]) {
      const stored = await this.options.run.catalog.agentPosition(name);
      const covered =
        stored !== null && stored.epoch === position.epoch && stored.generation >= position.generation;
      if (!covered) return true;
      if (this.pushed.get(name) === position) this.pushed.delete(name);
    }
    return false;
  }

  private async syncPass(runId: string): Promise<SyncSummary | null> {
    let summary: SyncSummary | null = null;
    // This pass reads every agent's changes after now: what was pushed so far is its work.
    this.pushed.clear();
    try {
      summary = await runSync(
        this.options.source.list(),
        {
          ...this.options.run,
          exclusive: (agent, work) => this.locks.run(agent.name, work),
          onAgentStart: (agent) => this.setState(agent.name, 'syncing'),
          onAgentDone: (result) =>
            this.agentState.set(result.name, { state: result.ok ? 'idle' : 'failed', last: result }),
        },
        runId,
      );
      this.lastRun = summary;
    } catch (err) {
      // A full disk met outside any one agent (the catalog's own writes) is --dest's state: one line, no stack.
      if (isNoSpace(err)) {
        const full = destFullError(this.options.run.store.name, 'syncing', err);
        this.options.logger.error({ code: full.code, runId }, full.message);
      } else this.options.logger.error({ err, runId }, 'sync run failed');
    } finally {
      // Pushed while this pass ran: another pass only if the catalog is still behind.
      if (!this.rerun && this.pushed.size > 0) {
        this.rerun = await this.behindPushed().catch(() => true);
      }
      this.current = undefined;
      if (!this.stopped) {
        const delay = this.rerun ? 0 : this.options.intervalMs;
        this.rerun = false;
        this.syncTimer = setTimeout(() => void this.syncNow(), delay);
      }
    }
    return summary;
  }

  private purgeLoop(): void {
    const purge = this.options.purge;
    if (!purge || this.stopped) return;
    this.purging = runPurge(this.options.source.list(), {
      ...purge,
      // A purge never waits for a busy agent: it leaves it for the next pass.
      exclusive: async (agent, work) => {
        const result = await this.locks.tryRun(agent.name, work);
        if (!result) this.options.logger.info({ agent: agent.name }, 'purge skipped: the agent is syncing');
        return result;
      },
    })
      .then((summary) => {
        this.lastPurge = summary;
      })
      .catch((err: unknown) => this.options.logger.error({ err }, 'purge run failed'))
      .finally(() => {
        this.purging = undefined;
        if (!this.stopped) this.purgeTimer = setTimeout(() => this.purgeLoop(), purge.intervalMs);
      });
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
      lastPurge: this.lastPurge,
      agents: this.options.source.list().map((agent) => {
        const entry = this.agentState.get(agent.name);
        return { name: agent.name, url: agent.url, state: entry?.state ?? 'idle', last: entry?.last ?? null };
      }),
    };
  }

  /** Stops scheduling and waits for running passes to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    if (this.purgeTimer) clearTimeout(this.purgeTimer);
    await Promise.all([this.current?.done, this.purging, this.settling]);
  }
}
