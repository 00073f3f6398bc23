// One piece of work per agent at a time: a purge never runs while that agent's sync does, and the reverse.

/**
 * Per-agent mutual exclusion on one event loop. `run` waits its turn; `tryRun` gives up at once
 * when the agent is busy. Work for different agents never waits on each other.
 */
export class AgentLocks {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly busy = new Set<string>();

  isBusy(agent: string): boolean {
    return this.busy.has(agent);
  }

  async run<T>(agent: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(agent) ?? Promise.resolve();
    const current = previous
      .catch(() => undefined)
      .then(async () => {
        this.busy.add(agent);
        try {
          return await work();
        } finally {
          this.busy.delete(agent);
        }
      });
    this.tails.set(agent, current);
    try {
      return await current;
    } finally {
      if (this.tails.get(agent) === current) this.tails.delete(agent);
    }
  }

  /** Runs `work` only if nothing runs or waits for this agent; otherwise returns null. */
  async tryRun<T>(agent: string, work: () => Promise<T>): Promise<T | null> {
    if (this.tails.has(agent)) return null;
    return this.run(agent, work);
  }
}
