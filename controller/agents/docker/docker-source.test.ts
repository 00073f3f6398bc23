// DockerAgentSource: a container that just started is announced once its agent answers; one-shot lists take all.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentRef } from '../agent-source.js';
import type { ContainerSummary, DockerClient } from './docker-client.js';
import { DockerAgentSource } from './docker-source.js';

const logger = pino({ level: 'silent' });

function container(name: string, ip: string): ContainerSummary {
  return {
    id: `${name}-id`,
    name,
    image: 'forge-media-sync/agent:dev',
    state: 'running',
    labels: { 'forge-sync.agent': 'true' },
    networks: { bridge: { ip, networkId: 'n1' } },
    published: [],
  };
}

class FakeDocker implements DockerClient {
  containers: ContainerSummary[] = [];
  async listAgents(): Promise<ContainerSummary[]> {
    return this.containers;
  }
  async self(): Promise<ContainerSummary | null> {
    return null;
  }
  watch(): { close(): void } {
    return { close: () => undefined };
  }
}

describe('DockerAgentSource', () => {
  const sources: DockerAgentSource[] = [];
  afterEach(() => sources.splice(0).forEach((source) => source.close()));

  function setUp() {
    const docker = new FakeDocker();
    const clock = { ms: 0, now: () => clock.ms };
    const answering = new Set<string>();
    const asked: string[] = [];
    const changes: string[][] = [];
    const source = new DockerAgentSource(
      docker,
      logger,
      (agents) => changes.push(agents.map((agent) => agent.name)),
      async (agent: AgentRef) => {
        asked.push(agent.name);
        return answering.has(agent.url);
      },
      clock,
    );
    sources.push(source);
    return { docker, clock, answering, asked, changes, source };
  }

  it('announces a new container once its agent answers, and asks no more after that', async () => {
    const { docker, answering, asked, changes, source } = setUp();
    docker.containers = [container('gpu1', '172.18.0.2')];
    await source.start(true);
    expect(source.list()).toEqual([]);
    expect(changes).toEqual([]);
    answering.add('http://172.18.0.2:8484');
    await source.refresh();
    expect(source.list().map((agent) => agent.name)).toEqual(['gpu1']);
    expect(changes).toEqual([['gpu1']]);
    await source.refresh();
    expect(asked).toEqual(['gpu1', 'gpu1']);
  });

  it('asks again when a restarted container comes back at a new address', async () => {
    const { docker, answering, changes, source } = setUp();
    docker.containers = [container('gpu1', '172.18.0.2')];
    answering.add('http://172.18.0.2:8484');
    await source.start(true);
    docker.containers = [container('gpu1', '172.18.0.3')];
    await source.refresh();
    expect(changes).toEqual([['gpu1'], []]);
    answering.add('http://172.18.0.3:8484');
    await source.refresh();
    expect(source.list()[0]?.url).toBe('http://172.18.0.3:8484');
  });

  it('announces one that never answers after 30 s, so its passes say what is wrong', async () => {
    const { docker, clock, source } = setUp();
    docker.containers = [container('gpu1', '172.18.0.2')];
    await source.start(true);
    clock.ms = 29_999;
    await source.refresh();
    expect(source.list()).toEqual([]);
    clock.ms = 30_000;
    await source.refresh();
    expect(source.list().map((agent) => agent.name)).toEqual(['gpu1']);
  });

  it('lists every container found for a one-shot command, without asking', async () => {
    const { docker, asked, source } = setUp();
    docker.containers = [container('gpu2', '172.18.0.3'), container('gpu1', '172.18.0.2')];
    await source.start(false);
    expect(source.list().map((agent) => agent.name)).toEqual(['gpu1', 'gpu2']);
    expect(asked).toEqual([]);
  });
});
