// The cost curve: for each N small files, cold and no-change passes (one-shot and daemon) against rsync, and the peak memory of agent and controller.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTree } from './corpus.js';
import { QUIET_MS } from './corpus-bench.js';
import { DaemonClient } from './daemon.js';
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
import { median, record } from './records.js';

export interface SweepOptions {
  work: string;
  kib: number;
  rsync: boolean;
  settle: string;
  passes: number;
  passTimeoutMs: number;
}

export function sweepCorpus(files: number, kib: number): string {
  return `(sweep) ${files} × ${kib} KiB`;
}

export async function benchSweepPoint(files: number, options: SweepOptions): Promise<void> {
  const { work, kib } = options;
  const bytes = kib * 1024;
  const dir = join(work, `sweep-${files}`);
  const src = join(dir, 'src', 'output');
  console.error(`(sweep) generating ${files} files of ${kib} KiB …`);
  const total = await makeTree(src, files, bytes);
  syncDisks();
  const base = { corpus: sweepCorpus(files, kib), files, bytes: total };
  const servers: Server[] = [];
  try {
    const agent = await startAgent(src, join(dir, 'state'), { settle: options.settle });
    servers.push(agent);
    await warmAgent(agent.url);
    const dest = join(dir, 'dest');
    const rsyncDest = join(dir, 'rsync');
    if (options.rsync) {
      const cold = await timeCommand('rsync', ['-a', `${src}/`, `${rsyncDest}/`]);
      record({ ...base, scenario: 'cold', tool: 'rsync', wallMs: cold.wallMs });
      syncDisks();
      const still = await timeCommand('rsync', ['-a', `${src}/`, `${rsyncDest}/`]);
      record({ ...base, scenario: 'no-change', tool: 'rsync', wallMs: still.wallMs, bytes: 0 });
      await rm(rsyncDest, { recursive: true, force: true });
      syncDisks();
    }
    const cold = await forgeSync(dest, agent.url, files);
    record({
      ...base,
      scenario: 'cold',
      tool: 'forge-sync',
      wallMs: cold.wallMs,
      peakRssMiB: cold.peakRssMiB,
      agentPeakRssMiB: await peakRssMiB(agent.child.pid!),
    });
    const still = await forgeSync(dest, agent.url, 0);
    record({
      ...base,
      scenario: 'no-change',
      tool: 'forge-sync',
      wallMs: still.wallMs,
      bytes: 0,
      peakRssMiB: still.peakRssMiB,
    });

    const controller = await startController(dest, agent.url, '10m');
    servers.push(controller);
    const client = await DaemonClient.connect(controller);
    try {
      await client.waitQuiet(QUIET_MS, options.passTimeoutMs);
      const passesMs: number[] = [];
      for (let i = 0; i < options.passes; i++)
        passesMs.push((await client.pass(0, options.passTimeoutMs)).wallMs);
      record({
        ...base,
        scenario: 'no-change',
        tool: 'forge-sync daemon',
        bytes: 0,
        wallMs: median(passesMs),
        passesMs,
        peakRssMiB: await peakRssMiB(controller.child.pid!),
        agentPeakRssMiB: await peakRssMiB(agent.child.pid!),
        note: `median of ${options.passes} passes; peak RSS of the controller since its start (a no-change first pass)`,
      });
    } finally {
      client.close();
    }
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
