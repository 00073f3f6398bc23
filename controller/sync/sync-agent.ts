// One sync pass over one agent: manifest, diff against the catalog, pull batches in parallel, record.
import { AppError, toAppError } from '../../common/errors.js';
import { diffManifest, planBatches } from '../../common/manifest.js';
import { Capabilities, PENDING_ARCHIVES } from '../../common/protocol.js';
import { type AgentSyncResult } from '../../common/run-results.js';
import { TaskGroup, forEachLimit } from '../../lib/pool.js';
import type { AgentRef } from '../agents/agent-source.js';
import { destFullError, isNoSpace } from '../host-store/dest-space.js';
import { scanAgent } from '../agents/read-manifest.js';
import { NO_PROGRESS, PhaseTracker } from '../progress/phase-tracker.js';
import { type AgentTraits, type SyncAgentDeps, finishBatch, receiveBatch } from './transfer-batch.js';

export type { SyncAgentDeps } from './transfer-batch.js';

/** A result with nothing done yet, not ok until the pass says so; started and finished at `at`. */
export function emptySyncResult(name: string, runId: string, at: string): AgentSyncResult {
  return {
    name,
    ok: false,
    runId,
    startedAt: at,
    finishedAt: at,
    filesTransferred: 0,
    bytesTransferred: 0,
    filesUnchanged: 0,
    filesPending: 0,
    errors: 0,
    problems: [],
  };
}

/**
 * Never throws: a failure of the whole agent lands in `error`, a failure of one file in `problems`.
 * Files stored before a failure stay stored and catalogued.
 */
export async function syncAgent(agent: AgentRef, deps: SyncAgentDeps): Promise<AgentSyncResult> {
  const { logger, clock } = deps;
  const startedAt = new Date(clock.now()).toISOString();
  const result = emptySyncResult(agent.name, deps.runId, startedAt);
  const ids = { agent: agent.name, runId: deps.runId };
  let tracker: PhaseTracker | undefined;
  try {
    const info = await deps.client.info(deps.signal);
    // Where the last complete pass left off: the agent then sends only what changed since.
    const since = info.capabilities.includes(Capabilities.manifestSince)
      ? ((await deps.catalog.agentPosition(agent.name)) ?? undefined)
      : undefined;
    const manifest = await scanAgent(
      deps.client,
      result.problems,
      ids,
      { reporter: deps.progress, clock },
      deps.signal,
      since,
    );
    const { table, pending } = manifest;
    result.manifest = manifest.incremental ? 'changes' : 'full';
    const stored = manifest.incremental
      ? await deps.catalog.storedIndexOf(agent.name, table.allPaths())
      : await deps.catalog.storedIndex(agent.name);
    const diff = diffManifest(table, stored);
    // Files an incremental manifest leaves out are as stored as they were at the last position.
    result.filesUnchanged = manifest.incremental ? manifest.files - diff.toPull.length : diff.unchanged;
    result.filesPending = pending;
    if (manifest.pendingReasons) result.pendingReasons = manifest.pendingReasons;
    if (manifest.longPending.length > 0) {
      result.longPending = manifest.longPending;
      logger.warn(
        { longPending: manifest.longPending },
        'files held back by the agent for longer than its limit',
      );
    }
    const traits: AgentTraits = { receipts: info.capabilities.includes(Capabilities.receipts) };
    const batches = planBatches(diff.toPull, deps.limits, (row) => table.size(row));
    logger[manifest.incremental && diff.toPull.length === 0 ? 'debug' : 'info'](
      {
        files: manifest.files,
        incremental: manifest.incremental,
        toPull: diff.toPull.length,
        unchanged: diff.unchanged,
        pending,
        batches: batches.length,
      },
      'sync planned',
    );
    tracker = new PhaseTracker(deps.progress, clock, 'sync', ids, {
      filesTotal: diff.toPull.length,
      bytesTotal: diff.toPull.reduce((sum, row) => sum + table.size(row), 0),
    });
    deps.progress.publish({ type: 'sync.started', ...ids, progress: tracker.progress() });

    let firstError: AppError | undefined;
    // A stream takes its next batch as soon as an archive is read; the batch read is made durable
    // and catalogued meanwhile, so neither the disk's flush nor the catalog's inserts leave the
    // agent and the receive path idle. Batches read and not yet acknowledged stay within what the
    // agent keeps receipts for.
    const finishing = new TaskGroup(finishingLimit(deps.limits.streams));
    try {
      await forEachLimit(batches, deps.limits.streams, async (rows) => {
        if (firstError || finishing.failed) return;
        // Entry objects for this batch alone, made as it is pulled.
        const batch = rows.map((row) => table.entry(row));
        const received = await receiveBatch(agent, batch, deps, tracker!);
        if (received instanceof AppError) {
          firstError ??= received;
          return;
        }
        await finishing.start(async () => {
          const error = await finishBatch(agent, received, deps, result, tracker!, traits);
          firstError ??= error;
        });
      });
    } finally {
      // Nothing of this pass goes on after it returns; a batch that could not be finished throws here.
      await finishing.settle();
    }
    if (firstError) throw firstError;
    // Everything listed up to this position is stored: the next pass starts from it. After any
    // problem the old position stays, so the next pass is offered the same files again.
    if (manifest.position && result.problems.length === 0) {
      const moved =
        !since ||
        since.epoch !== manifest.position.epoch ||
        since.generation !== manifest.position.generation;
      if (moved) await deps.catalog.recordAgentPosition(agent.name, manifest.position, deps.runId);
    }
  } catch (err) {
    const error = isNoSpace(err)
      ? destFullError(deps.store.name, `syncing ${agent.name}`, err)
      : toAppError(err, 'E_INTERNAL');
    result.error = { code: error.code, message: error.message };
    // A full disk is the destination's state, not a fault in this code: its line, not a stack.
    if (error.code === 'E_DEST_FULL') logger.error({ code: error.code }, error.message);
    else logger.error({ err: error, code: error.code }, 'sync of agent failed');
    deps.progress.publish({ type: 'error', ...ids, code: error.code, message: error.message });
  }
  result.errors = result.problems.length + (result.error ? 1 : 0);
  result.ok = result.errors === 0;
  result.finishedAt = new Date(clock.now()).toISOString();
  logger.info(
    {
      filesTransferred: result.filesTransferred,
      bytes: result.bytesTransferred,
      filesUnchanged: result.filesUnchanged,
      filesPending: result.filesPending,
      errors: result.errors,
      ms: Date.parse(result.finishedAt) - Date.parse(startedAt),
    },
    'sync of agent done',
  );
  const progress = tracker?.progress() ?? NO_PROGRESS;
  deps.progress.publish({ type: 'sync.completed', ...ids, progress, result });
  return result;
}

/**
 * Batches that may wait to be made durable and catalogued while `streams` more are read: as many
 * as the streams, while read and waiting stay within the agent's PENDING_ARCHIVES; at least one.
 */
export function finishingLimit(streams: number): number {
  return Math.max(1, Math.min(streams, PENDING_ARCHIVES - streams));
}
