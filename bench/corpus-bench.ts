// One corpus side by side: cold, no-change and 1%-changed passes of the one-shot CLI, tar | tar and rsync; then the daemon's passes and new-file latency.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { changeOnePercent, makeTree } from './corpus.js';
import { DaemonClient } from './daemon.js';
import { measureNewFileLatency } from './latency.js';
import {
  type Server,
  forgeSync,
  peakRssMiB,
  startAgent,
  startController,
  syncDisks,
  timeCommand,
  warmAgent,
} from './processes.js';
import { type BenchRecord, median, percentile, record, runGroup } from './records.js';

/** The daemon counts as settled after its own first passes once it has been idle this long. */
export const QUIET_MS = 2_000;

/**
 * What the controller image gives node (NODE_OPTIONS in Dockerfile.controller): a young generation
 * of 2 MiB semi-spaces. Without PGlite in the process, V8's default young generation (up to 3 × 16
 * MiB) was most of the difference between a 20,000-file pass (153-165 MiB) and a 600-file one.
 */
const CONTROLLER_NODE_FLAGS = ['--max-semi-space-size=2'];

export interface DaemonOptions {
  /** No-change passes timed, and 1%-changed passes (each on other files); each median is recorded. */
  passes: number;
  /** The daemon's --interval: long, so that no scheduled pass brings a new file in. */
  interval: string;
  passTimeoutMs: number;
}

export interface LatencyFlags {
  files: number;
  settleMs: number;
  timeoutMs: number;
  giveUpAfter: number;
}

export interface CorpusOptions {
  work: string;
  name: string;
  files: number;
  kib: number;
  rsync: boolean;
  settle: string;
  /** Cold runs of each tool, interleaved; the median counts. */
  rounds: number;
  /** Run the daemon's passes after the one-shot ones (group `daemon`). */
  daemon: DaemonOptions | null;
  /** Measure new-file latency through the daemon (group `latency`). */
  latency: LatencyFlags | null;
  /** A PostgreSQL catalog (--catalog): one more cold sync records into it, for its time and memory. */
  catalogUrl: string | undefined;
}

