// `docker cp` out of an agent container against `forge-sync sync` from the same container, where a Docker engine answers.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTree } from './corpus.js';
import {
  AUTH,
  TOKEN,
  forgeSync,
  hasCommand,
  peakRssMiB,
  syncDisks,
  timeCommand,
  warmAgent,
} from './processes.js';
import { record } from './records.js';

export const DEFAULT_AGENT_IMAGE = 'forge-media-sync/agent:dev';

/** Why the Docker group cannot run here, or null when an engine answers and the image exists. */
export async function dockerSkipReason(image: string): Promise<string | null> {
  if (!hasCommand('docker')) return 'no docker command on PATH';
  const info = await timeCommand('docker', ['info', '--format', '{{.ServerVersion}}']).catch(
    (err: Error) => err,
  );
  if (info instanceof Error)
    return `no Docker engine answers (docker info: ${info.message.split('\n').slice(-2).join(' ').trim()})`;
  const inspect = await timeCommand('docker', ['image', 'inspect', image]).catch((err: Error) => err);
  if (inspect instanceof Error) return `image ${image} is not built (npm run images builds it; see .ci/run)`;
  return null;
}

export async function benchDocker(
  work: string,
  files: number,
  kib: number,
  image: string,
  settle: string,
): Promise<void> {
  const bytes = kib * 1024;
  const src = join(work, 'docker-src', 'output');
  console.error(`(docker) generating ${files} files of ${kib} KiB, bind-mounted into an agent container …`);
  const total = await makeTree(src, files, bytes);
  syncDisks();
  const base = { corpus: `(a in a container) ${files} × ${kib} KiB`, files, bytes: total };
  const run = await timeCommand('docker', [
    'run',
    '--detach',
    '--label',
    'forge-sync.bench=true',
    '--env',
    `FORGE_SYNC_TOKEN=${TOKEN}`,
    '--env',
    `FORGE_SYNC_SETTLE=${settle}`,
    // Published on the loopback only: nothing here is meant for the network.
    '--publish',
    '127.0.0.1::8484',
    '--volume',
    `${src}:/output`,
    image,
  ]);
  const id = run.stdout.trim();
  try {
    const port = (await timeCommand('docker', ['port', id, '8484/tcp'])).stdout.trim().split('\n')[0]!;
    const url = `http://${port}`;
    await waitHealthy(url, 60_000);
    await warmAgent(url);

    const cpDest = join(work, 'docker-cp');
    const cp = await timeCommand('sh', ['-c', `docker cp "${id}:/output" "${cpDest}" && sync`]);
    record({
      ...base,
      scenario: 'cold',
      tool: 'docker cp+sync',
      wallMs: cp.wallMs,
      note: 'docker cp of the bind-mounted output folder to the host, then sync',
    });
    await rm(cpDest, { recursive: true, force: true });
    syncDisks();

    const dest = join(work, 'docker-dest');
    const cold = await forgeSync(dest, url, files);
    const pid = Number(
      (await timeCommand('docker', ['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim(),
    );
    // The container's agent is a process of this host: its /proc entry is readable by root here.
    const agentPeak = await peakRssMiB(pid).catch(() => undefined);
    record({
      ...base,
      scenario: 'cold',
      tool: 'forge-sync',
      wallMs: cold.wallMs,
      peakRssMiB: cold.peakRssMiB,
      ...(agentPeak !== undefined ? { agentPeakRssMiB: agentPeak } : {}),
      note: `one-shot sync from the agent container (${image}) over its port published on 127.0.0.1`,
    });
    await rm(dest, { recursive: true, force: true });
  } finally {
    await timeCommand('docker', ['rm', '--force', id]).catch(() => undefined);
    await rm(join(work, 'docker-src'), { recursive: true, force: true });
  }
}

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // docker-proxy accepts before the agent listens and then holds the connection; fetch keeps no
    // handle alive while it waits, so a timer of its own both ends the attempt and keeps node running.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 2_000);
    const ok = await fetch(`${url}/v1/health`, { headers: AUTH, signal: abort.signal })
      .then(
        (response) => response.ok,
        () => false,
      )
      .finally(() => clearTimeout(timer));
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`the agent container at ${url} was not healthy within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
