// What an agent's HTTP answers mean when they are not the answer asked for: one clear error per case.
import type { IncomingMessage } from 'node:http';
import { AppError } from '../../common/errors.js';
import type { AgentPosition } from '../catalog/catalog.js';
import type { AgentRef } from './agent-source.js';

/** A response header as one string. */
export function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A server that answered without the protocol header: not an agent (the WebUI's port?). */
export function notAnAgent(agent: AgentRef, status: number): AppError {
  return new AppError(
    'E_PROTOCOL_MISMATCH',
    `${agent.url} answered ${status} without a forge-sync protocol header; is it a forge-sync agent?`,
  );
}

/** The error for a non-2xx answer to `route`, naming the token to check where it is one. */
export function answerError(
  agent: AgentRef,
  route: string,
  status: number,
  detail: string,
  how: { purge: boolean; agentProtocol: boolean; retryAfter: string | undefined },
): AppError {
  const which = how.purge
    ? 'FORGE_SYNC_PURGE_TOKEN or --purge-token-file'
    : 'FORGE_SYNC_TOKEN or --token-file';
  if (status === 401) {
    return new AppError('E_AUTH', `agent ${agent.name} rejected the token (${detail}); check ${which}`);
  }
  if (status === 403) return new AppError('E_FORBIDDEN', `agent ${agent.name} refused ${route}: ${detail}`);
  if (status === 429) {
    return new AppError(
      'E_RATE_LIMITED',
      `agent ${agent.name} refuses this address for ${how.retryAfter ?? 'a few'} s after too many wrong tokens; check ${which}`,
    );
  }
  if (!how.agentProtocol) return notAnAgent(agent, status);
  return new AppError('E_AGENT_HTTP', `agent ${agent.name} answered ${status} to ${route}: ${detail}`);
}

/** An epoch (a short name) and a generation (a whole number): a position the controller may keep. */
export function isPosition(value: unknown): value is AgentPosition {
  const { epoch, generation } = (value ?? {}) as Partial<AgentPosition>;
  return (
    typeof epoch === 'string' &&
    epoch.length > 0 &&
    epoch.length <= 64 &&
    Number.isSafeInteger(generation) &&
    generation! >= 0
  );
}