export async function benchCorpus(options: CorpusOptions): Promise<void> {
  const { work, name, files, kib } = options;
  const bytes = kib * 1024;
  const src = join(work, `${name}-src`, 'output');
  console.error(`(${name}) generating ${files} files of ${kib} KiB …`);
  const total = await makeTree(src, files, bytes);
  syncDisks();
  const base = { corpus: `(${name}) ${files} × ${kib} KiB`, files, bytes: total };

  // An empty agent under the same name gives the start-up cost alone: CLI, catalog, one round trip.
  const emptyDir = join(work, `${name}-empty`);
  await mkdir(emptyDir, { recursive: true });
  const servers: Server[] = [];
  try {
    const empty = await startAgent(emptyDir, join(work, `${name}-empty-state`), { settle: options.settle });
    servers.push(empty);
    const agent = await startAgent(src, join(work, `${name}-state`), { settle: options.settle });
    servers.push(agent);
    // Let the agent hash the tree once (it does at start), so the cold sync measures the transfer.
    await warmAgent(agent.url);
    const dest = join(work, `${name}-dest`);

    // 1. Cold: the copy limit (tar | tar, then sync), rsync, and this tool, in interleaved rounds
    // into fresh folders, each tool's median recorded. This machine's file-creation speed swings
    // several-fold from minute to minute (a burst of creates after a large delete is slowest), so
    // no tool's figure comes from one lucky or unlucky moment, and deletes wait until the end.
    const rsyncDest = join(work, `${name}-rsync`);
    const coldMs: Record<'tar' | 'rsync' | 'forge', number[]> = { tar: [], rsync: [], forge: [] };
    const leftovers: string[] = [];
    let forgePeak = 0;
    for (let round = 0; round < options.rounds; round++) {
      const last = round === options.rounds - 1;
      const tarDest = join(work, `${name}-tar-${round}`);
      await mkdir(tarDest);
      leftovers.push(tarDest);
      syncDisks();
      const tarRun = await timeCommand('sh', [
        '-c',
        `tar -C "${src}" -cf - . | tar -C "${tarDest}" -xf - && sync`,
      ]);
      coldMs.tar.push(tarRun.wallMs);
      if (options.rsync) {
        // The last round's copy is the one the later rsync passes update.
        const into = last ? rsyncDest : join(work, `${name}-rsync-${round}`);
        if (!last) leftovers.push(into);
        syncDisks();
        coldMs.rsync.push((await timeCommand('rsync', ['-a', `${src}/`, `${into}/`])).wallMs);
      }
      const into = last ? dest : join(work, `${name}-dest-${round}`);
      if (!last) leftovers.push(into);
      syncDisks();
      const cold = await forgeSync(into, agent.url, files);
      coldMs.forge.push(cold.wallMs);
      forgePeak = Math.max(forgePeak, cold.peakRssMiB);
    }
    const roundsNote = `median of ${options.rounds} interleaved rounds`;
    record({
      ...base,
      scenario: 'cold',
      tool: 'tar|tar+sync',
      wallMs: median(coldMs.tar),
      passesMs: coldMs.tar,
      note: roundsNote,
    });
    if (options.rsync) {
      record({
        ...base,
        scenario: 'cold',
        tool: 'rsync',
        wallMs: median(coldMs.rsync),
        passesMs: coldMs.rsync,
        note: roundsNote,
      });
    }
    record({
      ...base,
      scenario: 'cold',
      tool: 'forge-sync',
      wallMs: median(coldMs.forge),
      passesMs: coldMs.forge,
      note: roundsNote,
      peakRssMiB: forgePeak,
      agentPeakRssMiB: await peakRssMiB(agent.child.pid!),
    });
    // The same cold sync with a PostgreSQL catalog: the controller without PGlite in it. The agent
    // gets a name of its own per run, so rows of an earlier run in that database never collide.
    if (options.catalogUrl) {
      const into = join(work, `${name}-dest-pg`);
      leftovers.push(into);
      syncDisks();
      const agentName = `bench-pg-${Date.now().toString(36)}`;
      const cold = await forgeSync(into, agent.url, files, {
        extra: ['--catalog', options.catalogUrl],
        agent: agentName,
        nodeFlags: CONTROLLER_NODE_FLAGS,
      });
      record({
        ...base,
        scenario: 'cold',
        tool: 'forge-sync, PostgreSQL catalog',
        wallMs: cold.wallMs,
        peakRssMiB: cold.peakRssMiB,
        note: `one run after the rounds, agent ${agentName}, node ${CONTROLLER_NODE_FLAGS.join(' ')} as in the controller image`,
      });
    }
    for (const path of leftovers) await rm(path, { recursive: true, force: true });
    syncDisks();

    // 2. Nothing to do.
    if (options.rsync) {
      const still = await timeCommand('rsync', ['-a', `${src}/`, `${rsyncDest}/`]);
      record({ ...base, scenario: 'no-change', tool: 'rsync', wallMs: still.wallMs, bytes: 0 });
    }
    const still = await forgeSync(dest, agent.url, 0);
    record({
      ...base,
      scenario: 'no-change',
      tool: 'forge-sync',
      wallMs: still.wallMs,
      bytes: 0,
      peakRssMiB: still.peakRssMiB,
    });
    const startUp = await forgeSync(dest, empty.url, 0);
    record({
      ...base,
      scenario: 'start-up',
      tool: 'forge-sync',
      wallMs: startUp.wallMs,
      files: 0,
      bytes: 0,
      note: 'one-shot sync of an agent with no files into the same --dest: CLI, catalog and one round trip',
    });

    // 3. 1% of the files changed.
    const changed = await changeOnePercent(src, files, bytes);
    const changedBase = { ...base, files: changed, bytes: changed * bytes };
    if (options.rsync) {
      const run = await timeCommand('rsync', ['-a', `${src}/`, `${rsyncDest}/`]);
      record({ ...changedBase, scenario: 'changed-1pct', tool: 'rsync', wallMs: run.wallMs });
    }
    const run = await forgeSync(dest, agent.url, changed);
    record({
      ...changedBase,
      scenario: 'changed-1pct',
      tool: 'forge-sync',
      wallMs: run.wallMs,
      peakRssMiB: run.peakRssMiB,
      agentPeakRssMiB: await peakRssMiB(agent.child.pid!),
    });
    await rm(rsyncDest, { recursive: true, force: true });

    // 4. The daemon on the same destination, now in step with the agent.
    if (options.daemon || options.latency) {
      const daemonOptions = options.daemon ?? { passes: 0, interval: '10m', passTimeoutMs: 600_000 };
      const controller = await startController(dest, agent.url, daemonOptions.interval);
      servers.push(controller);
      const client = await DaemonClient.connect(controller);
      try {
        await client.waitQuiet(QUIET_MS, daemonOptions.passTimeoutMs);
        if (options.daemon) {
          await runGroup(`${name} daemon`, () =>
            daemonPasses(client, agent, base, { ...daemonOptions, src, files, bytes }),
          );
        }
        if (options.latency) {
          await runGroup(`${name} latency`, () => latency(client, agent, base, src, bytes, options.latency!));
        }
      } finally {
        client.close();
      }
    }
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await rm(join(work, `${name}-src`), { recursive: true, force: true });
    await rm(join(work, `${name}-dest`), { recursive: true, force: true });
  }
}

