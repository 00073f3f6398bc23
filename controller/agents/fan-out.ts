// The per-agent fan-out every pass shares: so many agents at once, each under its lock and lease, with its own logger.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { forEachLimit } from '../../lib/pool.js';
import type { Catalog } from '../catalog/catalog.js';
import type { AgentRef } from './agent-source.js';

/** A short id that names one pass in logs, results and catalog rows. */
export function newRunId(): string {
  return randomUUID().slice(0, 8);
}

/** The common part of an agent's result when another controller holds it: skipped, not failed. */
export function heldElsewhere(
  name: string,
  runId: string,
): { name: string; ok: true; skipped: string; runId: string } {
  return { name, ok: true, skipped: 'another controller holds this agent', runId };
}

export interface FanOut<R> {
  /** Which pass, for the log line of an agent another controller holds. */
  what: 'sync' | 'purge';
  runId: string;
  /** The pass's context: how many agents at once, its logger, and the catalog that holds the leases. */
  context: { concurrency: number; logger: Logger; catalog: Pick<Catalog, 'withAgentLease'> };
  /**
   * Runs one agent's work when that agent is free: the daemon's per-agent lock, so a sync and a
   * purge of one agent never overlap. By default at once; null skips the agent this time.
   */
  exclusive?: (agent: AgentRef, work: () => Promise<R>) => Promise<R | null>;
  /** Called inside `exclusive`, as the agent's turn starts. */
  onStart?: (agent: AgentRef) => void;
  /** The agent's work, with its child logger. */
  work: (agent: AgentRef, logger: Logger) => Promise<R>;
  /** The result of an agent another controller holds (the catalog's lease): it is skipped, not failed. */
  skipped: (agent: AgentRef) => R;
  /** Called with each result as it comes, outside the lock. */
  onResult?: (agent: AgentRef, result: R) => Promise<void>;
}

/**
 * Runs `work` for each agent, `concurrency` at once. Controllers sharing a catalog take turns per
 * agent through its lease; the one that waits finds the work done. Returns the results in the
 * agents' order, without the agents `exclusive` skipped.
 */
export async function forEachAgent<R>(agents: readonly AgentRef[], fan: FanOut<R>): Promise<R[]> {
  const results: (R | null)[] = new Array<R | null>(agents.length).fill(null);
  const exclusive = fan.exclusive ?? ((_agent, work) => work());
  await forEachLimit(agents, fan.context.concurrency, async (agent, index) => {
    const logger = fan.context.logger.child({ agent: agent.name, runId: fan.runId });
    const result = await exclusive(agent, async () => {
      fan.onStart?.(agent);
      const leased = await fan.context.catalog.withAgentLease(agent.name, () => fan.work(agent, logger));
      if (leased) return leased;
      logger.info(`${fan.what} skipped: another controller is syncing or purging this agent`);
      return fan.skipped(agent);
    });
    results[index] = result;
    if (result !== null) await fan.onResult?.(agent, result);
  });
  return results.filter((result): result is R => result !== null);
}
