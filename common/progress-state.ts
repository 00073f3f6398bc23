// Per-agent live state folded from progress messages: what the hub keeps and what a client rebuilds.
import type { AgentProgressState, ProgressMessage } from './progress.js';

/** Agent name → its state, in the order agents were first seen. */
export type ProgressStates = Map<string, AgentProgressState>;

export function emptyAgentState(agent: string): AgentProgressState {
  return {
    agent,
    url: '',
    present: true,
    phase: 'idle',
    runId: null,
    progress: null,
    lastSync: null,
    lastPurge: null,
    lastError: null,
  };
}

function stateOf(states: ProgressStates, agent: string): AgentProgressState {
  let state = states.get(agent);
  if (!state) {
    state = emptyAgentState(agent);
    states.set(agent, state);
  }
  return state;
}

/**
 * Folds one message into `states`, in place. A `snapshot` replaces everything; every other message
 * updates the agent it names (creating it if new). `file.*` messages change no state.
 */
export function applyProgress(states: ProgressStates, message: ProgressMessage): void {
  switch (message.type) {
    case 'snapshot':
      states.clear();
      for (const agent of message.agents) states.set(agent.agent, structuredClone(agent));
      return;
    case 'agent.discovered':
      Object.assign(stateOf(states, message.agent), { url: message.url, present: true });
      return;
    case 'agent.lost':
      Object.assign(stateOf(states, message.agent), { present: false, phase: 'idle', progress: null });
      return;
    case 'error':
      if (message.agent)
        stateOf(states, message.agent).lastError = {
          code: message.code,
          message: message.message,
          at: message.at,
        };
      return;
    case 'scan.started':
      Object.assign(stateOf(states, message.agent), {
        phase: 'scanning',
        runId: message.runId,
        progress: null,
      });
      return;
    case 'scan.done':
      Object.assign(stateOf(states, message.agent), { phase: 'idle', progress: null });
      return;
    case 'scan.progress':
    case 'sync.started':
    case 'sync.progress':
      Object.assign(stateOf(states, message.agent), {
        phase: message.type === 'scan.progress' ? 'scanning' : 'syncing',
        runId: message.runId,
        progress: message.progress,
      });
      return;
    case 'sync.completed': {
      const state = stateOf(states, message.agent);
      Object.assign(state, { phase: 'idle', progress: message.progress, lastSync: message.result });
      if (message.result.error) state.lastError = { ...message.result.error, at: message.at };
      return;
    }
    case 'purge.started':
    case 'purge.progress':
      Object.assign(stateOf(states, message.agent), {
        phase: 'purging',
        runId: message.runId,
        progress: message.progress,
      });
      return;
    case 'purge.completed': {
      const state = stateOf(states, message.agent);
      Object.assign(state, { phase: 'idle', progress: message.progress, lastPurge: message.result });
      if (message.result.error) state.lastError = { ...message.result.error, at: message.at };
      return;
    }
    case 'file.stored':
    case 'file.rejected':
      return;
  }
}
