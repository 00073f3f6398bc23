// The load group: 8 agents × 20,000 small files into one controller daemon, 50 progress clients watching; fails past its memory bound.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runLoad } from './load.js';
import { record } from './records.js';

export interface LoadBenchOptions {
  agents: number;
  files: number;
  kib: number;
  clients: number;
  timeoutMs: number;
}

/**
 * The controller's peak RSS allowed for the full size. Measured at about 440 MiB for 8 × 20,000
 * files of 2 KiB with 50 clients (from about 200 MiB at start, most of it the embedded catalog), on a
 * busy 2-core machine; a per-file leak of a few KiB would pass it.
 */
export const LOAD_PEAK_MIB = 700;

export async function benchLoad(work: string, options: LoadBenchOptions): Promise<void> {
  const dir = join(work, 'load');
  await mkdir(dir, { recursive: true });
  try {
    const figures = await runLoad({
      work: dir,
      agents: options.agents,
      files: options.files,
      bytes: options.kib * 1024,
      clients: options.clients,
      timeoutMs: options.timeoutMs,
      say: (line) => console.error(`(load) ${line}`),
    });
    record({
      corpus: `(load) ${options.agents} agents × ${options.files} × ${options.kib} KiB, ${options.clients} progress clients`,
      scenario: 'load',
      tool: 'forge-sync daemon',
      files: figures.files,
      bytes: figures.bytes,
      wallMs: figures.wallMs,
      peakRssMiB: figures.controllerPeakRssMiB,
      agentPeakRssMiB: figures.agentPeakRssMiB,
      note:
        `one pass, POST /v1/sync until every client heard every agent's end; controller RSS ` +
        `${figures.controllerStartRssMiB.toFixed(0)} MiB before it; files written and listed by the ` +
        `agents in ${(figures.generateMs / 1000).toFixed(1)} s before; ${figures.storedFiles} stored, ` +
        `${figures.cataloguedFiles} found catalogued by a second sync, ${figures.comparedFiles} compared byte ` +
        `for byte; ${figures.clientsComplete} of ${figures.clients} clients got every file.stored and every ` +
        `end (${figures.clientsDropped} dropped, up to ${figures.messagesMax} messages each)`,
    });
    const failures = [...figures.failures];
    if (figures.controllerPeakRssMiB > LOAD_PEAK_MIB) {
      failures.push(
        `the controller peaked at ${figures.controllerPeakRssMiB.toFixed(0)} MiB, over ${LOAD_PEAK_MIB} MiB`,
      );
    }
    if (failures.length > 0) throw new Error(failures.join('; '));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
