// One large video: the agent's peak memory while it hashes and while it serves the file, and the cold sync against tar | tar and rsync.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeLargeVideo } from './corpus.js';
import {
  type Server,
  forgeSync,
  peakRssMiB,
  resetPeakRss,
  startAgent,
  syncDisks,
  timeCommand,
  warmAgent,
} from './processes.js';
import { record, round } from './records.js';

export async function benchLargeFile(
  work: string,
  mib: number,
  rsync: boolean,
  settle: string,
): Promise<void> {
  const dir = join(work, 'large');
  const src = join(dir, 'src', 'output');
  console.error(`(large) writing one ${mib} MiB video …`);
  const total = await makeLargeVideo(join(src, 'videos', 'bench-large.mp4'), mib);
  syncDisks();
  const base = { corpus: `(large) 1 × ${mib} MiB`, files: 1, bytes: total };
  let agent: Server | undefined;
  try {
    agent = await startAgent(src, join(dir, 'state'), { settle });
    await warmAgent(agent.url);
    const hashingPeak = await peakRssMiB(agent.child.pid!);
    // From here VmHWM counts serving alone, where the kernel lets it be reset.
    const reset = await resetPeakRss(agent.child.pid!);

    const tarDest = join(dir, 'tar');
    await mkdir(tarDest);
    const tarRun = await timeCommand('sh', [
      '-c',
      `tar -C "${src}" -cf - . | tar -C "${tarDest}" -xf - && sync`,
    ]);
    record({ ...base, scenario: 'cold', tool: 'tar|tar+sync', wallMs: tarRun.wallMs });
    await rm(tarDest, { recursive: true, force: true });
    if (rsync) {
      const rsyncDest = join(dir, 'rsync');
      const run = await timeCommand('rsync', ['-a', `${src}/`, `${rsyncDest}/`]);
      record({ ...base, scenario: 'cold', tool: 'rsync', wallMs: run.wallMs });
      await rm(rsyncDest, { recursive: true, force: true });
    }
    syncDisks();
    const cold = await forgeSync(join(dir, 'dest'), agent.url, 1);
    const servingPeak = await peakRssMiB(agent.child.pid!);
    record({
      ...base,
      scenario: 'cold',
      tool: 'forge-sync',
      wallMs: cold.wallMs,
      peakRssMiB: cold.peakRssMiB,
      agentPeakRssMiB: Math.max(hashingPeak, servingPeak),
      note: reset
        ? `agent peak ${round(hashingPeak)} MiB up to its first manifest (hashing), ${round(servingPeak)} MiB while serving the file`
        : `agent peak over hashing and serving (VmHWM could not be reset)`,
    });
  } finally {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
