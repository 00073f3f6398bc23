// One sync pass over one agent: manifest, diff against the catalog, pull batches in parallel, record.
import type { Logger } from 'pino';
import type { Clock } from '../../common/clock.js';
import { AppError, toAppError } from '../../common/errors.js';
import { type ManifestEntry, diffManifest, planBatches } from '../../common/manifest.js';
import { type AgentSyncResult, Capabilities } from '../../common/protocol.js';
import { forEachLimit } from '../../lib/pool.js';
import type { AgentClient } from '../agents/agent-client.js';
import type { AgentRef } from '../agents/agent-source.js';
import type { Catalog, Provenance } from '../catalog/catalog.js';
import { destFullError, isNoSpace } from '../host-store/dest-space.js';
import { DirtyDirs } from '../host-store/durable.js';
import type { HostRun, HostStore } from '../host-store/host-store.js';
import { extractArchive } from './receive-archive.js';
import { buildRecords } from './build-records.js';
import { INGEST_EVENT_VERSION, type IngestSink } from '../../common/ingest-events.js';
import { scanAgent } from '../agents/read-manifest.js';
import type { ProgressReporter } from '../progress/progress-hub.js';
import type { SyncLimits } from '../config/target.js';
import { NO_PROGRESS, PhaseTracker } from '../progress/phase-tracker.js';
import type { BatchJournal } from '../host-store/place.js';

export interface SyncAgentDeps {
  client: AgentClient;
  catalog: Catalog;
  /** Where the copies go. */
  store: HostStore;
  /** This run's Placer, and the BatchDurability that makes each batch durable before it is catalogued. */
  run: HostRun;
  /** What every record of this agent says about where its files came from. */
  provenance: Provenance;
  /** Gets a `file.stored` event per record, after the catalog commit. */
  events: IngestSink;
  /** Live progress: scan, sync and per-file messages. */
  progress: ProgressReporter;
  limits: SyncLimits;
  runId: string;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
}

/** What one pass knows of the agent it syncs. */
interface AgentTraits {
  /** It keeps receipts: what is stored is acknowledged, or it will never purge it. */
  receipts: boolean;
}

/**
 * Never throws: a failure of the whole agent lands in `error`, a failure of one file in `problems`.
 * Files stored before a failure stay stored and catalogued.
 */
export async function syncAgent(agent: AgentRef, deps: SyncAgentDeps): Promise<AgentSyncResult> {
  const { logger, clock } = deps;
  const startedAt = new Date(clock.now()).toISOString();
  const result: AgentSyncResult = {
    name: agent.name,
    ok: false,
    runId: deps.runId,
    startedAt,
    finishedAt: startedAt,
    filesTransferred: 0,
    bytesTransferred: 0,
    filesUnchanged: 0,
    filesPending: 0,
    errors: 0,
    problems: [],
  };
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
    const { entries, pending } = manifest;
    result.manifest = manifest.incremental ? 'changes' : 'full';
    const stored = manifest.incremental
      ? await deps.catalog.storedIndexOf(
          agent.name,
          entries.map((entry) => entry.path),
        )
      : await deps.catalog.storedIndex(agent.name);
    const diff = diffManifest(entries, stored);
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
    const batches = planBatches(diff.toPull, deps.limits);
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
      bytesTotal: diff.toPull.reduce((sum, entry) => sum + entry.size, 0),
    });
    deps.progress.publish({ type: 'sync.started', ...ids, progress: tracker.progress() });

    let firstError: AppError | undefined;
    await forEachLimit(batches, deps.limits.streams, async (batch) => {
      if (firstError) return;
      const error = await transferBatch(agent, batch, deps, result, tracker!, traits);
      firstError ??= error;
    });
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

