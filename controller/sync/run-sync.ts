// One sync pass over every agent, several at once, summed into the shape `sync --json` prints.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type AgentSyncResult, type SyncSummary, sumCounters } from '../../common/protocol.js';
import { forEachLimit } from '../../lib/pool.js';
import type { AgentRef } from '../agents/agent-source.js';
import { noSink } from '../../common/ingest-events.js';
import { noProgress } from '../progress/progress-hub.js';
import { type RunContext, clientFactory } from '../agents/run-context.js';
import type { Destination } from '../host-store/destination.js';
import { BatchDurability } from '../host-store/durable.js';
import { Placer } from '../host-store/place.js';
import type { SyncLimits } from '../config/target.js';
import { syncAgent } from './sync-agent.js';

export interface SyncRunDeps extends RunContext {
  destination: Destination;
  limits: SyncLimits;
  /** Called as each agent starts and finishes, for status and progress. */
  onAgentStart?: (agent: AgentRef, runId: string) => void;
  onAgentDone?: (result: AgentSyncResult) => void;
  /** Runs one agent's sync when that agent is free (the daemon's per-agent lock); by default at once. */
  exclusive?: (agent: AgentRef, work: () => Promise<AgentSyncResult>) => Promise<AgentSyncResult>;
}

export function newRunId(): string {
  return randomUUID().slice(0, 8);
}

export async function runSync(
  agents: readonly AgentRef[],
  deps: SyncRunDeps,
  runId = newRunId(),
): Promise<SyncSummary> {
  const placer = new Placer(deps.destination.root, deps.catalog, deps.destination);
  const durability = new BatchDurability(deps.destination.durability, deps.destination.root);
  const results: AgentSyncResult[] = new Array(agents.length);
  const clientFor = clientFactory(deps);
  deps.logger.info(
    { runId, agents: agents.map((agent) => agent.name), durability: deps.destination.durability },
    'sync run started',
  );
  const exclusive = deps.exclusive ?? ((_agent, work) => work());
  await forEachLimit(agents, deps.concurrency, async (agent, index) => {
    const logger = deps.logger.child({ agent: agent.name, runId });
    const work = (): Promise<AgentSyncResult> =>
      syncAgent(agent, {
        client: clientFor(agent),
        catalog: deps.catalog,
        placer,
        durability,
        tmpDir: deps.destination.tmpDir,
        destRoot: deps.destination.root,
        destName: deps.destination.name,
        provenance: { host: hostname(), ...agent.provenance },
        limits: deps.limits,
        runId,
        clock: deps.clock,
        logger,
        events: deps.events ?? noSink,
        progress: deps.progress ?? noProgress,
        signal: deps.signal,
      });
    const result = await exclusive(agent, async () => {
      deps.onAgentStart?.(agent, runId);
      // Controllers sharing a catalog take turns per agent; the one that waits finds the work done.
      const leased = await deps.catalog.withAgentLease(agent.name, work);
      if (leased) return leased;
      logger.info('sync skipped: another controller is syncing or purging this agent');
      return skippedSync(agent.name, runId, new Date(deps.clock.now()).toISOString());
    });
    results[index] = result;
    // A purge later refuses an agent whose last sync failed as a whole.
    if (!result.skipped) {
      await deps.catalog.recordSync(agent.name, {
        runId,
        ok: result.error === undefined,
        finishedAt: new Date(result.finishedAt),
      });
    }
    deps.onAgentDone?.(result);
  });
  const totals = sumCounters(results);
  const summary: SyncSummary = { runId, ok: results.every((result) => result.ok), agents: results, totals };
  deps.logger.info({ runId, ...totals, ok: summary.ok }, 'sync run done');
  return summary;
}

function skippedSync(name: string, runId: string, at: string): AgentSyncResult {
  return {
    name,
    ok: true,
    skipped: 'another controller holds this agent',
    runId,
    startedAt: at,
    finishedAt: at,
    filesTransferred: 0,
    bytesTransferred: 0,
    filesUnchanged: 0,
    filesPending: 0,
    errors: 0,
    problems: [],
  };
}
