// The Docker edge: the few Engine API calls discovery needs, behind an interface, implemented with dockerode.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import Docker from 'dockerode';
import { AppError } from '../../../common/errors.js';
import { Labels } from '../../../common/labels.js';
import { DEFAULT_DOCKER_SOCKET } from '../../config/docker-socket.js';

/** What discovery needs to know about one container. */
export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: string;
  labels: Record<string, string>;
  /** Network name → the container's IP and aliases on it. */
  networks: Record<string, { ip: string; networkId: string }>;
  /** Published TCP ports: container port → host address and port. */
  published: { containerPort: number; hostIp: string; hostPort: number }[];
}

/**
 * The Docker Engine, as far as forge-sync uses it. One client belongs to the controller process;
 * calls may overlap. It only reads: nothing here starts, stops or changes a container.
 */
export interface DockerClient {
  /** Running containers labelled as forge-sync agents. */
  listAgents(): Promise<ContainerSummary[]>;
  /** The container this process runs in, or null when it runs on the host. */
  self(): Promise<ContainerSummary | null>;
  /** Calls `onChange` after any start, stop, restart, destroy or rename of an agent container. */
  watch(onChange: () => void, onError: (err: Error) => void): { close(): void };
}

function summarize(info: Docker.ContainerInfo): ContainerSummary {
  const networks: ContainerSummary['networks'] = {};
  for (const [name, network] of Object.entries(info.NetworkSettings?.Networks ?? {})) {
    if (network.IPAddress) networks[name] = { ip: network.IPAddress, networkId: network.NetworkID };
  }
  return {
    id: info.Id,
    name: (info.Names[0] ?? info.Id).replace(/^\//, ''),
    image: info.Image,
    state: info.State,
    labels: info.Labels ?? {},
    networks,
    published: (info.Ports ?? [])
      .filter((port) => port.Type === 'tcp' && port.PublicPort)
      .map((port) => ({ containerPort: port.PrivatePort, hostIp: port.IP ?? '', hostPort: port.PublicPort })),
  };
}

export class DockerodeClient implements DockerClient {
  private readonly docker: Docker;

  constructor(options: { socketPath?: string } = {}) {
    this.docker =
      process.env.DOCKER_HOST && !options.socketPath
        ? new Docker()
        : new Docker({ socketPath: options.socketPath ?? DEFAULT_DOCKER_SOCKET });
  }

  async listAgents(): Promise<ContainerSummary[]> {
    try {
      const list = await this.docker.listContainers({
        filters: { label: [`${Labels.agent}=true`], status: ['running'] },
      });
      return list.map(summarize);
    } catch (err) {
      throw new AppError(
        'E_DOCKER',
        `cannot list containers from the Docker Engine: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async self(): Promise<ContainerSummary | null> {
    if (!existsSync('/.dockerenv')) return null;
    try {
      const list = await this.docker.listContainers({ filters: { id: [hostname()] } });
      return list[0] ? summarize(list[0]) : null;
    } catch {
      return null;
    }
  }

  watch(onChange: () => void, onError: (err: Error) => void): { close(): void } {
    let stream: NodeJS.ReadableStream | undefined;
    let closed = false;
    this.docker
      .getEvents({ filters: { type: ['container'], label: [`${Labels.agent}=true`] } })
      .then((events) => {
        stream = events;
        if (closed) return (events as unknown as { destroy?: () => void }).destroy?.();
        events.on('data', () => onChange());
        events.on('error', (err: Error) => onError(err));
        events.on('end', () => !closed && onError(new Error('the Docker event stream ended')));
      })
      .catch((err: Error) => onError(err));
    return {
      close: () => {
        closed = true;
        (stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
      },
    };
  }
}
