// Entry point of `forge-sync agent`: config, logger, index, scanner and watcher, app, listen, shutdown.
import { systemClock } from '../common/clock.js';
import { createLogger } from '../lib/logger.js';
import { listen } from '../lib/serve.js';
import { VERSION } from '../lib/version.js';
import { createAgentApp } from './app.js';
import { loadAgentConfig } from './config.js';
import { FileIndex } from './file-index.js';
import { createFilter } from './filters.js';
import { resolveRoots } from './roots.js';
import { recoverQuarantine } from './purge.js';
import { ReceiptLedger } from './receipts.js';
import { Scanner } from './scanner.js';
import { FolderWatcher } from './watcher.js';

/** How long after a refresh the index is written to the state folder, at most. */
const SAVE_EVERY_MS = 60_000;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadAgentConfig(env, argv);
  const logger = createLogger({ format: config.logFormat, level: config.logLevel, name: 'agent' });
  const roots = await resolveRoots(config.roots);
  await recoverQuarantine(roots, logger);
  const index = new FileIndex(config.stateDir);
  await index.load();
  const receipts = new ReceiptLedger(config.stateDir);
  await receipts.load();
  const watcher = new FolderWatcher(systemClock, logger);
  const scanner = new Scanner({
    roots,
    filter: createFilter(config.include, config.exclude),
    settleMs: config.settleMs,
    pendingReportMs: config.pendingReportMs,
    index,
    clock: systemClock,
    logger,
    onFolder: (root, rel) => watcher.watchFolder(root, rel),
    onUnsettled: (retry) => watcher.retryAt(retry.root, retry.rel, retry.atMs),
  });
  watcher.attach(scanner);
  const app = createAgentApp({
    token: config.token,
    purgeToken: config.purgeToken,
    version: VERSION,
    settleMs: config.settleMs,
    roots,
    scanner,
    index,
    watcher,
    logger,
    receipts,
    purge: { clock: systemClock, minPurgeAgeMs: config.minPurgeAgeMs },
  });
  const server = await listen(app, config.host, config.port);
  if (config.token === null) logger.warn('running with --insecure: no token is required to read these files');
  if (config.purgeToken === null) logger.info('no purge token: this agent refuses every purge');
  logger.info(
    {
      url: server.url,
      port: server.port,
      roots: roots.map((r) => `${r.name}=${r.dir}`),
      cachedHashes: index.size,
      receipts: receipts.size,
      epoch: index.epoch,
      generation: index.generation,
      version: VERSION,
    },
    'agent listening',
  );
  // Scan now (it also sets up the folder watches), then again every --rescan as the safety net.
  const rescan = (): void => {
    scanner
      .scan()
      .then(() => {
        // Receipts of files that are gone or changed are forgotten, so they stay bounded by the roots.
        receipts.retainListed(index.listed(), index.size);
        logger.debug({ folders: watcher.folders, watching: watcher.active }, 'watching folders');
      })
      .catch((err: unknown) => logger.error({ err }, 'scan failed'));
  };
  rescan();
  const rescanTimer = setInterval(rescan, config.rescanMs);
  const saveTimer = setInterval(() => {
    index.save().catch((err: unknown) => logger.warn({ err }, 'could not save the file index'));
  }, SAVE_EVERY_MS);

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'agent stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  clearInterval(rescanTimer);
  clearInterval(saveTimer);
  watcher.close();
  await server.close();
  await index.close().catch((err: unknown) => logger.warn({ err }, 'could not save the file index'));
  await receipts.close().catch((err: unknown) => logger.warn({ err }, 'could not save the receipts'));
}
