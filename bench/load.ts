// Load: many agents full of small files into one controller daemon, watched by many progress clients; figures and checks.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { ChangesResponse, ControllerStatus } from '../common/protocol.js';
import { AUTH, BIN, type Server, TOKEN, peakRssMiB, startServer, timeCommand } from './processes.js';

export interface LoadOptions {
  /** Scratch folder: agents' roots and state, the destination. */
  work: string;
  agents: number;
  /** Files per agent. */
  files: number;
  /** Size of each file, in bytes. */
  bytes: number;
  /** WebSocket clients watching /v1/progress through the whole pass. */
  clients: number;
  /** The whole scenario, generation to checks, must end within this; past it, it stops and fails. */
  timeoutMs: number;
  /** Progress lines for a person (stderr). */
  say?: (line: string) => void;
}

export interface LoadFigures {
  agents: number;
  filesPerAgent: number;
  files: number;
  bytes: number;
  clients: number;
  /** Writing the files while the agents watch, until every agent lists them all. */
  generateMs: number;
  /** POST /v1/sync until every client has every agent's `sync.completed`. */
  wallMs: number;
  filesPerS: number;
  /** Controller RSS when the pass was asked for, and its peak (VmHWM) over its life. */
  controllerStartRssMiB: number;
  controllerPeakRssMiB: number;
  /** Highest agent VmHWM, and each agent's. */
  agentPeakRssMiB: number;
  agentsPeakRssMiB: number[];
  /** Files found under the destination with the right size, and checked byte for byte (a sample). */
  storedFiles: number;
  comparedFiles: number;
  /** A one-shot sync after the daemon stopped: files it found already catalogued, and moved. */
  cataloguedFiles: number;
  transferredAfter: number;
  /** Clients that got every agent's `sync.completed` for the pass with the right counts. */
  clientsComplete: number;
  /** Clients the controller dropped (too far behind) or that closed early. */
  clientsDropped: number;
  /** `file.stored` messages per client, all agents: fewest and most (each should be `files`). */
  fileEventsMin: number;
  fileEventsMax: number;
  /** Messages per client, most. */
  messagesMax: number;
  /** Everything that did not hold, one line each; empty when the load held. */
  failures: string[];
}

/** Clients connected and given their snapshot within this. */
const CONNECT_MS = 20_000;
/** After the pass ends (by /v1/status), how long its last messages may take to reach every client. */
const END_GRACE_MS = 10_000;

/** The agent's folders: 100 files each, as Forge's dated folders hold many. */
function agentFile(root: string, i: number): { dir: string; path: string } {
  const dir = join(root, 'txt2img-images', `batch-${String(Math.floor(i / 100)).padStart(4, '0')}`);
  return { dir, path: join(dir, `${String(i).padStart(6, '0')}-${1000 + i}.png`) };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/** A PNG-shaped file (signature, filler, IEND) whose bytes are distinct per (agent, index). */
function fileBody(pool: Buffer, agent: number, i: number, bytes: number): Buffer {
  const body = Buffer.allocUnsafe(bytes);
  PNG_SIGNATURE.copy(body, 0);
  pool.copy(body, 8, (agent * 7919 + i) % 4096, ((agent * 7919 + i) % 4096) + bytes - 8 - 12 - 16);
  body.write(`${agent}:${i}`.padStart(16, '0'), bytes - 12 - 16, 'latin1');
  PNG_IEND.copy(body, bytes - 12);
  return body;
}

/** Writes agent `a`'s files, `concurrency` at a time. */
async function writeFiles(root: string, a: number, options: LoadOptions, pool: Buffer): Promise<void> {
  const made = new Map<string, Promise<unknown>>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < options.files; i = next++) {
      const { dir, path } = agentFile(root, i);
      if (!made.has(dir)) made.set(dir, mkdir(dir, { recursive: true }));
      await made.get(dir);
      await writeFile(path, fileBody(pool, a, i, options.bytes));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function changes(agent: Server): Promise<ChangesResponse & { pending: number }> {
  const response = await fetch(`${agent.url}/v1/changes`, {
    headers: AUTH,
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`agent ${agent.url} answered /v1/changes with ${response.status}`);
  return (await response.json()) as ChangesResponse & { pending: number };
}

async function status(controller: Server): Promise<ControllerStatus> {
  const response = await fetch(`${controller.url}/v1/status`, {
    headers: AUTH,
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`GET /v1/status answered ${response.status}`);
  return (await response.json()) as ControllerStatus;
}

async function rssMiB(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0) / 1024;
}

/** Polls until `check` is true, failing after `deadline` (ms since the epoch) with `what`. */
async function until(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** `promise`, or a failure naming `what` once `deadline` (ms since the epoch) has passed. */
async function within<T>(what: string, deadline: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what}`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One watcher of /v1/progress. Messages are only scanned, not parsed, except the few that end
 * something: 50 clients of a 160k-file pass receive millions of `file.stored`, and the measuring
 * process must keep up as a real dashboard would.
 */
class Watcher {
  readonly completed = new Map<string, { runId: string; filesTransferred: number; errors: number }>();
  readonly fileEvents = new Map<string, number>();
  messages = 0;
  dropped = false;
  private closing = false;
  private readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly snapshot: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/progress`, { headers: AUTH });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    let snapshotSeen: () => void;
    this.snapshot = new Promise((resolve) => (snapshotSeen = resolve));
    this.ws.on('message', (data: Buffer) => {
      this.messages++;
      const text = data.toString('utf8');
      if (text.includes('"type":"file.stored"')) {
        const agent = /"agent":"([^"]+)"/.exec(text)?.[1] ?? '';
        this.fileEvents.set(agent, (this.fileEvents.get(agent) ?? 0) + 1);
      } else if (text.includes('"type":"snapshot"')) {
        snapshotSeen();
      } else if (text.includes('"type":"sync.completed"')) {
        const message = JSON.parse(text) as {
          agent: string;
          runId: string;
          result: { filesTransferred: number; errors: number };
        };
        const { filesTransferred, errors } = message.result;
        this.completed.set(message.agent, { runId: message.runId, filesTransferred, errors });
      }
    });
    this.ws.on('close', () => {
      if (!this.closing) this.dropped = true;
    });
    this.ws.on('error', () => undefined);
  }

  /** True once every agent's `sync.completed` of `runId` is here. */
  done(agents: readonly string[], runId: string): boolean {
    return agents.every((agent) => this.completed.get(agent)?.runId === runId);
  }

  close(): void {
    this.closing = true;
    this.ws.terminate();
  }
}

