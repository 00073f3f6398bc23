// Agents found through Docker: containers labelled forge-sync.agent=true, followed through Docker events.
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../../../common/clock.js';
import { Labels } from '../../../common/labels.js';
import { unsafeRootNameReason } from '../../../common/path-safety.js';
import type { AgentRef, AgentSource } from '../agent-source.js';
import type { ContainerSummary, DockerClient } from './docker-client.js';

export const DEFAULT_AGENT_PORT = 8484;
const COMPOSE_SERVICE = 'com.docker.compose.service';
const REFRESH_DEBOUNCE_MS = 250;
const RETRY_MS = 5_000;
/** How often a container that just appeared is asked again whether it answers yet. */
const READY_RETRY_MS = 500;
/** How long it may take to answer before it is announced anyway (its passes then say what is wrong). */
const READY_WAIT_MS = 30_000;

/**
 * The agent a container runs, or why it is left out. The name (the agent's identity in the catalog
 * and its folder under --dest) comes from the forge-sync.name label, else the compose service, else
 * the container name, so a recreated container keeps it. The URL is the container's address on a
 * network shared with the controller's own container, else a port published on the host, else the
 * container's IP (reachable from a Linux host).
 */
export function agentFromContainer(
  container: ContainerSummary,
  self: ContainerSummary | null,
): AgentRef | { skip: string } {
  const name = container.labels[Labels.name] ?? container.labels[COMPOSE_SERVICE] ?? container.name;
  const reason = unsafeRootNameReason(name);
  if (reason)
    return {
      skip: `container ${container.name}: agent name "${name}" is unusable (${reason}); set the ${Labels.name} label`,
    };
  const portLabel = container.labels[Labels.port];
  const port = portLabel === undefined ? DEFAULT_AGENT_PORT : Number(portLabel);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { skip: `container ${container.name}: label ${Labels.port}="${portLabel}" is not a port number` };
  }
  const url = agentUrl(container, self, port);
  if (!url) return { skip: `container ${container.name}: no network address reachable from the controller` };
  const serves = container.labels[Labels.serves];
  return {
    name,
    url,
    provenance: {
      containerId: container.id,
      containerName: serves ?? container.name,
      image: container.image,
    },
  };
}

function agentUrl(container: ContainerSummary, self: ContainerSummary | null, port: number): string | null {
  if (self) {
    const mine = new Set(Object.values(self.networks).map((network) => network.networkId));
    const shared = Object.values(container.networks).find((network) => mine.has(network.networkId));
    if (shared) return `http://${shared.ip}:${port}`;
  } else {
    const published = container.published.find((entry) => entry.containerPort === port);
    if (published) {
      const any = published.hostIp === '' || published.hostIp === '0.0.0.0' || published.hostIp === '::';
      const host = any
        ? '127.0.0.1'
        : published.hostIp.includes(':')
          ? `[${published.hostIp}]`
          : published.hostIp;
      return `http://${host}:${published.hostPort}`;
    }
  }
  const first = Object.values(container.networks)[0];
  return first ? `http://${first.ip}:${port}` : null;
}

/**
 * Keeps the list of running agent containers current: listed at start, then refreshed on every
 * Docker event about them (start, stop, die, restart, destroy, rename). A stopped agent leaves the
 * list, so passes skip it; when it comes back under the same name it is synced where it left off.
 * While following, a container that just started is announced once its agent answers, not at its
 * `start` event, so the pass its arrival starts does not fail on a port that is not open yet.
 * Lives on one event loop.
 */
