// One purge pass over one agent: fresh manifest, plan against the catalog, check host copies, ask the agent, record.
import type { Logger } from 'pino';
import type { Clock } from '../../common/clock.js';
import { AppError, errorMessage, toAppError } from '../../common/errors.js';
import {
  Capabilities,
  MAX_PURGE_FILES,
  type PurgeRequestFile,
  type PurgeResponse,
} from '../../common/protocol.js';
import { type AgentPurgeResult } from '../../common/run-results.js';
import { type PurgeCandidate, countKept, planPurge, purgeCap } from '../../common/purge-plan.js';
import type { AgentClient } from '../agents/agent-client.js';
import type { AgentRef } from '../agents/agent-source.js';
import type { Catalog } from '../catalog/catalog.js';
import type { HostStore } from '../host-store/host-store.js';
import { reconcileRequested } from './reconcile.js';
import { refreshReceipts } from './receipt-refresh.js';
import { INGEST_EVENT_VERSION, type IngestSink } from '../../common/ingest-events.js';
import { scanAgent } from '../agents/read-manifest.js';
import type { ProgressReporter } from '../progress/progress-hub.js';
import type { PurgeOptions } from '../config/purge-config.js';
import { NO_PROGRESS, PhaseTracker } from '../progress/phase-tracker.js';

export interface PurgeAgentDeps {
  client: AgentClient;
  catalog: Catalog;
  /** Where the copies are: each is checked there before its original may go. */
  store: Pick<HostStore, 'checkCopy' | 'assertReadable'>;
  options: PurgeOptions;
  runId: string;
  clock: Clock;
  logger: Logger;
  /** Gets a `file.purged` event per deleted file, after the catalog records it. */
  events: IngestSink;
  /** Live progress: scan and purge messages. */
  progress: ProgressReporter;
  signal?: AbortSignal;
}

/** Host copies that fail their check before the purge of an agent stops: at least this many, and half of those checked. */
const STOP_AFTER_FAILURES = 10;

/**
 * Never throws: a failure of the whole agent lands in `error`. Each deletion is written to the
 * catalog before the agent is asked, and its outcome after.
 */
export async function purgeAgent(agent: AgentRef, deps: PurgeAgentDeps): Promise<AgentPurgeResult> {
  const { options, logger } = deps;
  const result: AgentPurgeResult = {
    name: agent.name,
    ok: false,
    runId: deps.runId,
    dryRun: options.dryRun,
    filesPurged: 0,
    bytesFreed: 0,
    purged: [],
    kept: {},
    problems: [],
  };
  const ids = { agent: agent.name, runId: deps.runId };
  let tracker: PhaseTracker | undefined;
  try {
    const last = await deps.catalog.lastSync(agent.name);
    if (!last?.ok) {
      throw new AppError(
        'E_PURGE_REFUSED',
        last
          ? `the last sync of agent ${agent.name} (${last.runId}) failed; purge skipped until a sync succeeds`
          : `agent ${agent.name} has never been synced into this destination; purge skipped`,
      );
    }
    await deps.store.assertReadable();
    const info = await deps.client.info(deps.signal);
    if (!info.capabilities.includes(Capabilities.purge)) {
      throw new AppError('E_PROTOCOL_MISMATCH', `agent ${agent.name} does not offer purge; upgrade it`);
    }
    const { table } = await scanAgent(
      deps.client,
      result.problems,
      ids,
      { reporter: deps.progress, clock: deps.clock },
      deps.signal,
    );
    const entries = [...table.entries()];
    // Deletions an interrupted run asked for and never heard back about get their outcome first (a
    // dry run writes nothing to the catalog, so it leaves them to the next real one).
    if (!options.dryRun) await reconcileRequested(agent.name, entries, deps);
    const receipts = info.capabilities.includes(Capabilities.receipts);
    const plan = planPurge(entries, await deps.catalog.storedCopies(agent.name), {
      nowMs: deps.clock.now(),
      olderThanMs: options.olderThanMs,
    });
    result.kept = plan.kept;
    const cap = purgeCap(entries.length, options);
    logger.info(
      { files: entries.length, candidates: plan.candidates.length, cap, dryRun: options.dryRun },
      'purge planned',
    );
    const planned = plan.candidates.slice(0, Math.min(cap, plan.candidates.length));
    tracker = new PhaseTracker(
      deps.progress,
      deps.clock,
      'purge',
      ids,
      {
        filesTotal: planned.length,
        bytesTotal: planned.reduce((sum, candidate) => sum + candidate.entry.size, 0),
      },
      { dryRun: options.dryRun },
    );
    deps.progress.publish({
      type: 'purge.started',
      ...ids,
      progress: tracker.progress(),
      dryRun: options.dryRun,
    });
    await purgeCandidates(plan.candidates, cap, deps, result, tracker, receipts);
  } catch (err) {
    const error = toAppError(err, 'E_IO');
    result.error = { code: error.code, message: error.message };
    logger.error({ err: error, code: error.code }, 'purge of agent stopped');
    deps.progress.publish({ type: 'error', ...ids, code: error.code, message: error.message });
  }
  result.ok = !result.error && result.problems.length === 0;
  logger.info(
    {
      filesPurged: result.filesPurged,
      bytesFreed: result.bytesFreed,
      kept: result.kept,
      dryRun: options.dryRun,
    },
    'purge of agent done',
  );
  const progress = tracker?.progress() ?? NO_PROGRESS;
  deps.progress.publish({ type: 'purge.completed', ...ids, progress, result });
  return result;
}