/** Every file under `dir`, relative paths. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/**
 * Runs the scenario: agents start on empty roots and a controller daemon (--no-push, all agents at
 * once) on them; the clients connect; the files are written while the agents watch; once every agent
 * lists all of its files, one pass is asked for and timed until every client has heard every
 * agent's end. Then the daemon stops, the destination is counted and sampled byte for byte, and a
 * one-shot sync confirms the catalog holds every file (it finds them all unchanged). Always stops
 * what it started; never throws for a check that failed (see `failures`), only for a broken run.
 */
export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const say = options.say ?? (() => undefined);
  const deadline = Date.now() + options.timeoutMs;
  const names = Array.from({ length: options.agents }, (_, a) => `gpu${a + 1}`);
  const roots = names.map((name) => join(options.work, name, 'output'));
  const dest = join(options.work, 'dest');
  const servers: Server[] = [];
  const watchers: Watcher[] = [];
  const failures: string[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    for (const [a, root] of roots.entries()) {
      await mkdir(root, { recursive: true });
      servers.push(
        await startServer('agent', [
          '--root',
          root,
          '--settle',
          '0s',
          '--state-dir',
          join(options.work, names[a]!, 'state'),
        ]),
      );
    }
    const agents = servers.slice();
    const controller = await startServer('controller', [
      '--dest',
      dest,
      ...names.flatMap((name, a) => ['--agent', `${name}=${agents[a]!.url}`]),
      '--no-docker',
      '--no-push',
      '--interval',
      '1h',
      '--concurrency',
      String(options.agents),
    ]);
    servers.push(controller);
    await until('the start-up pass', deadline, async () => {
      const now = await status(controller);
      return now.lastRun !== null && !now.syncing;
    });

    for (let c = 0; c < options.clients; c++) watchers.push(new Watcher(controller.url));
    const soon = Math.min(deadline, Date.now() + CONNECT_MS);
    await within('the clients to connect', soon, Promise.all(watchers.map((watcher) => watcher.opened)));
    await within("every client's snapshot", soon, Promise.all(watchers.map((watcher) => watcher.snapshot)));
    say(`${options.clients} clients watching; writing ${options.agents} × ${options.files} files …`);

    const generateStart = performance.now();
    const pool = randomBytes(options.bytes + 4096);
    await Promise.all(roots.map((root, a) => writeFiles(root, a, options, pool)));
    await until('every agent to list all of its files', deadline, async () => {
      const all = await Promise.all(agents.map(changes));
      return all.every((answer) => answer.files === options.files && answer.pending === 0);
    });
    const generateMs = performance.now() - generateStart;
    say(`written and listed in ${(generateMs / 1000).toFixed(1)} s; syncing …`);

    const controllerPid = controller.child.pid!;
    const controllerStartRssMiB = await rssMiB(controllerPid);
    let sampledPeak = controllerStartRssMiB;
    sampler = setInterval(() => {
      void rssMiB(controllerPid).then(
        (mib) => (sampledPeak = Math.max(sampledPeak, mib)),
        () => undefined,
      );
    }, 100);
    const started = performance.now();
    const response = await fetch(`${controller.url}/v1/sync`, { method: 'POST', headers: AUTH });
    if (!response.ok) throw new Error(`POST /v1/sync answered ${response.status}`);
    const { runId } = (await response.json()) as { runId: string };
    let endedAt: number | undefined;
    await until('every client to hear every agent end the pass', deadline, async () => {
      const live = watchers.filter((watcher) => !watcher.dropped);
      if (live.every((watcher) => watcher.done(names, runId))) return true;
      if (endedAt === undefined) {
        const now = await status(controller);
        if (!now.syncing && now.lastRun?.runId === runId) endedAt = Date.now();
        return false;
      }
      // The pass is over: messages still on their way get a few seconds, then a client without the end has missed it.
      return Date.now() - endedAt > END_GRACE_MS;
    }).catch((err: Error) => failures.push(err.message));
    const wallMs = performance.now() - started;
    clearInterval(sampler);
    sampler = undefined;
    const controllerPeakRssMiB = Math.max(await peakRssMiB(controllerPid), sampledPeak);
    const agentsPeakRssMiB = await Promise.all(agents.map((agent) => peakRssMiB(agent.child.pid!)));

    const last = (await status(controller)).lastRun;
    for (const name of names) {
      const result = last?.agents.find((agent) => agent.name === name);
      if (!result || result.filesTransferred !== options.files || result.errors !== 0) {
        failures.push(
          `${name}: the pass moved ${result?.filesTransferred} files with ${result?.errors} errors`,
        );
      }
    }
    let clientsComplete = 0;
    for (const [c, watcher] of watchers.entries()) {
      const whole = names.every((name) => {
        const end = watcher.completed.get(name);
        return (
          end?.runId === runId &&
          end.filesTransferred === options.files &&
          end.errors === 0 &&
          watcher.fileEvents.get(name) === options.files
        );
      });
      if (whole) clientsComplete++;
      else if (failures.length < 20) {
        failures.push(
          `client ${c}${watcher.dropped ? ' (dropped)' : ''} missed part of the pass: ${names
            .map(
              (name) =>
                `${name} ${watcher.fileEvents.get(name) ?? 0} files, end ${watcher.completed.get(name)?.runId === runId ? 'seen' : 'missing'}`,
            )
            .join('; ')}`,
        );
      }
    }
    const fileCounts = watchers.map((watcher) =>
      names.reduce((sum, name) => sum + (watcher.fileEvents.get(name) ?? 0), 0),
    );
    for (const watcher of watchers) watcher.close();
    await controller.stop();
    servers.splice(servers.indexOf(controller), 1);

    say('checking the destination and the catalog …');
    let storedFiles = 0;
    let comparedFiles = 0;
    for (const [a, name] of names.entries()) {
      const stored = await walk(join(dest, name, 'output'));
      for (const path of stored) if ((await stat(path)).size === options.bytes) storedFiles++;
      for (let i = 0; i < options.files; i += 97) {
        const want = fileBody(pool, a, i, options.bytes);
        const rel = agentFile('', i).path;
        const got = await readFile(join(dest, name, 'output', rel)).catch(() => null);
        if (got && got.equals(want)) comparedFiles++;
        else failures.push(`${name}/output${rel}: stored copy missing or different`);
      }
    }
    const total = options.agents * options.files;
    if (storedFiles !== total)
      failures.push(`${storedFiles} files of the right size stored, ${total} expected`);

    const again = await timeCommand(
      process.execPath,
      [
        BIN,
        'sync',
        '--dest',
        dest,
        ...names.flatMap((name, a) => ['--agent', `${name}=${agents[a]!.url}`]),
        '--no-docker',
        '--json',
        '--log-level',
        'warn',
      ],
      { FORGE_SYNC_TOKEN: TOKEN },
    );
    const totals = (
      JSON.parse(again.stdout) as { totals: { filesUnchanged: number; filesTransferred: number } }
    ).totals;
    if (totals.filesUnchanged !== total || totals.filesTransferred !== 0) {
      failures.push(
        `a second sync found ${totals.filesUnchanged} catalogued and moved ${totals.filesTransferred}`,
      );
    }

    return {
      agents: options.agents,
      filesPerAgent: options.files,
      files: total,
      bytes: total * options.bytes,
      clients: options.clients,
      generateMs,
      wallMs,
      filesPerS: total / (wallMs / 1000),
      controllerStartRssMiB,
      controllerPeakRssMiB,
      agentPeakRssMiB: Math.max(...agentsPeakRssMiB),
      agentsPeakRssMiB,
      storedFiles,
      comparedFiles,
      cataloguedFiles: totals.filesUnchanged,
      transferredAfter: totals.filesTransferred,
      clientsComplete,
      clientsDropped: watchers.filter((watcher) => watcher.dropped).length,
      fileEventsMin: Math.min(...fileCounts),
      fileEventsMax: Math.max(...fileCounts),
      messagesMax: Math.max(...watchers.map((watcher) => watcher.messages)),
      failures,
    };
  } finally {
    if (sampler) clearInterval(sampler);
    for (const watcher of watchers) watcher.close();
    for (const server of servers.reverse()) await server.stop();
  }
}
