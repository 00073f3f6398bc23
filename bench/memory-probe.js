// Preloaded by bench/agent-memory.ts into an agent: on SIGUSR2 prints its memory breakdown to stderr
// (and writes a heap snapshot to AGENT_MEM_SNAPSHOT when the bench left `<that>.want` beside it), so the
// bench can see what holds it.
import { existsSync, rmSync } from 'node:fs';
import { writeHeapSnapshot, getHeapSpaceStatistics } from 'node:v8';

process.on('SIGUSR2', () => {
  const usage = process.memoryUsage();
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((space) => [
      space.space_name,
      +(space.space_used_size / 2 ** 20).toFixed(1),
    ]),
  );
  const mib = Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, +(v / 2 ** 20).toFixed(1)]));
  let snapshot = null;
  const target = process.env.AGENT_MEM_SNAPSHOT;
  if (target && existsSync(`${target}.want`)) {
    rmSync(`${target}.want`);
    snapshot = writeHeapSnapshot(target);
  }
  process.stderr.write(`mem-probe ${JSON.stringify({ ...mib, spaces, snapshot })}\n`);
});
