// One batch of a sync pass: checked for space, journalled, pulled as one archive, made durable, catalogued, acknowledged.
import type { Logger } from 'pino';
import type { Clock } from '../../common/clock.js';
import { AppError, toAppError } from '../../common/errors.js';
import { INGEST_EVENT_VERSION, type IngestSink } from '../../common/ingest-events.js';
import type { ManifestEntry } from '../../common/manifest.js';
import type { AgentSyncResult } from '../../common/run-results.js';
import type { AgentClient } from '../agents/agent-client.js';
import type { AgentRef } from '../agents/agent-source.js';
import type { Catalog, Provenance } from '../catalog/catalog.js';
import type { SyncLimits } from '../config/target.js';
import { destFullError, isNoSpace } from '../host-store/dest-space.js';
import { DirtyDirs } from '../host-store/durable.js';
import type { HostRun, HostStore } from '../host-store/host-store.js';
import type { BatchJournal } from '../host-store/place.js';
import type { PhaseTracker } from '../progress/phase-tracker.js';
import type { ProgressReporter } from '../progress/progress-hub.js';
import { buildRecords } from './build-records.js';
import { type ExtractResult, extractArchive } from './receive-archive.js';
import { markingOffForTransfer } from '../../lib/gc-tuning.js';

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
export interface AgentTraits {
  /** It keeps receipts: what is stored is acknowledged, or it will never purge it. */
  receipts: boolean;
}

/** A batch whose archive has been read: its files are in place, not yet durable or catalogued. */
export interface ReceivedBatch {
  batch: readonly ManifestEntry[];
  extracted: ExtractResult;
  journal: BatchJournal;
  dirty: DirtyDirs;
  /** Its files were fsynced as they were written (the durability mode when it began). */
  filesSynced: boolean;
}

/**
 * Pulls one batch: checks the space, lists the names it may create, reads the archive into place.
 * Returns the error that stopped it before any file could be kept; `finishBatch` does the rest.
 */
export async function receiveBatch(
  agent: AgentRef,
  batch: ManifestEntry[],
  deps: SyncAgentDeps,
  tracker: PhaseTracker,
): Promise<ReceivedBatch | AppError> {
  const requested = new Map(batch.map((entry) => [entry.path, entry]));
  const dirty = new DirtyDirs();
  let extracted;
  let journal: BatchJournal | undefined;
  const bytes = batch.reduce((sum, entry) => sum + entry.size, 0);
  const filesSynced = deps.run.durability.fsyncEachFile;
  const releaseGc = markingOffForTransfer(batch.length, bytes);
  try {
    await deps.store.ensureFreeSpace(bytes, `the next batch of ${agent.name} (${batch.length} files)`);
    // The agent starts on the archive while the batch's names are looked up and listed on disk:
    // asking creates nothing here, and nothing is read from the answer before the list is durable.
    const answer = deps.client.archive(
      batch.map(({ path, xxh64, size }) => ({ path, xxh64, size })),
      deps.signal,
    );
    // Handled now, so a refusal that comes while the names are looked up is not unhandled; the
    // await below still throws it.
    answer.catch(() => undefined);
    try {
      journal = await deps.run.placer.prepare(agent.name, batch);
    } catch (err) {
      answer.then(
        (unread) => unread.destroy(),
        () => undefined,
      );
      throw err;
    }
    const source = await answer;
    extracted = await extractArchive(source, {
      agent: agent.name,
      createTemp: () => deps.store.createTemp(),
      destName: deps.store.name,
      requested,
      placer: deps.run.placer,
      dirty,
      fsyncEachFile: filesSynced,
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
  } finally {
    releaseGc();
  }
  return { batch, extracted, journal, dirty, filesSynced };
}

/**
 * Makes a received batch durable, catalogues it, acknowledges it to the agent and counts it; returns
 * the stream's error if the archive broke off. Throws when the copies cannot be made durable or
 * recorded: the pass stops there, and the batch's list of names stays for the next start.
 */
export async function finishBatch(
  agent: AgentRef,
  { batch, extracted, journal, dirty, filesSynced }: ReceivedBatch,
  deps: SyncAgentDeps,
  result: AgentSyncResult,
  tracker: PhaseTracker,
  traits: AgentTraits,
): Promise<AppError | undefined> {
  let records;
  try {
    // Durable first, catalogued second: a record always names a complete copy. The records
    // (metadata, companions' lookups) are built while the disk commits the batch; the catalog's
    // transaction opens only once it has, so no other batch or agent waits on this disk's flush.
    const [built, synced] = await Promise.allSettled([
      buildRecords(extracted.stored, {
        agent: agent.name,
        runId: deps.runId,
        syncedAt: new Date(deps.clock.now()),
        provenance: deps.provenance,
        catalog: deps.catalog,
      }),
      deps.run.durability.commit(
        dirty,
        extracted.stored.map((file) => deps.store.pathOf(file.storedPath)),
        filesSynced,
      ),
    ]);
    // A batch that cannot be made durable says so first, whatever else failed.
    if (synced.status === 'rejected') throw synced.reason;
    if (built.status === 'rejected') throw built.reason;
    records = built.value;
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