/** Pulls one batch, records what landed, and returns the stream's error if it failed. */
async function transferBatch(
  agent: AgentRef,
  batch: ManifestEntry[],
  deps: SyncAgentDeps,
  result: AgentSyncResult,
  tracker: PhaseTracker,
  traits: AgentTraits,
): Promise<AppError | undefined> {
  const requested = new Map(batch.map((entry) => [entry.path, entry]));
  const dirty = new DirtyDirs();
  let extracted;
  let journal: BatchJournal | undefined;
  try {
    const bytes = batch.reduce((sum, entry) => sum + entry.size, 0);
    await deps.store.ensureFreeSpace(bytes, `the next batch of ${agent.name} (${batch.length} files)`);
    journal = await deps.run.placer.prepare(agent.name, batch);
    const source = await deps.client.archive(
      batch.map(({ path, xxh64, size }) => ({ path, xxh64, size })),
      deps.signal,
    );
    extracted = await extractArchive(source, {
      agent: agent.name,
      createTemp: () => deps.store.createTemp(),
      destName: deps.store.name,
      requested,
      placer: deps.run.placer,
      dirty,
      fsyncEachFile: deps.run.durability.fsyncEachFile,
      onBytes: (bytes) => tracker.add(0, bytes),
      onStored: (file) => {
        tracker.add(1, 0);
        // Live lists show each file as it is placed; ingest events still wait for the catalog commit.
        deps.progress.publish({
          type: 'file.stored',
          agent: agent.name,
          runId: deps.runId,
          path: file.entry.path,
          storedPath: file.storedPath,
          size: file.entry.size,
        });
      },
    });
  } catch (err) {
    journal?.abandon();
    if (isNoSpace(err)) return destFullError(deps.store.name, `storing a batch of ${agent.name}`, err);
    return toAppError(err, 'E_IO');
  }
  let records;
  try {
    // Durable first, catalogued second: a record always names a complete copy.
    await deps.run.durability.commit(
      dirty,
      extracted.stored.map((file) => deps.store.pathOf(file.storedPath)),
    );
    records = await buildRecords(extracted.stored, {
      agent: agent.name,
      runId: deps.runId,
      syncedAt: new Date(deps.clock.now()),
      provenance: deps.provenance,
      catalog: deps.catalog,
    });
    await deps.catalog.recordStored(records);
  } catch (err) {
    journal.abandon();
    if (isNoSpace(err)) {
      throw destFullError(
        deps.store.name,
        `recording ${extracted.stored.length} files of ${agent.name}`,
        err,
      );
    }
    throw err;
  }
  // Every name created in place is catalogued: the batch's list has done its work.
  await journal.close();
  if (traits.receipts) await acknowledge(extracted.archiveId, extracted.stored, deps);
  for (const record of records) {
    deps.events.emit({
      type: 'file.stored',
      v: INGEST_EVENT_VERSION,
      runId: record.runId,
      agent: record.agent,
      containerPath: record.containerPath,
      storedPath: record.storedPath,
      hostPath: deps.store.pathOf(record.storedPath),
      size: record.size,
      mtimeMs: record.mtimeMs,
      xxh64: record.xxh64,
      syncedAt: record.syncedAt.toISOString(),
      provenance: record.provenance,
      metadata: record.metadata,
      ...(record.media ? { media: record.media } : {}),
      ...(record.metaFrom ? { metaFrom: record.metaFrom } : {}),
    });
  }
  const ids = { agent: agent.name, runId: deps.runId };
  for (const file of extracted.stored) {
    result.filesTransferred++;
    result.bytesTransferred += file.entry.size;
    deps.logger.debug(
      { file: file.entry.path, storedPath: file.storedPath, bytes: file.entry.size, fresh: file.fresh },
      'file stored',
    );
  }
  for (const problem of extracted.problems) {
    deps.logger.warn({ file: problem.path, code: problem.code }, problem.message);
    result.problems.push(problem);
    deps.progress.publish({
      type: 'file.rejected',
      ...ids,
      path: problem.path,
      code: problem.code,
      message: problem.message,
    });
  }
  // Every requested file is now done one way or another: the rest were rejected or left for a later pass.
  tracker.add(batch.length - extracted.stored.length, 0);
  for (const skip of extracted.skipped) {
    if (skip.reason === 'changed' || skip.reason === 'vanished' || skip.reason === 'changed-during-read') {
      result.filesPending++;
      deps.logger.info(
        { file: skip.path, reason: skip.reason },
        'file not sent; it will be synced on a later pass',
      );
    } else {
      result.problems.push({
        code: 'E_PROTOCOL',
        path: skip.path,
        message: `agent refused to send it: ${skip.message}`,
      });
    }
  }
  return extracted.streamError;
}

/**
 * Tells the agent which files of the archive are now stored, verified, durable and catalogued, so
 * it may purge them later. A failure costs nothing now: a purge streams such files once more,
 * checks their bytes and acknowledges them then.
 */
async function acknowledge(
  archiveId: string | undefined,
  stored: readonly { entry: ManifestEntry }[],
  deps: SyncAgentDeps,
): Promise<void> {
  if (stored.length === 0) return;
  if (!archiveId) {
    deps.logger.warn(
      { files: stored.length },
      'the archive had no id to acknowledge; a purge streams these files again first',
    );
    return;
  }
  try {
    const files = stored.map(({ entry }) => ({ path: entry.path, xxh64: entry.xxh64 }));
    const answer = await deps.client.ack(archiveId, files, deps.signal);
    if (answer.refused.length > 0) {
      deps.logger.warn(
        { refused: answer.refused.slice(0, 20), count: answer.refused.length },
        'the agent kept no receipt for some stored files; a purge streams them again first',
      );
    }
  } catch (err) {
    deps.logger.warn({ err }, 'could not acknowledge stored files; a purge streams them again first');
  }
}
