// Entry points of the controller's commands (sync, purge, search, reindex, controller): config, logger, store, run, shutdown.
import { systemClock } from '../common/clock.js';
import { resolve } from 'node:path';
import type { PurgeSummary, SyncSummary } from '../common/run-results.js';
import { AppError } from '../common/errors.js';
import { destFullError, isNoSpace } from './host-store/dest-space.js';
import type { SearchPage } from './catalog/catalog.js';
import { noSink } from '../common/ingest-events.js';
import { openNdjsonSink } from '../lib/ndjson-sink.js';
import { type LogFormat, createLogger } from '../lib/logger.js';
import type { AgentLimits } from './config/agent-limits.js';
import type { AgentRef } from './agents/agent-source.js';
import { loadPurgeConfig } from './config/purge-config.js';
import { loadReindexConfig } from './config/reindex-config.js';
import { loadSyncConfig } from './config/sync-config.js';
import { runPurge } from './purge/run-purge.js';
import { openAgents, requireAgents } from './agents/discovery.js';
import type { ProgressReporter } from './progress/progress-hub.js';
import { loadSearchConfig, toSearchQuery } from './config/search-config.js';
import { type ReindexProgress, runReindex } from './reindex/reindex.js';
import { type Store, openCatalog, openStore } from './host-store/open-store.js';
import { type RunContext, runContextOf } from './agents/run-context.js';
import { runSync } from './sync/run-sync.js';

export { controller } from './daemon/run-daemon.js';

interface OneShotConfig {
  dest: string;
  agents: AgentRef[];
  docker: { socketPath: string } | null;
  logFormat: LogFormat;
  logLevel: string;
  catalogUrl: string | undefined;
  events: string | undefined;
  json: boolean;
  concurrency: number;
  agentLimits: AgentLimits;
  token: string | undefined;
  purgeToken?: string | undefined;
}

/**
 * Sets up a one-shot command: logger, agents (static and discovered), the destination and the events
 * sink; runs it with a signal that Ctrl-C aborts, and closes everything whatever happens.
 */
/** A terminal's live display for a one-shot command: progress goes to it, and log lines through it. */
export interface LiveDisplay extends ProgressReporter {
  logStream(): NodeJS.WritableStream;
  close(): void;
}

async function oneShot<T>(
  config: OneShotConfig,
  work: (run: { store: Store; context: RunContext; agents: AgentRef[] }) => Promise<T>,
  live?: LiveDisplay,
): Promise<T> {
  try {
    return await oneShotRun(config, work, live);
  } catch (err) {
    // A full disk met outside any one agent (the catalog's own writes, its close): still --dest's problem.
    if (isNoSpace(err)) throw destFullError(config.dest, 'syncing', err);
    throw err;
  }
}

async function oneShotRun<T>(
  config: OneShotConfig,
  work: (run: { store: Store; context: RunContext; agents: AgentRef[] }) => Promise<T>,
  live?: LiveDisplay,
): Promise<T> {
  if (config.events === '-' && config.json) {
    throw new AppError('E_USAGE', '--events - and --json would both write to stdout; give --events a file');
  }
  const logger = createLogger({
    format: config.logFormat,
    level: config.logLevel,
    name: 'controller',
    ...(live ? { destination: live.logStream() } : {}),
  });
  const found = await openAgents(config, logger, { follow: false });
  const agents = requireAgents(found.source);
  const store = await openStore(config.dest, config.catalogUrl);
  const events = config.events ? openNdjsonSink(config.events, logger) : noSink;
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const context = runContextOf(config, {
      catalog: store.catalog,
      clock: systemClock,
      logger,
      events,
      signal: abort.signal,
      ...(live ? { progress: live } : {}),
    });
    return await work({ store, context, agents });
  } finally {
    live?.close();
    found.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await events.close();
    await store.close();
  }
}

/** One sync pass over all agents. Returns the summary; the CLI prints it and picks the exit code. */
export async function sync(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  /** Made only when the summary is text (no --json): a terminal's live lines, from the CLI. */
  liveDisplay?: () => LiveDisplay | undefined,
): Promise<{ summary: SyncSummary; json: boolean }> {
  const config = loadSyncConfig(env, argv);
  const live = config.json ? undefined : liveDisplay?.();
  // On a terminal, log lines are for a person: pretty, unless --log-format (or its variable) says.
  const chosen = argv.some((arg) => arg.startsWith('--log-format')) || env.FORGE_SYNC_LOG_FORMAT;
  const shown = live && !chosen ? { ...config, logFormat: 'pretty' as const } : config;
  const summary = await oneShot(
    shown,
    ({ store, context, agents }) =>
      runSync(agents, {
        ...context,
        store: store.host,
        limits: config.limits,
      }),
    live,
  );
  return { summary, json: config.json };
}

/** One purge pass over all agents. Returns the summary; the CLI prints it and picks the exit code. */
export async function purge(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ summary: PurgeSummary; json: boolean }> {
  const config = loadPurgeConfig(env, argv);
  const summary = await oneShot(config, ({ store, context, agents }) =>
    runPurge(agents, {
      ...context,
      store: store.host,
      options: config.purge,
    }),
  );
  return { summary, json: config.json };
}

/** One search of the catalog: PostgreSQL when --catalog is given, else the destination's own. */
export async function search(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ page: SearchPage; destRoot: string | undefined; json: boolean }> {
  const config = loadSearchConfig(env, argv);
  const query = toSearchQuery(config.params, systemClock.now());
  if (config.catalogUrl) {
    const catalog = await openCatalog(config.catalogUrl, '');
    try {
      return {
        page: await catalog.search(query),
        destRoot: config.dest && resolve(config.dest),
        json: config.json,
      };
    } finally {
      await catalog.close();
    }
  }
  // The embedded catalog belongs to one process at a time: take the destination's lock like a sync.
  const store = await openStore(config.dest!);
  try {
    return { page: await store.catalog.search(query), destRoot: store.destination.root, json: config.json };
  } finally {
    await store.close();
  }
}

/** Re-reads older metadata readings from the stored copies, printing progress per batch. */
export async function reindex(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<ReindexProgress> {
  const config = loadReindexConfig(env, argv);
  const store = await openStore(config.dest, config.catalogUrl);
  try {
    const summary = await runReindex(store.catalog, store.destination.root, {
      all: config.all,
      batchSize: config.batchSize,
      onProgress: (p) =>
        print(
          config.json
            ? JSON.stringify({ type: 'progress', ...p })
            : `reindexed ${p.done}/${p.total} (${p.updated} updated, ${p.missing} missing)`,
        ),
    });
    print(
      config.json
        ? JSON.stringify({ type: 'summary', ...summary })
        : `done: ${summary.updated} updated, ${summary.missing} stored copies missing, of ${summary.total}`,
    );
    return summary;
  } finally {
    await store.close();
  }
}
