// Load, scaled down: 8 agents × 1,500 small files into one controller daemon with 50 progress clients; memory bounded, nothing lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../bench/load.js';
import { tempDir } from './helpers/processes.js';

const AGENTS = 8;
const FILES = 1500;
const CLIENTS = 50;
/**
 * The controller's peak resident memory over its whole life (about 200 MiB of it the embedded
 * catalog at start), and its growth during the pass. Measured at about 300 MiB and +100 MiB on a
 * busy 2-core machine; the full size (20,000 files per agent, `npm run bench -- --only load`)
 * peaks near 440 MiB, so these fail when memory grows with the files, not with noise.
 */
const CONTROLLER_PEAK_MIB = 450;
const CONTROLLER_GROWTH_MIB = 220;

describe(`load: ${AGENTS} agents × ${FILES} files, ${CLIENTS} progress clients`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    work = await tempDir('fms-load-');
  });

  afterAll(async () => {
    await work?.[Symbol.asyncDispose]();
  });

  it(
    'stores and catalogues every file, tells every client the end, and keeps memory bounded',
    { timeout: 120_000 },
    async () => {
      const figures = await runLoad({
        work: work.path,
        agents: AGENTS,
        files: FILES,
        bytes: 2048,
        clients: CLIENTS,
        timeoutMs: 100_000,
      });
      process.stderr.write(`${JSON.stringify({ ...figures, agentsPeakRssMiB: undefined })}\n`);
      expect(figures.failures).toEqual([]);
      expect(figures.storedFiles).toBe(AGENTS * FILES);
      expect(figures.cataloguedFiles).toBe(AGENTS * FILES);
      expect(figures.clientsComplete).toBe(CLIENTS);
      expect(figures.clientsDropped).toBe(0);
      expect(figures.fileEventsMin).toBe(AGENTS * FILES);
      expect(figures.controllerPeakRssMiB).toBeLessThan(CONTROLLER_PEAK_MIB);
      expect(figures.controllerPeakRssMiB - figures.controllerStartRssMiB).toBeLessThan(
        CONTROLLER_GROWTH_MIB,
      );
    },
  );
});
