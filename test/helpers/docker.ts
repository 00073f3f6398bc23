// Docker for the tests: skip-or-fail without an engine or the images, containers published on 127.0.0.1 only, and a scope that removes all a suite made.
import { waitUntil } from './wait.js';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import {
  GenericContainer,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from 'testcontainers';
import tar from 'tar-stream';
import { describe, it } from 'vitest';
import type { ControllerStatus } from '../../common/run-results.js';
import { buildTar } from '../fixtures/tars.js';
import { PURGE_TOKEN, REPO, type RunResult, TOKEN } from './processes.js';

export const AGENT_IMAGE = 'forge-media-sync/agent:dev';
export const CONTROLLER_IMAGE = 'forge-media-sync/controller:dev';
export const AGENT_PORT = 8484;
export const CONTROLLER_PORT = 8485;

// Ryuk, testcontainers' reaper, is an image that cannot be pulled where no registry is reachable.
// These tests remove what they make themselves (DockerScope), so it is off unless asked for.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/** The engine of DOCKER_HOST, else the local socket: for what testcontainers does not do (volumes, restarts, inspect). */
export const docker = new Docker();

/** The engine's socket on this machine, which the controller container gets mounted read-only. */
const DOCKER_SOCKET = process.env.DOCKER_HOST?.startsWith('unix://')
  ? process.env.DOCKER_HOST.slice('unix://'.length)
  : '/var/run/docker.sock';

const BUILD =
  'start a Docker engine, then build the images: `bash scripts/node-base-image.sh && ' +
  'NODE_IMAGE=forge-media-sync/node-base:local npm run images` (see .ci/run)';

/** Why the Docker tests cannot run here, or null when an engine answers and both images exist. */
export async function dockerSkipReason(): Promise<string | null> {
  const probe = new Docker({ timeout: 5_000 });
  try {
    await probe.ping();
  } catch (err) {
    return `no Docker engine is reachable (${(err as Error).message}); ${BUILD}`;
  }
  const missing: string[] = [];
  for (const image of [AGENT_IMAGE, CONTROLLER_IMAGE]) {
    await probe
      .getImage(image)
      .inspect()
      .catch(() => missing.push(image));
  }
  return missing.length > 0 ? `image ${missing.join(' and ')} not built; ${BUILD}` : null;
}

/** How to run Compose here: the classic `docker-compose`, else the `docker compose` plugin; null for neither. */
export async function composeCommand(): Promise<string[] | null> {
  for (const command of [['docker-compose'], ['docker', 'compose']]) {
    const result = await run(command[0]!, [...command.slice(1), 'version'], {}).catch(() => null);
    if (result?.code === 0) return command;
  }
  return null;
}

/**
 * `describe` for suites that need Docker. With a reason to skip, the suite is skipped and its name
 * says why; under CI=true it fails instead, because CI starts an engine and builds the images, and
 * a skip there would hide a broken set-up.
 */
export function describeDocker(name: string, skipReason: string | null, suite: () => void): void {
  if (!skipReason) describe(name, suite);
  else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has a Docker engine and the images to run against', () => {
        throw new Error(`${skipReason}; CI=true makes that a failure, not a skip`);
      });
    });
  } else describe.skip(`${name} [skipped: ${skipReason}]`, suite);
}

/**
 * A GenericContainer whose exposed ports are published on 127.0.0.1 only: testcontainers asks for
 * no host address, which Docker takes as every interface, and nothing here is meant for the network.
 */
export class LocalContainer extends GenericContainer {
  protected override async beforeContainerCreated(): Promise<void> {
    for (const bindings of Object.values(this.hostConfig.PortBindings ?? {}) as { HostIp?: string }[][]) {
      for (const binding of bindings) binding.HostIp = '127.0.0.1';
    }
  }

  /** Turns off the image's HEALTHCHECK (testcontainers' HealthCheck type cannot say NONE). */
  withoutHealthCheck(): this {
    this.createOpts.Healthcheck = { Test: ['NONE'] };
    return this;
  }
}

/**
 * What one suite made in Docker and on disk. Dispose removes it all, even after a failure half-way:
 * its own deferred steps first (newest first, e.g. `compose down`), then every container carrying
 * the scope's label (so also one whose start failed after it was created), then networks, volumes
 * and temp folders. Used from one suite at a time; calls need not overlap.
 */
export class DockerScope implements AsyncDisposable {
  readonly id = randomBytes(3).toString('hex');
  private readonly label = { 'forge-sync.test-scope': this.id };
  private readonly deferred: (() => Promise<unknown>)[] = [];
  private readonly networks: StartedNetwork[] = [];
  private readonly dirs: string[] = [];

  /** Starts a container labelled as this scope's. */
  start(container: GenericContainer): Promise<StartedTestContainer> {
    return container.withLabels(this.label).start();
  }

