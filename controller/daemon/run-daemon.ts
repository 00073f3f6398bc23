// `forge-sync controller`: the daemon wired together: store, agents, schedule, HTTP API, progress socket, shutdown.
import { systemClock } from '../../common/clock.js';
import { noSink } from '../../common/ingest-events.js';
import { AuthFailureLimiter } from '../../lib/auth-limit.js';
import { createLogger } from '../../lib/logger.js';
import { openNdjsonSink } from '../../lib/ndjson-sink.js';
import { listen } from '../../lib/serve.js';
import { VERSION } from '../../lib/version.js';
import { ChangeFeed } from '../agents/change-feed.js';
import { openAgents } from '../agents/discovery.js';
import { clientFactory, runContextOf } from '../agents/run-context.js';
import { loadControllerConfig } from '../config/controller-config.js';
import { openStore } from '../host-store/open-store.js';
import { createControllerApp } from '../http/app.js';
import { type ApiTokens, SessionStore } from '../http/session.js';
import { Metrics } from '../progress/metrics.js';
import { ProgressHub } from '../progress/progress-hub.js';
import { attachProgressSocket } from '../progress/progress-socket.js';
import { ControllerService } from './service.js';

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
  const context = runContextOf(config, {
    catalog: store.catalog,
    clock: systemClock,
    logger,
    events,
    progress: hub,
    signal: abort.signal,
  });
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
