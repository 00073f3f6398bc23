// One purge pass over every agent, several at once, summed into the shape `purge --json` prints.
import type { AgentPurgeResult, KeepReason, PurgeSummary } from '../../common/run-results.js';
import { countKept } from '../../common/purge-plan.js';
import type { AgentRef } from '../agents/agent-source.js';
import { noSink } from '../../common/ingest-events.js';
import { noProgress } from '../progress/progress-hub.js';
import { type RunContext, clientFactory } from '../agents/run-context.js';
import type { PurgeOptions } from '../config/purge-config.js';
import type { HostStore } from '../host-store/host-store.js';
import { purgeAgent } from './purge-agent.js';
import { forEachAgent, heldElsewhere, newRunId } from '../agents/fan-out.js';

export interface PurgeRunDeps extends RunContext {
  store: HostStore;
  options: PurgeOptions;
  /**
   * Runs one agent's purge when that agent is free. The daemon passes its per-agent lock here, so
   * a purge never overlaps a sync of the same agent; it returns null to skip the agent this time.
   */
  exclusive?: (agent: AgentRef, work: () => Promise<AgentPurgeResult>) => Promise<AgentPurgeResult | null>;
}

export async function runPurge(
  agents: readonly AgentRef[],
  deps: PurgeRunDeps,
  runId = newRunId(),
): Promise<PurgeSummary> {
  const clientFor = clientFactory(deps);
  const results = await forEachAgent(agents, {
    what: 'purge',
    runId,
    context: deps,
    exclusive: deps.exclusive,
    work: (agent, logger) =>
      purgeAgent(agent, {
        client: clientFor(agent),
        catalog: deps.catalog,
        store: deps.store,
        options: deps.options,
        runId,
        clock: deps.clock,
        logger,
        events: deps.events ?? noSink,
        progress: deps.progress ?? noProgress,
        signal: deps.signal,
      }),
    skipped: (agent) => skippedPurge(agent.name, runId, deps.options.dryRun),
  });
  const kept: Partial<Record<KeepReason, number>> = {};
  for (const result of results) {
    for (const [reason, count] of Object.entries(result.kept)) countKept(kept, reason as KeepReason, count);
  }
  const summary: PurgeSummary = {
    runId,
    ok: results.every((result) => result.ok),
    dryRun: deps.options.dryRun,
    agents: results,
    totals: {
      filesPurged: results.reduce((sum, result) => sum + result.filesPurged, 0),
      bytesFreed: results.reduce((sum, result) => sum + result.bytesFreed, 0),
      kept,
    },
  };
  deps.logger.info(
    { runId, filesPurged: summary.totals.filesPurged, bytesFreed: summary.totals.bytesFreed, ok: summary.ok },
    'purge run done',
  );
  return summary;
}

function skippedPurge(name: string, runId: string, dryRun: boolean): AgentPurgeResult {
  return {
    ...heldElsewhere(name, runId),
    dryRun,
    filesPurged: 0,
    bytesFreed: 0,
    purged: [],
    kept: {},
    problems: [],
  };
}
