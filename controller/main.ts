// Entry points of `forge-sync sync` and `forge-sync controller`: config, logger, store, run, shutdown.
import { systemClock } from '../common/clock.js';
import { resolve } from 'node:path';
import type { PurgeSummary, SyncSummary } from '../common/protocol.js';
import { AppError } from '../common/errors.js';
import { destFullError, isNoSpace } from './host-store/dest-space.js';
import type { SearchPage } from './catalog/catalog.js';
import { noSink } from '../common/ingest-events.js';
import { openNdjsonSink } from '../lib/ndjson-sink.js';
import { type LogFormat, createLogger } from '../lib/logger.js';
import type { AgentLimits } from './agents/agent-client.js';
import type { AgentRef } from './agents/agent-source.js';
import { listen } from '../lib/serve.js';
import { VERSION } from '../lib/version.js';
import { createControllerApp } from './http/app.js';
import { AuthFailureLimiter } from '../lib/auth-limit.js';
import { type ApiTokens, SessionStore } from './http/session.js';
import { loadControllerConfig } from './config/controller-config.js';
import { loadPurgeConfig } from './config/purge-config.js';
import { loadReindexConfig } from './config/reindex-config.js';
import { loadSyncConfig } from './config/sync-config.js';
import { runPurge } from './purge/run-purge.js';
import { openAgents, requireAgents } from './agents/discovery.js';
import { Metrics } from './progress/metrics.js';
import { ProgressHub, type ProgressReporter } from './progress/progress-hub.js';
import { attachProgressSocket } from './progress/progress-socket.js';
import { ControllerService } from './daemon/service.js';
import { loadSearchConfig, toSearchQuery } from './config/search-config.js';
import { type ReindexProgress, runReindex } from './reindex/reindex.js';
import { type Store, openCatalog, openStore } from './host-store/open-store.js';
import { type RunContext, clientFactory } from './agents/run-context.js';
import { ChangeFeed } from './agents/change-feed.js';
import { runSync } from './sync/run-sync.js';

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
    const context: RunContext = {
      catalog: store.catalog,
      concurrency: config.concurrency,
      agentLimits: config.agentLimits,
      token: config.token,
      purgeToken: config.purgeToken,
      clock: systemClock,
      logger,
      events,
      signal: abort.signal,
      ...(live ? { progress: live } : {}),
    };
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

export async function controller(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadControllerConfig(env, argv);
  const logger = createLogger({ format: config.logFormat, level: config.logLevel, name: 'controller' });
  const store = await openStore(config.dest, config.catalogUrl);
  const events = config.events ? openNdjsonSink(config.events, logger) : noSink;
  const abort = new AbortController();
  const hub = new ProgressHub(systemClock);
  const metrics = new Metrics();
  hub.subscribe(metrics);
  // The service needs the agents and the agents' changes need the service: tie the knot late.
  const late: { service?: ControllerService; feed?: ChangeFeed } = {};
  const agents = await openAgents(config, logger, {
    follow: true,
    // A container that appears mid-run is announced at once and synced without waiting for the interval.
    onChange: (list) => {
      hub.setAgents(list);
      late.feed?.setAgents(list);
      late.service?.requestSync();
    },
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  hub.setAgents(agents.source.list());
  const context: RunContext = {
    catalog: store.catalog,
    concurrency: config.concurrency,
    agentLimits: config.agentLimits,
    token: config.token,
    purgeToken: config.purgeToken,
    clock: systemClock,
    logger,
    events,
    progress: hub,
    signal: abort.signal,
  };
  const service = new ControllerService({
    source: agents.source,
    run: { ...context, store: store.host, limits: config.limits },
    intervalMs: config.intervalMs,
    purge: config.purge && {
      ...context,
      store: store.host,
      options: config.purge,
      intervalMs: config.purge.intervalMs,
    },
    version: VERSION,
    clock: systemClock,
    logger,
  });
  late.service = service;
  // New files are pushed: each agent's change channel asks for a pass as soon as it lists one.
  const feed = new ChangeFeed({
    clientFor: clientFactory(context),
    onChange: (agent, position) => service.noteChange(agent, position),
    logger,
  });
  if (config.push) late.feed = feed;
  const sessions = new SessionStore(systemClock);
  const tokens: ApiTokens = { read: config.token, control: config.controlToken };
  const authLimiter = new AuthFailureLimiter();
  let server;
  try {
    server = await listen(
      createControllerApp({
        tokens,
        authLimiter,
        service,
        catalog: store.catalog,
        destRoot: store.destination.root,
        metrics,
        clock: systemClock,
        logger,
        sessions,
      }),
      config.host,
      config.port,
    );
  } catch (err) {
    await events.close();
    await store.close();
    throw err;
  }
  logger.info(
    {
      url: server.url,
      port: server.port,
      agents: agents.source.list().map((a) => a.name),
      docker: config.docker !== null,
      dest: store.destination.root,
    },
    'controller listening',
  );
  const progressSocket = attachProgressSocket(server.server, {
    hub,
    tokens: [tokens.read, tokens.control],
    limiter: authLimiter,
    clock: systemClock,
    logger,
    sessions,
  });
  service.start();
  if (config.push) feed.setAgents(agents.source.list());

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'controller stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  progressSocket.close();
  await server.close();
  // A pass cut short keeps what it stored; its temp files are removed, and the next start resumes.
  abort.abort();
  feed.close();
  agents.close();
  await service.stop();
  hub.close();
  await events.close();
  await store.close();
}
