// The agent's memory, alone: peak RSS (VmHWM) after start, first scan and full manifest, a cold and a
// no-change one-shot sync against it, a restart on its state folder, and an idle agent on an empty root.
// `node bin/run-ts.js bench/agent-memory.ts --files 20000 --kib 20 [--sync] [--snapshot]`
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeTree } from './corpus.js';
import {
  REPO,
  type Server,
  cliFlavour,
  forgeSync,
  peakRssMiB,
  startAgent,
  syncDisks,
  warmAgent,
} from './processes.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    kib: { type: 'string', default: '20' },
    work: { type: 'string', default: '/tmp/agentmem' },
    sync: { type: 'boolean', default: false },
    snapshot: { type: 'boolean', default: false },
  },
});
const files = Number(values.files);
const kib = Number(values.kib);
const work = values.work!;

/** What the probe (bench/memory-probe.js) prints on SIGUSR2: process.memoryUsage() and heap spaces, in MiB. */
async function probe(agent: Server, snapshot?: string): Promise<unknown> {
  const before = agent.logTail.length;
  if (snapshot) await writeFile(`${snapshot}.want`, '');
  agent.child.kill('SIGUSR2');
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const line = agent.logTail
      .slice(-Math.max(1, agent.logTail.length - before + 1))
      .find((l) => l.startsWith('mem-probe '));
    if (line) return JSON.parse(line.slice('mem-probe '.length));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no answer from the memory probe');
}

async function rssNow(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function agentWith(root: string, state: string, snapshotEnv: string): Promise<Server> {
  process.env.NODE_OPTIONS = `--import ${join(REPO, 'bench/memory-probe.js')} ${process.env.AGENT_NODE_OPTIONS ?? ''}`;
  process.env.AGENT_MEM_SNAPSHOT = snapshotEnv;
  try {
    return await startAgent(root, state, { extra: ['--log-level', 'info'] });
  } finally {
    delete process.env.NODE_OPTIONS;
  }
}

const result: Record<string, unknown> = { files, kib, flavour: cliFlavour() };
const mib = (n: number): number => +n.toFixed(1);

// Idle: an empty root.
{
  const empty = join(work, 'empty');
  await mkdir(empty, { recursive: true });
  await rm(join(work, 'state-empty'), { recursive: true, force: true });
  const agent = await agentWith(empty, join(work, 'state-empty'), '');
  await warmAgent(agent.url);
  result.idlePeakMiB = mib(await peakRssMiB(agent.child.pid!));
  result.idleMemory = await probe(agent);
  await agent.stop();
}

const corpus = join(work, `corpus-${files}x${kib}`);
if (!existsSync(join(corpus, '.done'))) {
  console.error(`generating ${files} files of ${kib} KiB in ${corpus} …`);
  await rm(corpus, { recursive: true, force: true });
  await makeTree(join(corpus, 'output'), files, kib * 1024);
  await writeFile(join(corpus, '.done'), '');
  syncDisks();
}
const root = join(corpus, 'output');
const state = join(work, `state-${files}`);
await rm(state, { recursive: true, force: true });
let agent = await agentWith(root, state, join(work, `agent-${files}.heapsnapshot`));
try {
  result.startPeakMiB = mib(await peakRssMiB(agent.child.pid!));
  let start = performance.now();
  await warmAgent(agent.url);
  result.firstManifestMs = Math.round(performance.now() - start);
  result.scanManifestPeakMiB = mib(await peakRssMiB(agent.child.pid!));
  result.afterScanRssMiB = mib(await rssNow(agent.child.pid!));
  start = performance.now();
  await warmAgent(agent.url);
  result.secondManifestMs = Math.round(performance.now() - start);
  result.secondManifestPeakMiB = mib(await peakRssMiB(agent.child.pid!));
  result.memory = await probe(
    agent,
    values.snapshot && !values.sync ? join(work, `agent-${files}.heapsnapshot`) : undefined,
  );
  if (values.sync) {
    const dest = join(work, `dest-${files}`);
    await rm(dest, { recursive: true, force: true });
    syncDisks();
    const cold = await forgeSync(dest, agent.url, files);
    result.coldSyncMs = Math.round(cold.wallMs);
    result.coldSyncControllerPeakMiB = cold.peakRssMiB;
    result.coldSyncAgentPeakMiB = mib(await peakRssMiB(agent.child.pid!));
    const still = await forgeSync(dest, agent.url, 0);
    result.noChangeMs = Math.round(still.wallMs);
    // With --sync, the heap snapshot is taken here, after the sync, instead of after the scan.
    result.afterSyncMemory = await probe(
      agent,
      values.snapshot ? join(work, `agent-${files}.heapsnapshot`) : undefined,
    );
    await rm(dest, { recursive: true, force: true });
  }
  await agent.stop();
  // A restart on the state folder: the index is loaded and the first scan finds every hash in it.
  agent = await agentWith(root, state, '');
  result.restartLoadPeakMiB = mib(await peakRssMiB(agent.child.pid!));
  start = performance.now();
  await warmAgent(agent.url);
  result.restartManifestMs = Math.round(performance.now() - start);
  result.restartPeakMiB = mib(await peakRssMiB(agent.child.pid!));
} finally {
  await agent.stop();
}
console.log(JSON.stringify(result));