  async network(): Promise<StartedNetwork> {
    const network = await new Network().start();
    this.networks.push(network);
    return network;
  }

  /** A named volume; returns its name, usable as a bind-mount source. */
  async volume(): Promise<string> {
    const name = `fms-${this.id}-${randomBytes(3).toString('hex')}`;
    await docker.createVolume({ Name: name, Labels: this.label });
    return name;
  }

  async tempDir(prefix = 'fms-docker-'): Promise<string> {
    const path = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(path);
    return path;
  }

  defer(cleanup: () => Promise<unknown>): void {
    this.deferred.push(cleanup);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (step: () => Promise<unknown>): Promise<void> => {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    };
    for (const step of this.deferred.reverse()) await attempt(step);
    const filters = { label: [`forge-sync.test-scope=${this.id}`] };
    await attempt(async () => {
      for (const info of await docker.listContainers({ all: true, filters })) {
        await removeContainer(info.Id);
      }
    });
    for (const network of this.networks) await attempt(() => network.stop());
    await attempt(async () => {
      for (const volume of (await docker.listVolumes({ filters })).Volumes ?? []) {
        await docker.getVolume(volume.Name).remove();
      }
    });
    for (const dir of this.dirs) await attempt(() => removeHostDir(dir));
    if (errors.length > 0) throw new AggregateError(errors, `cleanup of Docker scope ${this.id} failed`);
  }
}

/** Removes a container with its anonymous volumes, whatever its state; one already gone is fine. */
export async function removeContainer(id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

/**
 * Removes a temp folder that containers wrote into. Their files belong to root, so when this process
 * is not root, a root container empties it first.
 */
export async function removeHostDir(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
  }
  const script =
    "const fs = require('node:fs'); for (const n of fs.readdirSync('/d')) fs.rmSync('/d/' + n, { recursive: true, force: true });";
  const cleaner = await new LocalContainer(AGENT_IMAGE)
    .withoutHealthCheck()
    .withUser('0:0')
    .withNetworkMode('none')
    .withBindMounts([{ source: path, target: '/d' }])
    .withCommand(['node', '-e', script])
    .withWaitStrategy(Wait.forOneShotStartup())
    .start();
  await removeContainer(cleaner.getId());
  await rm(path, { recursive: true, force: true });
}

/**
 * The stand-in generator writing PNGs into `output` (a volume name or host folder) at /output, with
 * fake-generator's `flags` (like `--bursts 3 --per-burst 4`). No network, no healthcheck.
 */
export function generatorContainer(output: string, flags: string): LocalContainer {
  return new LocalContainer(AGENT_IMAGE)
    .withoutHealthCheck()
    .withCommand(['node', '/app/fake-generator.js', '/output', ...flags.split(/\s+/).filter(Boolean)])
    .withBindMounts([{ source: output, target: '/output' }])
    .withNetworkMode('none');
}

/**
 * An agent sidecar serving `output` at /output, labelled so discovery finds it under `name`. The
 * container is named after the agent, so a recreated one has the same name. `publish` publishes its
 * port on 127.0.0.1.
 */
export function agentContainer(options: {
  name: string;
  output: string;
  network?: StartedNetwork;
  env?: Record<string, string>;
  user?: string;
  publish?: boolean;
}): GenericContainer {
  const container = new LocalContainer(AGENT_IMAGE)
    .withName(`fms-${options.name}`)
    .withLabels({ 'forge-sync.agent': 'true', 'forge-sync.name': options.name })
    .withBindMounts([{ source: options.output, target: '/output' }])
    .withEnvironment({
      FORGE_SYNC_TOKEN: TOKEN,
      FORGE_SYNC_PURGE_TOKEN: PURGE_TOKEN,
      FORGE_SYNC_SETTLE: '1s',
      ...options.env,
    })
    .withWaitStrategy(Wait.forLogMessage(/"msg":"agent listening"/))
    .withStartupTimeout(30_000);
  if (options.network) container.withNetwork(options.network);
  if (options.user) container.withUser(options.user);
  if (options.publish) container.withExposedPorts(AGENT_PORT);
  return container;
}

/**
 * The controller in its image: the Docker socket read-only for discovery, `data` (a host folder) at
 * /data, its API published on 127.0.0.1.
 */
export function controllerContainer(options: {
  data: string;
  network: StartedNetwork;
  env?: Record<string, string>;
}): GenericContainer {
  return new LocalContainer(CONTROLLER_IMAGE)
    .withNetwork(options.network)
    .withBindMounts([
      { source: DOCKER_SOCKET, target: '/var/run/docker.sock', mode: 'ro' },
      { source: options.data, target: '/data' },
    ])
    .withEnvironment({
      FORGE_SYNC_TOKEN: TOKEN,
      FORGE_SYNC_PURGE_TOKEN: PURGE_TOKEN,
      FORGE_SYNC_DOCKER: 'true',
      ...options.env,
    })
    .withExposedPorts(CONTROLLER_PORT)
    .withWaitStrategy(Wait.forLogMessage(/"msg":"controller listening"/))
    .withStartupTimeout(60_000);
}

