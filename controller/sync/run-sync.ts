// One sync pass over every agent, several at once, summed into the shape `sync --json` prints.
import { hostname } from 'node:os';
import { type AgentSyncResult, type SyncSummary, sumCounters } from '../../common/run-results.js';
import type { AgentRef } from '../agents/agent-source.js';
import { noSink } from '../../common/ingest-events.js';
import { noProgress } from '../progress/progress-hub.js';
import { forEachAgent, heldElsewhere, newRunId } from '../agents/fan-out.js';
import { type RunContext, clientFactory } from '../agents/run-context.js';
import type { HostStore } from '../host-store/host-store.js';
import type { SyncLimits } from '../config/target.js';
import { emptySyncResult, syncAgent } from './sync-agent.js';

export interface SyncRunDeps extends RunContext {
  store: HostStore;
  limits: SyncLimits;
  /** Called as each agent starts and finishes, for status and progress. */
  onAgentStart?: (agent: AgentRef, runId: string) => void;
  onAgentDone?: (result: AgentSyncResult) => void;
  /** Runs one agent's sync when that agent is free (the daemon's per-agent lock); by default at once. */
  exclusive?: (agent: AgentRef, work: () => Promise<AgentSyncResult>) => Promise<AgentSyncResult>;
}

export async function runSync(
  agents: readonly AgentRef[],
  deps: SyncRunDeps,
  runId = newRunId(),
): Promise<SyncSummary> {
  const run = deps.store.beginRun(deps.catalog);
  const clientFor = clientFactory(deps);
  deps.logger.info(
    { runId, agents: agents.map((agent) => agent.name), durability: deps.store.durabilityMode },
    'sync run started',
  );
  const results = await forEachAgent(agents, {
    what: 'sync',
    runId,
    context: deps,
    exclusive: deps.exclusive,
    onStart: (agent) => deps.onAgentStart?.(agent, runId),
    work: (agent, logger) =>
      syncAgent(agent, {
        client: clientFor(agent),
        catalog: deps.catalog,
        store: deps.store,
        run,
        provenance: { host: hostname(), ...agent.provenance },
        limits: deps.limits,
        runId,
        clock: deps.clock,
        logger,
        events: deps.events ?? noSink,
        progress: deps.progress ?? noProgress,
        signal: deps.signal,
      }),
    skipped: (agent) => skippedSync(agent.name, runId, new Date(deps.clock.now()).toISOString()),
    onResult: async (agent, result) => {
      // A purge later refuses an agent whose last sync failed as a whole.
      if (!result.skipped) {
        await deps.catalog.recordSync(agent.name, {
          runId,
          ok: result.error === undefined,
          finishedAt: new Date(result.finishedAt),
        });
      }
      deps.onAgentDone?.(result);
    },
  });
  const totals = sumCounters(results);
  const summary: SyncSummary = { runId, ok: results.every((result) => result.ok), agents: results, totals };
  deps.logger.info({ runId, ...totals, ok: summary.ok }, 'sync run done');
  return summary;
}

function skippedSync(name: string, runId: string, at: string): AgentSyncResult {
  return { ...emptySyncResult(name, runId, at), ...heldElsewhere(name, runId) };
}
