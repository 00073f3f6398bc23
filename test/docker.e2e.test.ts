// Docker end to end: the controller in its image finding agent sidecars by label, restarts and recreations, a host-side purge, compose.yaml, and the images themselves.
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StartedNetwork, StartedTestContainer } from 'testcontainers';
import { Wait } from 'testcontainers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AgentPurgeResult, AgentSyncResult, PurgeSummary } from '../common/run-results.js';
import {
  AGENT_IMAGE,
  AGENT_PORT,
  CONTROLLER_IMAGE,
  CONTROLLER_PORT,
  DockerScope,
  LocalContainer,
  agentContainer,
  catalogFiles,
  composeCommand,
  containerDigest,
  containerLogs,
  containerOwners,
  controllerContainer,
  controllerStatus,
  describeDocker,
  docker,
  dockerSkipReason,
  exitCode,
  generatorContainer,
  inspect,
  listFiles,
  publishedHostIps,
  putIntoContainer,
  run,
  waitUntil,
} from './helpers/docker.js';
import { treeDigest } from './helpers/files.js';
import { PURGE_TOKEN, REPO, TOKEN, freePort, runCli, syncJson } from './helpers/processes.js';

const skip = await dockerSkipReason();
const compose = skip ? null : await composeCommand();
const composeSkip = skip ?? (compose ? null : 'neither docker-compose nor `docker compose` is installed');

/** A digest map as a plain object with sorted keys, so two compare (and print) as one. */
const sorted = (digest: Map<string, string>): Record<string, string> =>
  Object.fromEntries([...digest].sort(([a], [b]) => a.localeCompare(b)));

/** The last pass over one agent, as the controller reports it. */
async function lastPass(port: number, agent: string): Promise<AgentSyncResult | null | undefined> {
  return (await controllerStatus(port)).agents.find((entry) => entry.name === agent)?.last;
}

/** The size of the largest file in a folder (0 for none): a temp file being written. */
async function largestFile(dir: string): Promise<number> {
  const sizes = await Promise.all(
    (await readdir(dir)).map((name) =>
      stat(join(dir, name)).then(
        (entry) => entry.size,
        () => 0,
      ),
    ),
  );
  return Math.max(0, ...sizes);
}

/** Why passes over `agent` failed, from the controller's log. */
async function failedPasses(controllerId: string, agent: string): Promise<string[]> {
  return (await containerLogs(controllerId))
    .split('\n')
    .filter((line) => line.includes(`"agent":"${agent}"`) && line.includes('"msg":"sync of agent failed"'))
    .map((line) => (JSON.parse(line) as { err?: { message?: string } }).err?.message ?? line);
}

/** Waits until the host holds `count` files of `agent` and returns their digest. */
function storedDigest(data: string, agent: string, count: number, timeoutMs = 60_000) {
  let seen = 0;
  return waitUntil(
    `${count} files of ${agent} on the host`,
    async () => {
      seen = (await listFiles(join(data, agent))).length;
      return seen === count ? treeDigest(join(data, agent)) : undefined;
    },
    { timeoutMs, seen: () => `${seen} files` },
  );
}

