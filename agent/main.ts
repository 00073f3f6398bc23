// Entry point of `forge-sync agent`: config, logger, scanner, app, listen, shutdown.
import { systemClock } from '../common/clock.js';
import { createLogger } from '../lib/logger.js';
import { listen } from '../lib/serve.js';
import { VERSION } from '../lib/version.js';
import { createAgentApp } from './app.js';
import { loadAgentConfig } from './config.js';
import { createFilter } from './filters.js';
import { HashCache } from './hash-cache.js';
import { resolveRoots } from './roots.js';
import { recoverQuarantine } from './purge.js';
import { Scanner } from './scanner.js';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadAgentConfig(env, argv);
  const logger = createLogger({ format: config.logFormat, level: config.logLevel, name: 'agent' });
  const roots = await resolveRoots(config.roots);
  await recoverQuarantine(roots, logger);
  const cache = new HashCache(config.stateDir);
  await cache.load();
  const scanner = new Scanner({
    roots,
    filter: createFilter(config.include, config.exclude),
    settleMs: config.settleMs,
    cache,
    clock: systemClock,
    logger,
  });
  const app = createAgentApp({
    token: config.token,
    version: VERSION,
    settleMs: config.settleMs,
    roots,
    scanner,
    cache,
    logger,
    purge: { clock: systemClock, minPurgeAgeMs: config.minPurgeAgeMs },
  });
  const server = await listen(app, config.host, config.port);
  if (config.token === null) logger.warn('running with --insecure: no token is required to read these files');
  logger.info(
    {
      url: server.url,
      port: server.port,
      roots: roots.map((r) => `${r.name}=${r.dir}`),
      cachedHashes: cache.size,
      version: VERSION,
    },
    'agent listening',
  );
  // Warm the hash cache now, so the first manifest request does not pay for it.
  scanner.scan().catch((err: unknown) => logger.error({ err }, 'initial scan failed'));

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'agent stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await server.close();
  await cache.save().catch((err: unknown) => logger.warn({ err }, 'could not save the hash cache'));
}
