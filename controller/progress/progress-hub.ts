// The controller's live state per agent, and the fan-out of progress messages to every listener.
import type { Clock } from '../../common/clock.js';
import {
  PROGRESS_VERSION,
  type ProgressMessage,
  type ProgressReporter,
  type UnstampedMessage,
  isCoalescable,
} from '../../common/progress.js';

export { type ProgressReporter, type UnstampedMessage, noProgress } from '../../common/progress.js';
import { type ProgressStates, applyProgress } from '../../common/progress-state.js';

/** Something that takes progress messages: a WebSocket client, the metrics, a test. */
export interface ProgressListener {
  send(message: ProgressMessage): void;
}

const PHASE_END = new Set(['scan.done', 'sync.completed', 'purge.completed']);

/**
 * Holds each agent's latest state and delivers messages to listeners. Progress messages are
 * throttled to one per agent per `throttleMs` (the newest wins); the message that ends a phase is
 * always delivered and replaces any progress still waiting. Lives on one event loop.
 */
export class ProgressHub implements ProgressReporter {
  private readonly states: ProgressStates = new Map();
  private readonly listeners = new Set<ProgressListener>();
  private readonly waiting = new Map<string, { message: ProgressMessage; timer: NodeJS.Timeout }>();
  private readonly lastProgressAt = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly throttleMs = 100,
  ) {}

  stamp(message: UnstampedMessage): ProgressMessage {
    return {
      ...message,
      v: PROGRESS_VERSION,
      at: new Date(this.clock.now()).toISOString(),
    } as ProgressMessage;
  }

  /** Records and delivers a message (stamped with version and time if it is not yet). */
  publish(input: ProgressMessage | UnstampedMessage): void {
    const message = 'v' in input ? input : this.stamp(input);
    this.apply(message);
    const agent = 'agent' in message && typeof message.agent === 'string' ? message.agent : null;
    if (agent && isCoalescable(message)) {
      const now = this.clock.now();
      const since = now - (this.lastProgressAt.get(agent) ?? -Infinity);
      const slot = this.waiting.get(agent);
      if (since >= this.throttleMs && !slot) {
        this.lastProgressAt.set(agent, now);
        this.deliver(message);
      } else if (slot) {
        slot.message = message;
      } else {
        const timer = setTimeout(() => this.flushWaiting(agent), this.throttleMs - since);
        timer.unref();
        this.waiting.set(agent, { message, timer });
      }
      return;
    }
    if (agent && PHASE_END.has(message.type)) this.dropWaiting(agent);
    this.deliver(message);
  }

  /** Tells listeners which agents exist now: new ones are discovered, missing ones lost. */
  setAgents(agents: readonly { name: string; url: string }[]): void {
    const names = new Set(agents.map((agent) => agent.name));
    for (const agent of agents) {
      const known = this.states.get(agent.name);
      if (known?.present && known.url === agent.url) continue;
      this.publish({ type: 'agent.discovered', agent: agent.name, url: agent.url });
    }
    for (const [name, state] of this.states) {
      if (state.present && !names.has(name)) this.publish({ type: 'agent.lost', agent: name });
    }
  }

  snapshot(): ProgressMessage {
    return this.stamp({
      type: 'snapshot',
      agents: [...this.states.values()].map((state) => structuredClone(state)),
    });
  }

  /** Adds a listener; it gets the snapshot first. Returns the function that removes it. */
  subscribe(listener: ProgressListener): () => void {
    listener.send(this.snapshot());
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  close(): void {
    for (const agent of [...this.waiting.keys()]) this.dropWaiting(agent);
    this.listeners.clear();
  }

  private flushWaiting(agent: string): void {
    const slot = this.waiting.get(agent);
    if (!slot) return;
    this.waiting.delete(agent);
    this.lastProgressAt.set(agent, this.clock.now());
    this.deliver(slot.message);
  }

  private dropWaiting(agent: string): void {
    const slot = this.waiting.get(agent);
    if (slot) clearTimeout(slot.timer);
    this.waiting.delete(agent);
  }

  private deliver(message: ProgressMessage): void {
    for (const listener of this.listeners) listener.send(message);
  }

  /** Keeps the per-agent state that a snapshot gives a new client. */
  private apply(message: ProgressMessage): void {
    // The hub makes snapshots; it never takes one in.
    if (message.type !== 'snapshot') applyProgress(this.states, message);
  }
}
