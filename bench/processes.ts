// The processes the bench times: agents and controllers it starts and stops, one-shot commands it runs to their end.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const REPO = resolve(import.meta.dirname, '..');
export const BIN = join(REPO, 'bin/forge-sync.js');
export const TOKEN = 'bench-token';
/** Agents delete only for it, and `purge` sends it; the bench daemon has none, so the read token starts its passes. */
const PURGE_TOKEN = 'bench-purge-token';
export const AUTH = { authorization: `Bearer ${TOKEN}` };
const PEAK_RSS = join(REPO, 'bench/peak-rss.js');

/** A forge-sync server the bench started; its last log lines are kept for error messages. */
export interface Server {
  child: ChildProcess;
  url: string;
  logTail: string[];
  stop(): Promise<void>;
}

/** Starts `forge-sync agent|controller` on 127.0.0.1 port 0 and waits for its "listening" line. */
export async function startServer(command: 'agent' | 'controller', args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [BIN, command, '--port', '0', ...args], {
    env: {
      ...process.env,
      FORGE_SYNC_TOKEN: TOKEN,
      ...(command === 'agent' ? { FORGE_SYNC_PURGE_TOKEN: PURGE_TOKEN } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logTail: string[] = [];
  const lines = createInterface({ input: child.stderr! });
  const url = await new Promise<string>((resolveUrl, reject) => {
    lines.on('line', (line) => {
      logTail.push(line);
      if (logTail.length > 40) logTail.shift();
      if (line.includes(`"${command} listening"`)) resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) =>
      reject(new Error(`${command} exited with ${code} before listening:\n${logTail.join('\n')}`)),
    );
  });
  return {
    child,
    url,
    logTail,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export function startAgent(
  root: string,
  stateDir: string,
  options: { settle?: string; extra?: string[] } = {},
): Promise<Server> {
  return startServer('agent', [
    '--root',
    root,
    '--settle',
    options.settle ?? '1s',
    '--state-dir',
    stateDir,
    ...(options.extra ?? []),
  ]);
}

/** The daemon on one agent, without Docker discovery; `interval` long, so only POST /v1/sync or a push starts a pass. */
export function startController(dest: string, agentUrl: string, interval: string): Promise<Server> {
  return startServer('controller', [
    '--dest',
    dest,
    '--agent',
    `bench=${agentUrl}`,
    '--no-docker',
    '--interval',
    interval,
  ]);
}

/** Peak resident memory of a live process so far (VmHWM), from /proc. */
export async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** Starts a process's VmHWM again from its current RSS (clear_refs 5); false where the kernel refuses. */
export async function resetPeakRss(pid: number): Promise<boolean> {
  return writeFile(`/proc/${pid}/clear_refs`, '5').then(
    () => true,
    () => false,
  );
}

/** Runs a command to its end: wall time and output; throws with its stderr if it fails. */
export async function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const start = performance.now();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  const [code] = (await once(child, 'exit')) as [number];
  const wallMs = performance.now() - start;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.slice(-2000)}`);
  return { wallMs, stdout: Buffer.concat(stdout).toString(), stderr };
}

/** Runs a one-shot forge-sync command with bench/peak-rss.js preloaded, which prints its peak RSS as it exits. */
async function oneShot(args: string[], nodeFlags: string[] = []) {
  const run = await timeCommand(
    process.execPath,
    [...nodeFlags, '--import', PEAK_RSS, BIN, ...args, '--json'],
    {
      FORGE_SYNC_TOKEN: TOKEN,
      FORGE_SYNC_PURGE_TOKEN: PURGE_TOKEN,
    },
  );
  const peakRssMiB = Number(/peak-rss-mib=([\d.]+)/.exec(run.stderr)?.[1] ?? NaN);
  return { wallMs: run.wallMs, peakRssMiB, stdout: run.stdout };
}

/**
 * A one-shot `forge-sync sync`; a run that did not move exactly `expectTransferred` files throws.
 * `extra` adds flags (a PostgreSQL `--catalog`), `agent` names the agent (`bench`), `nodeFlags` go to node.
 */
export async function forgeSync(
  dest: string,
  url: string,
  expectTransferred: number,
  {
    extra = [],
    agent = 'bench',
    nodeFlags = [],
  }: { extra?: string[]; agent?: string; nodeFlags?: string[] } = {},
) {
  const run = await oneShot(
    ['sync', '--dest', dest, '--agent', `${agent}=${url}`, '--log-level', 'warn', ...extra],
    nodeFlags,
  );
  const summary = JSON.parse(run.stdout) as { totals: Record<string, number> };
  // A bench that moved nothing measures nothing: insist on the expected work.
  if (summary.totals.filesTransferred !== expectTransferred || summary.totals.errors !== 0) {
    throw new Error(`expected ${expectTransferred} files transferred, got ${JSON.stringify(summary.totals)}`);
  }
  return run;
}

/** A one-shot `forge-sync purge` of what is older than a day; throws unless it purged `expectPurged` files. */
export async function forgePurge(dest: string, url: string, expectPurged: number) {
  const run = await oneShot([
    'purge',
    '--dest',
    dest,
    '--agent',
    `bench=${url}`,
    '--older-than',
    '1d',
    '--log-level',
    'warn',
  ]);
  const summary = JSON.parse(run.stdout) as { totals: { filesPurged: number; kept: object } };
  if (summary.totals.filesPurged !== expectPurged) {
    throw new Error(`expected ${expectPurged} files purged, got ${JSON.stringify(summary.totals)}`);
  }
  return run;
}

export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Flushes dirty pages, so one measurement does not pay for the writes of the one before. */
export function syncDisks(): void {
  execFileSync('sync');
}

/** Sends the agent its first manifest request, so it has hashed the tree before anything is timed. */
export async function warmAgent(url: string): Promise<void> {
  const response = await fetch(`${url}/v1/manifest`, { headers: AUTH });
  await response.text();
  if (!response.ok) throw new Error(`agent ${url} answered its first manifest with ${response.status}`);
}

/**
 * What bin/forge-sync.js will run, by its own rule: the bundle while it is newer than every source
 * file, else the TypeScript through tsx, which starts slower and holds more memory. Figures from the
 * two are not comparable, so the report says which one it measured.
 */
export function cliFlavour(): 'bundle' | 'source through tsx' {
  if (process.env.FORGE_SYNC_FROM_SOURCE === '1') return 'source through tsx';
  let newest = statSync(join(REPO, 'package-lock.json')).mtimeMs;
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of ['agent', 'controller', 'common', 'cli', 'lib']) visit(join(REPO, dir));
  try {
    return statSync(join(REPO, 'dist/app/main.js')).mtimeMs > newest ? 'bundle' : 'source through tsx';
  } catch {
    return 'source through tsx';
  }
}