/** Checks host copies in order, and sends the ones that pass to the agent in batches, up to the cap. */
async function purgeCandidates(
  candidates: PurgeCandidate[],
  cap: number,
  deps: PurgeAgentDeps,
  result: AgentPurgeResult,
  tracker: PhaseTracker,
  receipts: boolean,
): Promise<void> {
  const { options, logger } = deps;
  let checked = 0;
  let failures = 0;
  let accepted = 0;
  let batch: PurgeCandidate[] = [];
  for (let i = 0; i < candidates.length; i++) {
    if (accepted >= cap) {
      countKept(result.kept, 'over-cap', candidates.length - i);
      break;
    }
    const candidate = candidates[i]!;
    const state = await deps.store
      .checkCopy(candidate.copy, candidate.entry.xxh64, options.verify)
      .catch((err: unknown) => {
        throw new AppError(
          'E_PURGE_STOPPED',
          `the destination cannot be read (${errorMessage(err)}); purge stopped`,
          { cause: err },
        );
      });
    checked++;
    if (state !== 'ok') {
      failures++;
      countKept(result.kept, state);
      const message = `host copy ${candidate.copy.storedPath} is ${state.replace('host-copy-', '')}; the container file is kept`;
      result.problems.push({ code: 'E_HOST_COPY', path: candidate.entry.path, message });
      logger.warn({ file: candidate.entry.path, storedPath: candidate.copy.storedPath, state }, message);
      if (failures >= STOP_AFTER_FAILURES && failures * 2 >= checked) {
        countKept(result.kept, 'over-cap', candidates.length - i - 1);
        throw new AppError(
          'E_PURGE_STOPPED',
          `${failures} of ${checked} host copies failed their check; purge stopped`,
        );
      }
      continue;
    }
    batch.push(candidate);
    accepted++;
    if (batch.length >= MAX_PURGE_FILES) {
      await sendBatch(batch, deps, result, tracker, receipts);
      batch = [];
    }
  }
  if (batch.length > 0) await sendBatch(batch, deps, result, tracker, receipts);
}

async function sendBatch(
  batch: PurgeCandidate[],
  deps: PurgeAgentDeps,
  result: AgentPurgeResult,
  tracker: PhaseTracker,
  receipts: boolean,
): Promise<void> {
  const { catalog, options, runId, logger } = deps;
  const agent = result.name;
  const files: PurgeRequestFile[] = batch.map(({ entry }) => ({
    path: entry.path,
    xxh64: entry.xxh64,
    size: entry.size,
    mtimeMs: entry.mtimeMs,
    ino: entry.ino,
  }));
  const keys = batch.map(({ entry }) => ({ containerPath: entry.path, xxh64: entry.xxh64 }));
  if (!options.dryRun) await catalog.markPurgeRequested(agent, runId, keys);
  // The age goes as a duration: the agent judges it by its own clock, whatever time it is here.
  const ask = (list: PurgeRequestFile[]): Promise<PurgeResponse> =>
    deps.client.purge(
      { runId, dryRun: options.dryRun, olderThanMs: options.olderThanMs, files: list },
      deps.signal,
    );
  const response = await ask(files);
  const byPath = new Map(response.results.map((item) => [item.path, item]));
  if (receipts) {
    // Files the agent holds no receipt for (synced before it kept them, or an acknowledgement that
    // was lost) are streamed once more, checked against the catalog and acknowledged, then asked again.
    const unreceipted = files.filter((file) => byPath.get(file.path)?.reason === 'no-receipt');
    if (unreceipted.length > 0) {
      const acknowledged = await refreshReceipts(deps.client, unreceipted, deps.signal).catch(
        (err: unknown) => {
          logger.warn(
            { err, files: unreceipted.length },
            'could not stream files again for their receipts; kept',
          );
          return new Set<string>();
        },
      );
      logger.info({ files: unreceipted.length, acknowledged: acknowledged.size }, 'receipts refreshed');
      const again = unreceipted.filter((file) => acknowledged.has(file.path));
      if (again.length > 0) for (const item of (await ask(again)).results) byPath.set(item.path, item);
    }
  }
  tracker.add(
    batch.length,
    batch.reduce((sum, { entry }) => sum + entry.size, 0),
  );
  const outcomes = [];
  for (const { entry } of batch) {
    const item = byPath.get(entry.path);
    const gone = item?.outcome === 'purged' || item?.outcome === 'would-purge';
    if (gone) {
      result.filesPurged++;
      result.bytesFreed += entry.size;
      result.purged.push(entry.path);
      logger.debug(
        { file: entry.path, bytes: entry.size, dryRun: options.dryRun },
        options.dryRun ? 'would purge' : 'purged',
      );
    } else {
      const reason = item?.reason ?? 'failed';
      countKept(result.kept, reason);
      if (reason === 'failed') {
        result.problems.push({
          code: 'E_IO',
          path: entry.path,
          message: item?.message ?? 'the agent did not report on this file',
        });
      }
    }
    outcomes.push({
      containerPath: entry.path,
      xxh64: entry.xxh64,
      purged: item?.outcome === 'purged',
      reason: item?.reason ?? 'failed',
    });
  }
  if (options.dryRun) return;
  const purgedAt = new Date(deps.clock.now());
  await catalog.recordPurgeOutcomes(agent, runId, outcomes, purgedAt);
  for (const outcome of outcomes) {
    if (!outcome.purged) continue;
    deps.events.emit({
      type: 'file.purged',
      v: INGEST_EVENT_VERSION,
      runId,
      agent,
      containerPath: outcome.containerPath,
      xxh64: outcome.xxh64,
      purgedAt: purgedAt.toISOString(),
    });
  }
}
