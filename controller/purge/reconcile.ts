// Settling deletions an interrupted purge asked for and never recorded: still in the container, deleted
// (the agent's journal says in which run and when), or unknown, with why.
import type { ManifestEntry } from '../../common/manifest.js';
import { MAX_PURGE_FILES } from '../../common/protocol.js';
import type { Logger } from 'pino';
import type { AgentClient } from '../agents/agent-client.js';
import type { Catalog, SettledPurge, UnsettledPurge } from '../catalog/catalog.js';

/** What settling needs of a purge of one agent. */
export interface ReconcileDeps {
  catalog: Catalog;
  client: AgentClient;
  runId: string;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * Rows of this agent still marked `requested` belong to a purge run that stopped between asking
 * the agent and recording its answer (the agent finishes a request whoever hung up). A file still
 * listed with that content was not deleted: `kept:interrupted`. For the others the agent is asked,
 * in a dry run that deletes nothing, what became of them: its journal names the run that deleted
 * one (`purged`, with the time); otherwise the outcome is `unknown:<what the agent saw>`, such as
 * `unknown:vanished`. Runs inside the agent's purge, so no other purge of it is under way.
 */
export async function reconcileRequested(
  agent: string,
  entries: readonly ManifestEntry[],
  deps: ReconcileDeps,
  /** Without the purge token the agent cannot be asked: rows of files gone stay `requested`. */
  askAgent = true,
): Promise<void> {
  const unsettled = await deps.catalog.unsettledPurges(agent);
  if (unsettled.length === 0) return;
  const listed = new Set(entries.map((entry) => `${entry.path}\0${entry.xxh64}`));
  const settled: SettledPurge[] = [];
  const gone: UnsettledPurge[] = [];
  for (const row of unsettled) {
    if (listed.has(`${row.containerPath}\0${row.xxh64}`)) settled.push(outcome(row, 'kept:interrupted'));
    else gone.push(row);
  }
  if (!askAgent && gone.length > 0) {
    deps.logger.warn(
      { files: gone.length },
      'deletions an interrupted purge left without an outcome stay open: asking the agent about them takes the purge token; the next purge settles them',
    );
    gone.length = 0;
  }
  for (let i = 0; i < gone.length; i += MAX_PURGE_FILES) {
    const chunk = gone.slice(i, i + MAX_PURGE_FILES);
    const response = await deps.client.purge(
      {
        runId: deps.runId,
        dryRun: true,
        // The inode is not catalogued; 0 never matches, so a file still there reads as changed.
        files: chunk.map((row) => ({
          path: row.containerPath,
          xxh64: row.xxh64,
          size: row.size,
          mtimeMs: row.mtimeMs,
          ino: 0,
        })),
      },
      deps.signal,
    );
    const answers = new Map(response.results.map((item) => [item.path, item]));
    for (const row of chunk) {
      const answer = answers.get(row.containerPath);
      const at = answer?.purgedBy ? new Date(answer.purgedBy.at) : null;
      if (at && !Number.isNaN(at.getTime())) settled.push(outcome(row, 'purged', at));
      else {
        settled.push(outcome(row, `unknown:${answer?.reason ?? 'no-answer'}`));
      }
    }
  }
  if (settled.length === 0) return;
  await deps.catalog.settlePurges(agent, settled);
  const counts: Record<string, number> = {};
  for (const item of settled) counts[item.outcome] = (counts[item.outcome] ?? 0) + 1;
  deps.logger.warn({ outcomes: counts }, 'settled deletions an interrupted purge left without an outcome');
}

function outcome(row: UnsettledPurge, value: string, purgedAt: Date | null = null): SettledPurge {
  return { containerPath: row.containerPath, xxh64: row.xxh64, runId: row.runId, outcome: value, purgedAt };
}
