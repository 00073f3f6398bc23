// The push channel: one long poll per agent on /v1/changes, so the daemon syncs a new file as soon as
// the agent lists it instead of at the next --interval.
import type { Logger } from 'pino';
import { errorMessage } from '../../common/errors.js';
import { Capabilities } from '../../common/protocol.js';
import type { AgentClient } from './agent-client.js';
import type { AgentRef } from './agent-source.js';
import type { AgentPosition } from '../catalog/catalog.js';
import { pause } from '../../lib/pause.js';

/** How long the agent holds one poll open; well under every idle limit on the way. */
export const CHANGES_WAIT_MS = 25_000;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export interface ChangeFeedOptions {
  clientFor: (agent: AgentRef) => AgentClient;
  /**
   * Where the agent's index is: on every move, and on (re)connecting, since a change may have been
   * missed meanwhile. The receiver compares it with what is stored.
   */
  onChange: (agent: AgentRef, position: AgentPosition) => void;
  logger: Logger;
  waitMs?: number;
}

/**
 * Follows every agent it is given until `close`. An agent that does not offer the channel (an older
 * version) is left to the scheduled passes. A poll that fails is tried again after a growing pause,
 * so a stopped agent costs one request every 30 s. A position is only a hint here: the sync pass
 * itself asks the catalog where it left off, so a missed or doubled signal costs at most one pass,
 * and the interval's passes remain the safety net.
 */
export class ChangeFeed {
  private readonly follows = new Map<string, { url: string; abort: AbortController }>();
  private closed = false;

  constructor(private readonly options: ChangeFeedOptions) {}

  /** Follows exactly these agents: new ones start, gone or moved ones stop. */
  setAgents(agents: readonly AgentRef[]): void {
    if (this.closed) return;
    const wanted = new Map(agents.map((agent) => [agent.name, agent]));
    for (const [name, follow] of this.follows) {
      if (wanted.get(name)?.url !== follow.url) {
        follow.abort.abort();
        this.follows.delete(name);
      }
    }
    for (const agent of agents) {
      if (this.follows.has(agent.name)) continue;
      const abort = new AbortController();
      this.follows.set(agent.name, { url: agent.url, abort });
      void this.follow(agent, abort.signal);
    }
  }

  /** How many agents are followed now. */
  get size(): number {
    return this.follows.size;
  }

  close(): void {
    this.closed = true;
    for (const follow of this.follows.values()) follow.abort.abort();
    this.follows.clear();
  }

  private async follow(agent: AgentRef, signal: AbortSignal): Promise<void> {
    const { logger, onChange } = this.options;
    const client = this.options.clientFor(agent);
    const waitMs = this.options.waitMs ?? CHANGES_WAIT_MS;
    let position: AgentPosition | null = null;
    let supported = false;
    let retryMs = FIRST_RETRY_MS;
    while (!signal.aborted) {
      try {
        if (!supported) {
          const info = await client.info(signal);
          if (!info.capabilities.includes(Capabilities.changes)) {
            logger.info(
              { agent: agent.name, version: info.version },
              'agent offers no change channel; it is synced every --interval only',
            );
            return;
          }
          supported = true;
        }
        const answer = await client.changes(position, waitMs, signal);
        const next = { epoch: answer.epoch, generation: answer.generation };
        if (!position || next.epoch !== position.epoch || next.generation !== position.generation) {
          logger.debug({ agent: agent.name, ...next, files: answer.files }, 'agent index moved');
          onChange(agent, next);
        }
        position = next;
        retryMs = FIRST_RETRY_MS;
      } catch (err) {
        if (signal.aborted) return;
        logger.debug(
          { agent: agent.name, err: errorMessage(err), retryMs },
          'change channel lost; trying again',
        );
        position = null;
        supported = false;
        await pause(retryMs, signal);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
    }
  }
}
