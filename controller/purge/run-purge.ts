// One purge pass over every agent, several at once, summed into the shape `purge --json` prints.
import type { AgentPurgeResult, KeepReason, PurgeSummary } from '../../common/protocol.js';
import { countKept } from '../../common/purge-plan.js';
import { forEachLimit } from '../../lib/pool.js';
import type { AgentRef } from '../agents/agent-source.js';
import { noSink } from '../../common/ingest-events.js';
import { noProgress } from '../progress/progress-hub.js';
import { type RunContext, clientFactory } from '../agents/run-context.js';
import type { PurgeOptions } from '../config/purge-config.js';
import { purgeAgent } from './purge-agent.js';
import { newRunId } from '../sync/run-sync.js';

export interface PurgeRunDeps extends RunContext {
  destRoot: string;
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
  const exclusive = deps.exclusive ?? ((_agent, work) => work());
  const results: AgentPurgeResult[] = [];
  deps.logger.info(
    { runId, agents: agents.map((agent) => agent.name), dryRun: deps.options.dryRun },
    'purge run started',
  );
  await forEachLimit(agents, deps.concurrency, async (agent) => {
    const logger = deps.logger.child({ agent: agent.name, runId });
    const work = (): Promise<AgentPurgeResult> =>
      purgeAgent(agent, {
        client: clientFor(agent),
        catalog: deps.catalog,
        destRoot: deps.destRoot,
        options: deps.options,
        runId,
        clock: deps.clock,
        logger,
        events: deps.events ?? noSink,
        progress: deps.progress ?? noProgress,
        signal: deps.signal,
      });
    const result = await exclusive(agent, async () => {
      const leased = await deps.catalog.withAgentLease(agent.name, work);
      if (leased) return leased;
      logger.info('purge skipped: another controller is syncing or purging this agent');
      return skippedPurge(agent.name, runId, deps.options.dryRun);
    });
    if (result) results.push(result);
  });
  results.sort(
    (a, b) =>
      agents.findIndex((agent) => agent.name === a.name) - agents.findIndex((agent) => agent.name === b.name),
  );
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
    name,
    ok: true,
    skipped: 'another controller holds this agent',
    runId,
    dryRun,
    filesPurged: 0,
    bytesFreed: 0,
    purged: [],
    kept: {},
    problems: [],
  };
}
