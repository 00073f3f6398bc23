// Purge: `forge-sync purge` deleting a whole synced tree from its agent, with `rm -rf` of a copy of it as the floor.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTree } from './corpus.js';
import {
  type Server,
  forgePurge,
  forgeSync,
  peakRssMiB,
  startAgent,
  syncDisks,
  timeCommand,
  warmAgent,
} from './processes.js';
import { record } from './records.js';

export async function benchPurge(work: string, files: number, kib: number, settle: string): Promise<void> {
  const bytes = kib * 1024;
  const src = join(work, 'purge-src', 'output');
  const copy = join(work, 'purge-rm');
  console.error(`(purge) generating ${files} files of ${kib} KiB, and a copy for rm -rf …`);
  const total = await makeTree(src, files, bytes);
  await timeCommand('cp', ['-a', src, copy]);
  syncDisks();
  const base = { corpus: `(purge) ${files} × ${kib} KiB`, files, bytes: total };
  const dest = join(work, 'purge-dest');
  let agent: Server | undefined;
  try {
    // The files are two days old, far past the agent's --min-purge-age (1h by default).
    agent = await startAgent(src, join(work, 'purge-state'), { settle });
    await warmAgent(agent.url);
    await forgeSync(dest, agent.url, files);
    syncDisks();

    const purge = await forgePurge(dest, agent.url, files);
    const left = await countFiles(src);
    if (left !== 0)
      throw new Error(`forge-sync purge reported all ${files} files purged, but ${left} are still there`);
    record({
      ...base,
      scenario: 'purge',
      tool: 'forge-sync',
      wallMs: purge.wallMs,
      peakRssMiB: purge.peakRssMiB,
      agentPeakRssMiB: await peakRssMiB(agent.child.pid!),
      note: 'one-shot purge --older-than 1d after a cold sync: plan against the catalog, check each host copy, the agent re-checks and deletes',
    });
    const rmRun = await timeCommand('rm', ['-rf', copy]);
    record({
      ...base,
      scenario: 'purge',
      tool: 'rm -rf',
      wallMs: rmRun.wallMs,
      note: 'a floor, not a fair comparison: rm -rf of an identical tree checks and records nothing',
    });
  } finally {
    await agent?.stop();
    for (const dir of ['purge-src', 'purge-rm', 'purge-dest'])
      await rm(join(work, dir), { recursive: true, force: true });
  }
}

/** Regular files left under a folder, however deep. */
async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).length;
}
