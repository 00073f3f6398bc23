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
/** A move is passed on once the index has stood still this long: a burst of writes is one pass. */
export const QUIET_MS = 150;
/** However long a burst goes on, its moves are passed on this long after the first. */
export const BURST_MS = 1_000;

export interface ChangeFeedOptions {
  clientFor: (agent: AgentRef) => AgentClient;
  /**
   * Where the agent's index is: on every move, and on (re)connecting, since a change may have been
   * missed meanwhile. The receiver compares it with what is stored.
   */
  onChange: (agent: AgentRef, position: AgentPosition) => void;
  logger: Logger;
  waitMs?: number;
  quietMs?: number;
  burstMs?: number;
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

  /**
   * Follows the index while it keeps moving: the position once it has stood still for `quietMs`, or
   * `burstMs` after the first move. A generator saving a batch, or a copy into the output folder,
   * moves it many times in a second; passed on at each move, every step would start a pass holding
   * part of the burst, and the rest would wait for the next one.
   */
  private async quiet(
    client: AgentClient,
    moved: AgentPosition,
    signal: AbortSignal,
  ): Promise<AgentPosition> {
    const quietMs = this.options.quietMs ?? QUIET_MS;
    const until = performance.now() + (this.options.burstMs ?? BURST_MS);
    let position = moved;
    while (quietMs > 0 && performance.now() < until) {
      const wait = Math.max(1, Math.round(Math.min(quietMs, until - performance.now())));
      const answer = await client.changes(position, wait, signal);
      const next = { epoch: answer.epoch, generation: answer.generation };
      if (samePosition(next, position)) break;
      position = next;
    }
    return position;
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
        let next: AgentPosition = { epoch: answer.epoch, generation: answer.generation };
        // On (re)connecting the position is passed on at once: a change may have been missed.
        if (position && !samePosition(position, next)) next = await this.quiet(client, next, signal);
        if (!position || !samePosition(position, next)) {
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

function samePosition(a: AgentPosition, b: AgentPosition): boolean {
  return a.epoch === b.epoch && a.generation === b.generation;
}
