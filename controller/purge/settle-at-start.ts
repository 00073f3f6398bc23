// At daemon start: settle the `requested` purge rows a killed purge left, without waiting for the next purge.
import type { Problem } from '../../common/errors.js';
import type { AgentRef } from '../agents/agent-source.js';
import { scanAgent } from '../agents/read-manifest.js';
import { noProgress } from '../progress/progress-hub.js';
import { reconcileRequested } from './reconcile.js';
import { type RunContext, clientFactory } from '../agents/run-context.js';
import { newRunId } from '../agents/fan-out.js';

/**
 * For each agent with rows still `requested`, reads its full manifest and settles them as the next
 * purge would (see reconcileRequested). With a purge token for the agent, every row is settled;
 * without one, only the rows of files still listed (`kept:interrupted`): what became of the others
 * only the agent's journal says, and asking it takes the purge token. Deletes nothing. An agent that
 * cannot be reached is left for the next start or purge. Never throws.
 */
export async function settleInterruptedPurges(
  agents: readonly AgentRef[],
  context: RunContext & {
    /** Runs the work when the agent is free (the daemon's per-agent lock). */
    exclusive: (agent: AgentRef, work: () => Promise<void>) => Promise<unknown>;
  },
): Promise<void> {
  const clientFor = clientFactory(context);
  const runId = newRunId();
  for (const agent of agents) {
    const logger = context.logger.child({ agent: agent.name, runId });
    try {
      if ((await context.catalog.unsettledPurges(agent.name)).length === 0) continue;
      await context.exclusive(agent, async () => {
        await context.catalog.withAgentLease(agent.name, async () => {
          const client = clientFor(agent);
          const problems: Problem[] = [];
          const ids = { agent: agent.name, runId };
          const progress = { reporter: noProgress, clock: context.clock };
          const { table } = await scanAgent(client, problems, ids, progress, context.signal);
          const entries = [...table.entries()];
          const deps = { catalog: context.catalog, client, runId, logger, signal: context.signal };
          const askAgent = Boolean(agent.purgeToken ?? context.purgeToken);
          await reconcileRequested(agent.name, entries, deps, askAgent);
        });
      });
    } catch (err) {
      logger.warn({ err }, 'cannot settle the deletions an interrupted purge left now; the next purge will');
    }
  }
}
