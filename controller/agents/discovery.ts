// Which agents a command works on: the static ones, plus those Docker discovery finds when it is on.
import type { Logger } from 'pino';
import { AppError } from '../../common/errors.js';
import { Labels } from '../../common/labels.js';
import { Routes } from '../../common/protocol.js';
import { type AgentRef, type AgentSource, StaticAgentSource } from './agent-source.js';
import { CombinedAgentSource, DockerAgentSource } from './docker/docker-source.js';

export interface Agents {
  source: AgentSource;
  close(): void;
}

/**
 * Lists the agents once (`follow: false`, one-shot commands) or keeps following Docker events
 * (the daemon), calling `onChange` whenever discovered agents come or go.
 */
export async function openAgents(
  config: { agents: AgentRef[]; docker: { socketPath: string } | null },
  logger: Logger,
  options: { follow: boolean; onChange?: (agents: AgentRef[]) => void },
): Promise<Agents> {
  const fixed = new StaticAgentSource(config.agents);
  if (!config.docker) return { source: fixed, close: () => undefined };
  // dockerode (and its ssh2) loads only when discovery is on.
  const { DockerodeClient } = await import('./docker/docker-client.js');
  const docker = new DockerAgentSource(
    new DockerodeClient({ socketPath: config.docker.socketPath }),
    logger,
    () => options.onChange?.(source.list()),
    answers,
  );
  const source = new CombinedAgentSource([fixed, docker]);
  try {
    await docker.start(options.follow);
  } catch (err) {
    throw new AppError(
      'E_DOCKER',
      `${(err as Error).message} (socket ${config.docker.socketPath}; use --no-docker to skip discovery)`,
      { cause: err },
    );
  }
  return { source, close: () => docker.close() };
}

/**
 * Whether anything answers HTTP at the agent's URL: a container that has just started may not listen
 * yet. Any answer counts; whether it is a forge-sync agent, and takes the token, the pass finds out.
 */
async function answers(agent: AgentRef): Promise<boolean> {
  try {
    const response = await fetch(`${agent.url}${Routes.health}`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** For one-shot commands: the agents to work on, or one clear error when there are none. */
export function requireAgents(source: AgentSource): AgentRef[] {
  const agents = source.list();
  if (agents.length === 0) {
    throw new AppError(
      'E_USAGE',
      `no agents: none given with --agent or --config, and no running container labelled ${Labels.agent}=true`,
    );
  }
  return agents;
}