type Base = Pick<BenchRecord, 'corpus' | 'files' | 'bytes'>;

async function daemonPasses(
  client: DaemonClient,
  agent: Server,
  base: Base,
  options: DaemonOptions & { src: string; files: number; bytes: number },
): Promise<void> {
  const passesMs: number[] = [];
  let joined = 0;
  for (let i = 0; i < options.passes; i++) {
    const pass = await client.pass(0, options.passTimeoutMs);
    passesMs.push(pass.wallMs);
    joined += pass.joined;
  }
  record({
    ...base,
    scenario: 'no-change',
    tool: 'forge-sync daemon',
    bytes: 0,
    wallMs: median(passesMs),
    passesMs,
    peakRssMiB: await peakRssMiB(client.server.child.pid!),
    agentPeakRssMiB: await peakRssMiB(agent.child.pid!),
    note:
      `median of ${options.passes} passes, POST /v1/sync until /v1/status reports the run` +
      (joined > 0 ? `; ${joined} pass(es) the daemon started on its own were waited out first, untimed` : ''),
  });

  // Other files than the one-shot's 1% (offsets 50 on), so the daemon has as much to do each time.
  // The first such pass after the daemon's start runs code the no-change passes never did (the
  // receive path, the catalog's inserts, cold in the JIT and PGlite's WASM): it is timed and shown,
  // and the median of the passes is the row, as a daemon that runs for days sees it.
  const changedMs: number[] = [];
  let changed = 0;
  let runs = 0;
  let joinedChanges = 0;
  for (let i = 0; i < Math.max(1, options.passes); i++) {
    const mark = client.mark();
    changed = await changeOnePercent(options.src, options.files, options.bytes, 50 + i);
    const takeIn = await client.takeIn(mark, changed, options.passTimeoutMs);
    changedMs.push(takeIn.wallMs);
    runs += takeIn.runs;
    joinedChanges += takeIn.joined ? 1 : 0;
  }
  record({
    ...base,
    scenario: 'changed-1pct',
    tool: 'forge-sync daemon',
    files: changed,
    bytes: changed * options.bytes,
    wallMs: median(changedMs),
    passesMs: changedMs,
    peakRssMiB: await peakRssMiB(client.server.child.pid!),
    agentPeakRssMiB: await peakRssMiB(agent.child.pid!),
    note:
      `median of ${changedMs.length} changes of 1% (other files each time; the first after the daemon's ` +
      `start took ${Math.round(changedMs[0]!)} ms): last change written → all changed files stored ` +
      `(sync.completed), POST /v1/sync sent at once; ${runs} pass(es) in all` +
      (joinedChanges > 0
        ? `, ${joinedChanges} change(s) joining a pass the daemon had started on its own`
        : ''),
  });
}

async function latency(
  client: DaemonClient,
  agent: Server,
  base: Base,
  src: string,
  bytes: number,
  flags: LatencyFlags,
): Promise<void> {
  console.error(`(${base.corpus}) new-file latency: ${flags.files} files, one at a time …`);
  const { samples, stoppedEarly } = await measureNewFileLatency(client, src, 'output', {
    files: flags.files,
    bytes,
    timeoutMs: flags.timeoutMs,
    giveUpAfter: flags.giveUpAfter,
  });
  const misses = samples.filter((s) => s === null).length;
  const p50Ms = percentile(samples, 50);
  record(
    {
      ...base,
      scenario: 'new-file-latency',
      tool: 'forge-sync daemon',
      files: samples.length,
      bytes: samples.length * bytes,
      wallMs: p50Ms ?? flags.timeoutMs,
      p50Ms,
      p95Ms: percentile(samples, 95),
      settleMs: flags.settleMs,
      timeoutMs: flags.timeoutMs,
      misses,
      peakRssMiB: await peakRssMiB(client.server.child.pid!),
      agentPeakRssMiB: await peakRssMiB(agent.child.pid!),
      note:
        `written (mtime now) → listed by GET /v1/files, no POST /v1/sync; a miss is a file not listed within ${flags.timeoutMs} ms` +
        (stoppedEarly
          ? `; stopped after ${flags.giveUpAfter} misses in a row, of ${flags.files} files planned`
          : '') +
        (p50Ms === null ? '; wallMs is the timeout, as the p50 is a miss' : ''),
    },
    false,
  );
}