export class DockerAgentSource implements AgentSource {
  private agents: AgentRef[] = [];
  /** Agents found but not announced yet (`name=url` → since when), waiting for them to answer. */
  private waiting = new Map<string, number>();
  private following = false;
  /** The refresh running or last run: refreshes run one after another, never overlapping. */
  private refreshing: Promise<void> = Promise.resolve();
  private watcher: { close(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly client: DockerClient,
    private readonly logger: Logger,
    private readonly onChange: (agents: AgentRef[]) => void = () => undefined,
    /** Whether an agent answers yet; resolves false rather than throwing. */
    private readonly answers: (agent: AgentRef) => Promise<boolean> = async () => true,
    private readonly clock: Clock = systemClock,
  ) {}

  list(): AgentRef[] {
    return [...this.agents];
  }

  /** Lists the agents once; with `follow`, keeps following Docker events until close(). */
  async start(follow: boolean): Promise<void> {
    this.following = follow;
    await this.refresh();
    if (follow) this.follow();
  }

  /** Lists the containers again and announces any change; waits for a refresh already running. */
  refresh(): Promise<void> {
    const run = this.refreshing.then(() => this.refreshNow());
    this.refreshing = run.catch(() => undefined);
    return run;
  }

  private async refreshNow(): Promise<void> {
    const [containers, self] = await Promise.all([this.client.listAgents(), this.client.self()]);
    const found: AgentRef[] = [];
    for (const container of containers) {
      const agent = agentFromContainer(container, self);
      if ('skip' in agent) this.logger.warn(agent.skip);
      else if (found.some((known) => known.name === agent.name)) {
        this.logger.warn(
          { agent: agent.name, container: container.name },
          'two agent containers share one name; using the first',
        );
      } else found.push(agent);
    }
    const next = await this.answering(found);
    next.sort((a, b) => a.name.localeCompare(b.name));
    const changed = JSON.stringify(next) !== JSON.stringify(this.agents);
    this.agents = next;
    if (changed) {
      this.logger.info(
        { agents: next.map((agent) => `${agent.name}=${agent.url}`) },
        'docker agents changed',
      );
      this.onChange(this.list());
    }
  }

  /**
   * The agents to announce: those already announced, and new ones (or ones at a new address) once
   * they answer or have waited READY_WAIT_MS. The rest are asked again shortly. One-shot commands
   * take every agent found: their run reports one that does not answer.
   */
  private async answering(found: AgentRef[]): Promise<AgentRef[]> {
    if (!this.following) return found;
    const key = (agent: AgentRef): string => `${agent.name}=${agent.url}`;
    const announced = new Set(this.agents.map(key));
    const now = this.clock.now();
    const waiting = new Map<string, number>();
    const ready = await Promise.all(
      found.map(async (agent) => {
        if (announced.has(key(agent))) return true;
        const since = this.waiting.get(key(agent)) ?? now;
        if (now - since >= READY_WAIT_MS || (await this.answers(agent))) return true;
        waiting.set(key(agent), since);
        return false;
      }),
    );
    this.waiting = waiting;
    if (waiting.size > 0) this.scheduleRefresh(READY_RETRY_MS);
    return found.filter((_, index) => ready[index]);
  }

  private follow(): void {
    this.watcher = this.client.watch(
      () => this.scheduleRefresh(REFRESH_DEBOUNCE_MS),
      (err) => {
        if (this.closed) return;
        this.logger.warn({ err }, 'lost the Docker event stream; following again shortly');
        this.watcher?.close();
        setTimeout(() => {
          if (this.closed) return;
          this.follow();
          this.scheduleRefresh(0);
        }, RETRY_MS).unref();
      },
    );
  }

  private scheduleRefresh(delayMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh().catch((err: unknown) => this.logger.warn({ err }, 'cannot list agent containers'));
    }, delayMs);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
  }
}

/** Static agents beside discovered ones; a static entry wins when both use one name. */
export class CombinedAgentSource implements AgentSource {
  constructor(private readonly sources: readonly AgentSource[]) {}

  list(): AgentRef[] {
    const seen = new Set<string>();
    const out: AgentRef[] = [];
    for (const source of this.sources) {
      for (const agent of source.list()) {
        if (seen.has(agent.name)) continue;
        seen.add(agent.name);
        out.push(agent);
      }
    }
    return out;
  }
}
