// The agent alone: serving a corpus of small files as archives to a client that reads and drops them,
// against `tar -c` of the same folder piped away. No file is created, so the disk's state after
// other groups cannot move the figure; the agent's CPU for each round is recorded beside its time.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchiveRequestFile } from '../common/protocol.js';
import { HttpAgentClient } from '../controller/agents/agent-client.js';
import { makeTree } from './corpus.js';
import {
  type Server,
  TOKEN,
  peakRssMiB,
  startAgent,
  syncDisks,
  timeCommand,
  warmAgent,
} from './processes.js';
import { median, record, round } from './records.js';

/** Files asked for in one archive request, as the controller's batches of small files are. */
const BATCH_FILES = 500;

/** User and system CPU of a process so far, in ms (from /proc/PID/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function benchServe(
  work: string,
  files: number,
  kib: number,
  settle: string,
  rounds: number,
): Promise<void> {
  const dir = join(work, 'serve');
  const src = join(dir, 'src', 'output');
  console.error(`(serve) generating ${files} files of ${kib} KiB …`);
  const bytes = await makeTree(src, files, kib * 1024);
  syncDisks();
  const base = { corpus: `(serve) ${files} × ${kib} KiB`, files, bytes, scenario: 'serve' as const };
  let agent: Server | undefined;
  try {
    agent = await startAgent(src, join(dir, 'state'), { settle });
    await warmAgent(agent.url);
    const client = new HttpAgentClient({ name: 'bench', url: agent.url }, TOKEN);
    const listed: ArchiveRequestFile[] = [];
    for await (const line of client.manifest()) {
      if (line.type === 'file') listed.push({ path: line.path, size: line.size, xxh64: line.xxh64 });
    }
    if (listed.length !== files) throw new Error(`the agent listed ${listed.length} of ${files} files`);
    const pid = agent.child.pid!;
    const tarMs: number[] = [];
    const serveMs: number[] = [];
    const serveCpuMs: number[] = [];
    // One untimed round first: the agent's code and the page cache warm, as for tar's first read.
    for (let r = 0; r <= rounds; r++) {
      // `| cat`: GNU tar does not read the files at all when its archive is /dev/null itself.
      const tar = await timeCommand('sh', ['-c', `tar -C "${src}" -cf - . | cat > /dev/null`]);
      const cpuBefore = cpuMs(pid);
      const start = performance.now();
      for (let i = 0; i < listed.length; i += BATCH_FILES) {
        const reader = await client.archive(listed.slice(i, i + BATCH_FILES));
        while ((await reader.next()) !== null);
      }
      if (r === 0) continue;
      tarMs.push(tar.wallMs);
      serveMs.push(performance.now() - start);
      serveCpuMs.push(cpuMs(pid) - cpuBefore);
      console.error(
        `  round ${r}/${rounds}: tar -c ${round(tar.wallMs)} ms, agent ${round(serveMs.at(-1)!)} ms`,
      );
    }
    record({
      ...base,
      tool: 'tar -c',
      wallMs: median(tarMs),
      passesMs: tarMs,
      note: `median of ${rounds} rounds`,
    });
    record({
      ...base,
      tool: 'forge-sync agent',
      wallMs: median(serveMs),
      passesMs: serveMs,
      agentCpuMs: median(serveCpuMs),
      agentPeakRssMiB: await peakRssMiB(pid),
      note: `median of ${rounds} rounds after a first, interleaved with tar; archives of ${BATCH_FILES} files read and dropped by a client in the bench's process; agent CPU a round: median ${round(median(serveCpuMs) / 1000)} s (${serveCpuMs.map((ms) => round(ms / 1000)).join(', ')})`,
    });
  } finally {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