export function inspect(id: string): Promise<Docker.ContainerInspectInfo> {
  return docker.getContainer(id).inspect();
}

/** Every host address a container's ports are published on. */
export async function publishedHostIps(id: string): Promise<string[]> {
  const ports = (await inspect(id)).NetworkSettings.Ports ?? {};
  return Object.values(ports).flatMap((bindings) => (bindings ?? []).map((binding) => binding.HostIp));
}

/** Waits for a container to exit and returns its exit code. */
export function exitCode(id: string, timeoutMs = 60_000): Promise<number> {
  return waitUntil(
    `container ${id.slice(0, 12)} to exit`,
    async () => {
      const state = (await inspect(id)).State;
      return state.Status === 'exited' ? state.ExitCode : undefined;
    },
    { timeoutMs },
  );
}

/** The container's log, stdout and stderr together. */
export async function containerLogs(id: string): Promise<string> {
  const buffer = (await docker.getContainer(id).logs({ stdout: true, stderr: true })) as Buffer;
  return demux(buffer);
}

/** Strips Docker's 8-byte stream headers from a non-TTY log. */
function demux(buffer: Buffer): string {
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(at + 4);
    parts.push(buffer.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Path (relative to the folder's parent, like the stored `<root name>/<path>`) → sha256 of every
 * regular file under `path` inside a container, read out through the Docker API as a tar.
 * Hidden files are left out: a generator's half-written `.name.tmp`.
 */
export async function containerDigest(id: string, path: string): Promise<Map<string, string>> {
  const archive = await docker.getContainer(id).getArchive({ path });
  const extract = tar.extract();
  archive.pipe(extract);
  const out = new Map<string, string>();
  for await (const raw of extract as AsyncIterable<unknown>) {
    const entry = raw as AsyncIterable<Buffer> & { header: tar.Header; resume(): void };
    const hash = createHash('sha256');
    for await (const chunk of entry) hash.update(chunk);
    const name = entry.header.name.replace(/\/$/, '');
    if (entry.header.type === 'file' && !name.split('/').some((part) => part.startsWith('.'))) {
      out.set(name, hash.digest('hex'));
    }
  }
  return out;
}

/** Writes files into a folder of a running container (its volume), as a tar through the Docker API. */
export async function putIntoContainer(
  id: string,
  dir: string,
  files: { name: string; body: Buffer; mtime: Date }[],
): Promise<void> {
  const archive = await buildTar(
    files.map((file) => ({ header: { name: file.name, mode: 0o644, mtime: file.mtime }, body: file.body })),
  );
  await docker.getContainer(id).putArchive(archive, { path: dir });
}

/** The owner uid of every regular file under `path` inside a container, by path. */
export async function containerOwners(id: string, path: string): Promise<Map<string, number>> {
  const archive = await docker.getContainer(id).getArchive({ path });
  const extract = tar.extract();
  archive.pipe(extract);
  const out = new Map<string, number>();
  for await (const raw of extract as AsyncIterable<unknown>) {
    const entry = raw as AsyncIterable<Buffer> & { header: tar.Header; resume(): void };
    entry.resume();
    if (entry.header.type === 'file') out.set(entry.header.name, entry.header.uid ?? -1);
  }
  return out;
}

/** Regular files below `root` (relative paths), skipping `.forge-sync`; none when it does not exist. */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .filter((rel) => !rel.startsWith('.forge-sync'))
    .sort();
}

/** The controller's GET /v1/status through its published port. */
export async function controllerStatus(port: number): Promise<ControllerStatus> {
  return controllerGet<ControllerStatus>(port, '/v1/status');
}

/** Catalog records of one agent, through the controller's GET /v1/files. */
export async function catalogFiles(
  port: number,
  agent: string,
): Promise<{ containerPath: string; storedPath: string }[]> {
  const page = await controllerGet<{ items: { containerPath: string; storedPath: string }[] }>(
    port,
    `/v1/files?agent=${encodeURIComponent(agent)}&limit=1000`,
  );
  return page.items;
}

async function controllerGet<T>(port: number, path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Runs a command to completion with the given environment (no FORGE_SYNC_* of this process). */
export async function run(command: string, args: string[], extra: NodeJS.ProcessEnv): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('FORGE_SYNC_')) delete env[key];
  const child = spawn(command, args, {
    cwd: REPO,
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, stdout, stderr };
}

export { waitUntil };
