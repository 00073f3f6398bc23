// Starting real forge-sync processes for integration tests: agents on 127.0.0.1 port 0, one-shot syncs, controllers.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AddressInfo, createServer } from 'node:net';
import { createInterface } from 'node:readline';

export const REPO = resolve(import.meta.dirname, '../..');
export const BIN = join(REPO, 'bin/forge-sync.js');
export const TOKEN = 'test-token-0123456789';
/** The credential that may delete: agents take it on /v1/purge only, controllers send it there. */
export const PURGE_TOKEN = 'test-purge-token-9876543210';

export interface Started {
  child: ChildProcess;
  url: string;
  port: number;
  /** Log lines seen so far, parsed. */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** A temp folder removed by the returned cleanup. */
export async function tempDir(
  prefix = 'fms-',
): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

function baseEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('FORGE_SYNC_')) delete env[key];
  // Docker discovery stays off unless a test asks for it: the Docker tests' containers are not theirs.
  return {
    ...env,
    FORGE_SYNC_TOKEN: TOKEN,
    FORGE_SYNC_PURGE_TOKEN: PURGE_TOKEN,
    FORGE_SYNC_NO_DOCKER: 'true',
    ...extra,
  };
}

/**
 * Spawns `forge-sync <command> ...args` and resolves when it logs `readyMessage` with its port.
 * Rejects with the process's stderr if it exits first.
 */
export async function startProcess(
  command: 'agent' | 'controller',
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Started> {
  const child = spawn(process.execPath, [BIN, command, '--port', '0', ...args], {
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderrText: string[] = [];
  const readyMessage = `${command} listening`;
  const ready = new Promise<{ url: string; port: number }>((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      stderrText.push(line);
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        if (parsed.msg === readyMessage)
          resolvePromise({ url: String(parsed.url), port: Number(parsed.port) });
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`${command} exited with ${code} before listening:\n${stderrText.join('\n')}`)),
    );
  });
  const { url, port } = await ready;
  return {
    child,
    url,
    port,
    logs,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export function startAgent(
  roots: string[],
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<Started> {
  return startProcess(
    'agent',
    [...roots.flatMap((root) => ['--root', root]), '--settle', '0s', ...extra],
    env,
  );
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a one-shot forge-sync command to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** `forge-sync sync --json` against the given agents; parses the summary. */
export async function syncJson(
  dest: string,
  agents: Record<string, string>,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
) {
  const agentArgs = Object.entries(agents).flatMap(([name, url]) => ['--agent', `${name}=${url}`]);
  const result = await runCli(['sync', '--dest', dest, ...agentArgs, '--json', ...extra], env);
  let summary: SyncJson | undefined;
  try {
    summary = JSON.parse(result.stdout) as SyncJson;
  } catch {
    summary = undefined;
  }
  return { ...result, summary };
}

export interface SyncJson {
  runId: string;
  ok: boolean;
  agents: {
    name: string;
    ok: boolean;
    filesTransferred: number;
    bytesTransferred: number;
    filesUnchanged: number;
    filesPending: number;
    errors: number;
    problems: { code: string; path: string; message: string }[];
    error?: { code: string; message: string };
    manifest?: 'full' | 'changes';
    pendingReasons?: Record<string, number>;
  }[];
  totals: {
    filesTransferred: number;
    bytesTransferred: number;
    filesUnchanged: number;
    filesPending: number;
    errors: number;
  };
}

/** Lines of stderr that are not pino JSON log lines: what a person reads. */
export function plainLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
}

/** A port on 127.0.0.1 that nothing listens on: bound once to learn it, then freed. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
