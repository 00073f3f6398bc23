// Where the controller learns which agents exist: the static list from the configuration, and Docker discovery.
import type { AgentRef } from '../config/agent-list.js';

export type { AgentRef } from '../config/agent-list.js';

/**
 * A source of agents. The controller asks it for the current list before each pass, so a source
 * that changes over time (Docker events) needs no other hook. Implementations are called from one
 * event loop and need no locking.
 */
export interface AgentSource {
  list(): AgentRef[];
}

export class StaticAgentSource implements AgentSource {
  constructor(private readonly agents: readonly AgentRef[]) {}

  list(): AgentRef[] {
    return [...this.agents];
  }
}