describeDocker('the controller in its container, agents found by label', skip, () => {
  const scope = new DockerScope();
  const gpu1 = `gpu1-${scope.id}`;
  const gpu2 = `gpu2-${scope.id}`;
  const big = `big-${scope.id}`;
  let data: string;
  let network: StartedNetwork;
  let output1: string;
  let generator1: StartedTestContainer;
  let agent1: StartedTestContainer;
  let controller: StartedTestContainer;
  let port: number;

  beforeAll(async () => {
    data = await scope.tempDir();
    network = await scope.network();
    output1 = await scope.volume();
    generator1 = await scope.start(generatorContainer(output1, '--bursts 3 --per-burst 4 --every 2s'));
    agent1 = await scope.start(agentContainer({ name: gpu1, output: output1, network }));
    controller = await scope.start(
      controllerContainer({ data, network, env: { FORGE_SYNC_INTERVAL: '2s' } }),
    );
    port = controller.getMappedPort(CONTROLLER_PORT);
  });
  afterAll(() => scope[Symbol.asyncDispose]());

  it('syncs what a generator writes in bursts into the host folder, byte for byte', async () => {
    expect(await publishedHostIps(controller.getId())).toEqual(['127.0.0.1']);
    expect(await exitCode(generator1.getId())).toBe(0);
    const expected = await containerDigest(agent1.getId(), '/output');
    expect(expected.size).toBe(12);
    expect(sorted(await storedDigest(data, gpu1, 12))).toEqual(sorted(expected));
    // Found on the shared network: the URL is the agent's address there, not a published port.
    const ip = (await inspect(agent1.getId())).NetworkSettings.Networks[network.getName()]!.IPAddress;
    const status = await controllerStatus(port);
    expect(status.agents.find((agent) => agent.name === gpu1)?.url).toBe(`http://${ip}:${AGENT_PORT}`);
  });

  it('picks up a second generator and agent started mid-run, without a restart', async () => {
    const before = (await inspect(controller.getId())).State.StartedAt;
    const output2 = await scope.volume();
    const generator2 = await scope.start(
      generatorContainer(output2, '--bursts 2 --per-burst 3 --every 1s --prefix Forge'),
    );
    const agent2 = await scope.start(agentContainer({ name: gpu2, output: output2, network }));
    await waitUntil(
      `${gpu2} in the controller's status`,
      async () => (await controllerStatus(port)).agents.some((agent) => agent.name === gpu2) || undefined,
    );
    expect(await exitCode(generator2.getId())).toBe(0);
    const expected = await containerDigest(agent2.getId(), '/output');
    expect(expected.size).toBe(6);
    expect(sorted(await storedDigest(data, gpu2, 6))).toEqual(sorted(expected));
    const after = (await inspect(controller.getId())).State;
    expect(after.StartedAt).toBe(before);
    expect(after.Running).toBe(true);
    // Announced once it listens, so its first pass did not fail on a port not open yet.
    expect(await failedPasses(controller.getId(), gpu2)).toEqual([]);
  });

  it(
    'loses and duplicates nothing when the agent restarts mid-transfer, and completes',
    { timeout: 150_000 },
    async () => {
      // 30 × 20 MB written before the agent starts, so they go in one long pass.
      const output = await scope.tempDir();
      await scope.start(
        generatorContainer(output, '--bursts 1 --per-burst 30 --bytes 20000000 --prefix Big')
          .withWaitStrategy(Wait.forOneShotStartup())
          .withStartupTimeout(90_000),
      );
      const expected = await treeDigest(output);
      expect(expected.size).toBe(30);
      const agent = await scope.start(agentContainer({ name: big, output, network }));

      // A transfer in flight: a temp file with bytes in it while not all 30 are stored.
      const tmp = join(data, '.forge-sync/tmp');
      let stored = 0;
      await waitUntil(
        `a transfer from ${big} in flight`,
        async () => {
          stored = (await listFiles(join(data, big))).length;
          expect(stored, 'the pass ended before the agent could be restarted').toBeLessThan(30);
          return (await largestFile(tmp)) > 1024 * 1024 || undefined;
        },
        { timeoutMs: 90_000, everyMs: 20, seen: () => `${stored} stored, no temp file yet` },
      );
      const startedAt = (await inspect(agent.getId())).State.StartedAt;
      await docker.getContainer(agent.getId()).restart({ t: 2 });
      expect((await inspect(agent.getId())).State.StartedAt).not.toBe(startedAt);

      // Done when a pass finds all 30 stored and has nothing to pull. The wait is long because an
      // archive stream has no idle timeout: when the agent dies with data still in its send queue,
      // no FIN reaches the controller, and the pass stalls until TCP keepalive (about 60 s) finds the
      // connection dead.
      const last = await waitUntil(
        `a pass over ${big} that finds all 30 stored`,
        async () => {
          const pass = await lastPass(port, big);
          return pass?.ok && pass.filesUnchanged === 30 ? pass : undefined;
        },
        { timeoutMs: 120_000, everyMs: 500, seen: () => `${stored} stored` },
      );
      expect(last).toMatchObject({ filesTransferred: 0, filesPending: 0, errors: 0 });
      // The restart did cut a pass short: the stream broke, or (when the dying container's FIN was lost)
      // the controller gave the silent connection up.
      expect(await failedPasses(controller.getId(), big)).toContainEqual(
        expect.stringMatching(/archive stream failed|sent nothing for 60 s/),
      );

      // Every file stored exactly once, whole, under its own name; no versioned copies, no temp files.
      expect(sorted(await treeDigest(join(data, big)))).toEqual(
        sorted(new Map([...expected].map(([path, sha]) => [`output/${path}`, sha]))),
      );
      expect(await readdir(tmp)).toEqual([]);
      const records = await catalogFiles(port, big);
      expect(records).toHaveLength(30);
      expect(new Set(records.map((record) => record.containerPath)).size).toBe(30);
      expect(records.filter((record) => record.storedPath !== `${big}/${record.containerPath}`)).toEqual([]);
    },
  );

  it("reports healthy through the images' own HEALTHCHECK, and bakes no token into them", async () => {
    for (const image of [AGENT_IMAGE, CONTROLLER_IMAGE]) {
      const config = (await docker.getImage(image).inspect()).Config;
      expect(config.Healthcheck?.Test, image).toEqual(['CMD', 'node', '/app/healthcheck.js']);
      expect(
        (config.Env ?? []).filter((entry) => /^FORGE_SYNC_(PURGE_)?TOKEN/.test(entry)),
        image,
      ).toEqual([]);
    }
    // The images probe every 30 s, the first time 30 s after start: by now, or soon, both have been.
    for (const container of [agent1, controller]) {
      await waitUntil(
        `${container.getName()} to be healthy`,
        async () =>
          (await inspect(container.getId())).State.Health?.Status === 'healthy' ? true : undefined,
        { timeoutMs: 75_000, everyMs: 500 },
      );
    }
  });

  it('does not pull again from a recreated agent container', async () => {
    const before = await treeDigest(join(data, gpu1));
    const inodes = async () =>
      Promise.all([...before.keys()].map(async (rel) => (await stat(join(data, gpu1, rel))).ino));
    const inodesBefore = await inodes();
    const name = agent1.getName();
    await docker.getContainer(agent1.getId()).remove({ force: true });
    const recreatedAt = new Date().toISOString();
    // Same name, same labels, same volume: a `docker compose up` after an image update.
    agent1 = await scope.start(agentContainer({ name: gpu1, output: output1, network }));
    expect(agent1.getName()).toBe(name);
    const next = await waitUntil(`a pass over the recreated ${gpu1}`, async () => {
      const pass = await lastPass(port, gpu1);
      return pass?.ok && pass.startedAt > recreatedAt ? pass : undefined;
    });
    expect(next).toMatchObject({ filesTransferred: 0, bytesTransferred: 0, filesUnchanged: 12, errors: 0 });
    expect(sorted(await treeDigest(join(data, gpu1)))).toEqual(sorted(before));
    expect(await inodes()).toEqual(inodesBefore);
    expect(await catalogFiles(port, gpu1)).toHaveLength(12);
  });

  it('makes real thumbnails in its container, with the sharp it ships', async () => {
    // A real PNG among the generator's, in the agent's volume: drawing it needs sharp's prebuilt libvips in the image.
    const body = await readFile(
      join(REPO, 'test/fixtures/sd-parsers/AUTOMATIC1111/automatic1111_cropped.png'),
    );
    await putIntoContainer(agent1.getId(), '/output', [
      { name: 'real/00000-235284042.png', body, mtime: new Date(Date.now() - 3_600_000) },
    ]);
    let listed: string[] = [];
    const page = await waitUntil(
      'the real PNG catalogued',
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/v1/files?agent=${gpu1}&limit=100`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const found = (await response.json()) as { items: { id: number; containerPath: string }[] };
        listed = found.items.map((item) => item.containerPath);
        return found.items.find((item) => item.containerPath.endsWith('real/00000-235284042.png'));
      },
      { timeoutMs: 40_000, seen: () => listed },
    );
    const response = await fetch(`http://127.0.0.1:${port}/v1/files/${page.id}/thumbnail?size=256`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    expect(response.headers.get('x-forge-sync-placeholder')).toBeNull();
    const thumb = Buffer.from(await response.arrayBuffer());
    expect(thumb.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(thumb.subarray(8, 12).toString('latin1')).toBe('WEBP');
  });
});

describeDocker('a purge from the host, against an agent running as uid 1000', skip, () => {
  const scope = new DockerScope();
  const name = `purge-${scope.id}`;
  let dest: string;
  let output: string;
  let agent: StartedTestContainer;
  let url: string;

  beforeAll(async () => {
    dest = await scope.tempDir();
    output = await scope.volume();
    // A fresh volume belongs to root; the generator (ai-dock style) runs as 1000 and owns its outputs.
    await scope.start(
      new LocalContainer(AGENT_IMAGE)
        .withoutHealthCheck()
        .withNetworkMode('none')
        .withUser('0:0')
        .withBindMounts([{ source: output, target: '/output' }])
        .withCommand(['node', '-e', "require('node:fs').chownSync('/output', 1000, 1000)"])
        .withWaitStrategy(Wait.forOneShotStartup()),
    );
    await scope.start(
      generatorContainer(output, '--bursts 1 --per-burst 4 --prefix First')
        .withUser('1000:1000')
        .withWaitStrategy(Wait.forOneShotStartup()),
    );
    agent = await scope.start(
      agentContainer({
        name,
        output,
        user: '1000:1000',
        publish: true,
        env: { FORGE_SYNC_MIN_PURGE_AGE: '1s' },
      }),
    );
    url = `http://127.0.0.1:${agent.getMappedPort(AGENT_PORT)}`;
  });
  afterAll(() => scope[Symbol.asyncDispose]());

  it('runs the agent image as the given uid, serving files that uid wrote', async () => {
    expect(await publishedHostIps(agent.getId())).toEqual(['127.0.0.1']);
    const uid = await agent.exec(['node', '-e', 'process.stdout.write(String(process.getuid()))']);
    expect(uid.stdout).toBe('1000');
    expect(new Set((await containerOwners(agent.getId(), '/output')).values())).toEqual(new Set([1000]));
    const result = await syncJson(dest, { [name]: url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.summary!.totals).toMatchObject({ filesTransferred: 4, errors: 0 });
    expect(sorted(await treeDigest(join(dest, name)))).toEqual(
      sorted(await containerDigest(agent.getId(), '/output')),
    );
  });

  it('removes from the volume only what is stored on the host', async () => {
    const stored = await treeDigest(join(dest, name));
    expect(stored.size).toBe(4);
    // Outputs made after the sync: not stored, so they must stay.
    await scope.start(
      generatorContainer(output, '--bursts 1 --per-burst 3 --prefix Second')
        .withUser('1000:1000')
        .withWaitStrategy(Wait.forOneShotStartup()),
    );
    const fresh = await containerDigest(agent.getId(), '/output');
    for (const path of stored.keys()) fresh.delete(path);
    expect(fresh.size).toBe(3);

    // Found by its label through the published port. Each file must be older than 1 s for both the
    // controller and the agent's floor, and the new ones settled, so this runs until both hold.
    const purged = new Set<string>();
    let last: AgentPurgeResult | undefined;
    await waitUntil(
      'a purge that has removed the 4 stored files and kept the 3 new ones',
      async () => {
        const result = await runCli(['purge', '--docker', '--dest', dest, '--older-than', '1s', '--json'], {
          FORGE_SYNC_NO_DOCKER: '',
        });
        const summary = JSON.parse(result.stdout) as PurgeSummary;
        last = summary.agents.find((entry) => entry.name === name);
        expect(last, `${name} was not discovered: ${result.stderr}`).toBeDefined();
        expect(last!.ok, result.stderr).toBe(true);
        // From the host, through the port published on 127.0.0.1 (not the container's IP).
        expect(result.stderr).toContain(`"${name}=${url}"`);
        for (const path of last!.purged) purged.add(path);
        return purged.size === 4 && last!.kept['not-synced'] === 3 ? true : undefined;
      },
      { timeoutMs: 30_000, everyMs: 500, seen: () => ({ purged: [...purged], kept: last?.kept }) },
    );
    expect([...purged].sort()).toEqual([...stored.keys()].sort());
    expect(sorted(await containerDigest(agent.getId(), '/output'))).toEqual(sorted(fresh));
    expect(sorted(await treeDigest(join(dest, name)))).toEqual(sorted(stored));
  });
});

describeDocker('compose.yaml', composeSkip, () => {
  const scope = new DockerScope();
  const project = `fms${scope.id}`;
  let envFile: string;
  let hostDest: string;
  let controllerPort: number;
  const composeRun = (args: string[], file = envFile) =>
    run(
      compose![0]!,
      [...compose!.slice(1), '-p', project, '--env-file', file, '-f', 'compose.yaml', ...args],
      {},
    );

  beforeAll(async () => {
    const dir = await scope.tempDir();
    hostDest = join(dir, 'synced');
    controllerPort = await freePort();
    // The README's flow: copy .env.example, then change what needs changing.
    const settings: Record<string, string> = {
      FORGE_SYNC_TOKEN: TOKEN,
      FORGE_SYNC_PURGE_TOKEN: PURGE_TOKEN,
      FORGE_SYNC_SETTLE: '1s',
      FORGE_SYNC_INTERVAL: '2s',
      FORGE_SYNC_HOST_DEST: hostDest,
      FORGE_SYNC_CONTROLLER_PORT: String(controllerPort),
    };
    const example = await readFile(join(REPO, '.env.example'), 'utf8');
    const lines = example.split('\n').map((line) => {
      const key = /^([A-Z_]+)=/.exec(line)?.[1];
      return key && key in settings ? `${key}=${settings[key]}` : line;
    });
    for (const key of Object.keys(settings)) {
      expect(lines, `.env.example has no ${key}`).toContain(`${key}=${settings[key]}`);
    }
    envFile = join(dir, 'test.env');
    await writeFile(envFile, lines.join('\n'));
    await writeFile(
      join(dir, 'no-token.env'),
      lines.filter((line) => !line.startsWith('FORGE_SYNC_TOKEN=')).join('\n'),
    );
  });
  afterAll(() => scope[Symbol.asyncDispose]());

  it('passes `config` with an env file made from .env.example, and refuses one without a token', async () => {
    const ok = await composeRun(['config']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(hostDest);
    expect(ok.stdout).toContain(`${controllerPort}`);
    const refused = await composeRun(['config'], envFile.replace(/test\.env$/, 'no-token.env'));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('copy .env.example');
  });

  it(
    'comes up, finds the agent by its label and syncs into the host folder',
    { timeout: 120_000 },
    async () => {
      scope.defer(async () => {
        const down = await composeRun(['down', '-v', '--remove-orphans', '-t', '1']);
        if (down.code !== 0) throw new Error(`docker-compose down failed: ${down.stderr}`);
      });
      const up = await composeRun(['up', '-d']);
      expect(up.code, up.stderr).toBe(0);
      const containers = await docker.listContainers({
        filters: { label: [`com.docker.compose.project=${project}`] },
      });
      const byService = (service: string) =>
        containers.find((info) => info.Labels['com.docker.compose.service'] === service)!;
      expect(await publishedHostIps(byService('controller').Id)).toEqual(['127.0.0.1']);

      const files = await waitUntil(
        'the first burst under the host folder',
        async () => {
          const found = await listFiles(join(hostDest, 'comfyui'));
          return found.length >= 3 ? found : undefined;
        },
        { timeoutMs: 60_000 },
      );
      const inVolume = await containerDigest(byService('agent').Id, '/output');
      const stored = await treeDigest(join(hostDest, 'comfyui'));
      expect(stored.size).toBe(files.length);
      for (const [path, sha] of stored) expect(inVolume.get(path), path).toBe(sha);
      const status = await controllerStatus(controllerPort);
      expect(status.agents.map((agent) => agent.name)).toContain('comfyui');
    },
  );
});
