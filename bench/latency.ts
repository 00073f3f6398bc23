// New-file latency through the daemon: a file written into an agent's root, until GET /v1/files lists it.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fillerPool, writePng } from './corpus.js';
import type { DaemonClient } from './daemon.js';

/** How often GET /v1/files is asked when no progress message says a file was stored. */
const POLL_MS = 100;

export interface LatencyOptions {
  files: number;
  bytes: number;
  /** Per file: waited this long before it counts as a miss. */
  timeoutMs: number;
  /** Stop after this many misses in a row: the daemon is not picking new files up at all. */
  giveUpAfter: number;
}

export interface LatencyResult {
  /** Per file written, ms from written to listed; null for a miss. */
  samples: (number | null)[];
  stoppedEarly: boolean;
}

/**
 * Writes files one at a time under `<root>/bench-latency/` with mtime now (as a generator does), and
 * for each measures written → listed by GET /v1/files. Nothing asks the daemon for a pass: only its
 * own mechanism (a push from the agent, or its interval) can bring a file in.
 */
export async function measureNewFileLatency(
  daemon: DaemonClient,
  root: string,
  rootName: string,
  options: LatencyOptions,
): Promise<LatencyResult> {
  const pool = fillerPool(options.bytes);
  // Letters first, so the catalog's text search takes each name as one word.
  const tag = `lat${randomBytes(3).toString('hex')}`;
  const samples: (number | null)[] = [];
  let missesInARow = 0;
  for (let i = 0; i < options.files; i++) {
    const word = `${tag}n${i}`;
    const name = `bench-latency/${word}.png`;
    await writePng(join(root, name), pool, i, options.bytes, word, new Date());
    const written = performance.now();
    const deadline = written + options.timeoutMs;
    let latency: number | null = null;
    while (performance.now() < deadline) {
      const before = daemon.events;
      if (await daemon.listed(word, `${rootName}/${name}`)) {
        latency = performance.now() - written;
        break;
      }
      await daemon.nextEvent(Math.min(POLL_MS, Math.max(1, deadline - performance.now())), before);
    }
    samples.push(latency);
    console.error(
      `  new file ${i + 1}/${options.files}: ${latency === null ? `missed (not listed after ${options.timeoutMs} ms)` : `${Math.round(latency)} ms`}`,
    );
    missesInARow = latency === null ? missesInARow + 1 : 0;
    if (missesInARow >= options.giveUpAfter) return { samples, stoppedEarly: i + 1 < options.files };
  }
  return { samples, stoppedEarly: false };
}
