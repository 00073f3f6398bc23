// What every sync or purge pass needs, whichever command or schedule runs it.
import type { Logger } from 'pino';
import type { Clock } from '../../common/clock.js';
import type { AgentLimits } from '../config/agent-limits.js';
import { type AgentClient, HttpAgentClient } from './agent-client.js';
import type { AgentRef } from './agent-source.js';
import type { Catalog } from '../catalog/catalog.js';
import type { IngestSink } from '../../common/ingest-events.js';
import type { ProgressReporter } from '../progress/progress-hub.js';

export interface RunContext {
  catalog: Catalog;
  /** Agents worked on at once. */
  concurrency: number;
  /** The shared read token, for agents without their own. */
  token: string | undefined;
  /** The shared purge token, for agents without their own; only purge requests carry it. */
  purgeToken?: string | undefined;
  clock: Clock;
  logger: Logger;
  /** How much an agent may send, and how slowly; the fixed AGENT_LIMITS unless a test says otherwise. */
  agentLimits?: AgentLimits;
  /** How to reach an agent; HTTP unless a test says otherwise. */
  clientFor?: (agent: AgentRef) => AgentClient;
  /** Where `file.stored`/`file.purged` events go besides the catalog (--events). */
  events?: IngestSink;
  /** Live progress for /v1/progress; none for one-shot commands. */
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

/** The settings of a run that come from the command's configuration. */
export type RunSettings = Pick<RunContext, 'concurrency' | 'agentLimits' | 'token' | 'purgeToken'>;

/** A run's context: the command's settings with what the command opened. */
export function runContextOf(
  settings: RunSettings,
  opened: Pick<RunContext, 'catalog' | 'clock' | 'logger' | 'events' | 'progress' | 'signal'>,
): RunContext {
  const { concurrency, agentLimits, token, purgeToken } = settings;
  return { concurrency, agentLimits, token, purgeToken, ...opened };
}

export function clientFactory(context: RunContext): (agent: AgentRef) => AgentClient {
  return (
    context.clientFor ??
    ((agent) =>
      new HttpAgentClient(
        agent,
        agent.token ?? context.token,
        agent.purgeToken ?? context.purgeToken,
        context.agentLimits,
      ))
  );
}
