// `forge-sync controller`: the daemon's schedule, HTTP API and purge passes.
import { AppError } from '../../common/errors.js';
import {
  booleanValue,
  type CommandSpec,
  durationValue,
  intValue,
  parseFlags,
  stringValue,
} from '../../lib/args.js';
import { type PurgeOptions, capsOf, requirePurgeToken, verifyValue } from './purge-config.js';
import type { SyncConfig } from './sync-config.js';
import { TARGET_FLAGS, TRANSFER_FLAGS, loadLimits, loadTarget } from './target.js';

export const CONTROLLER_COMMAND: CommandSpec = {
  command: 'controller',
  summary:
    'The daemon: syncs at start, as soon as an agent lists new files, and every --interval; purges on its own\n' +
    'schedule when --purge-after is set; serves /v1/status and /v1/sync (bearer auth: the read token reads,\n' +
    'POST /v1/sync takes the purge token when one is set).',
  flags: [
    ...TARGET_FLAGS,
    ...TRANSFER_FLAGS,
    { name: 'interval', type: 'string', value: 'D', default: '5m', help: 'time between sync passes' },
    {
      name: 'serve-only',
      type: 'boolean',
      env: false,
      help: "no agents, no Docker: only the API, status page and gallery over --dest's catalog",
    },
    {
      name: 'no-push',
      type: 'boolean',
      help: "sync on the interval and on request only, not when an agent's change channel says it has new files",
    },
    { name: 'host', type: 'string', value: 'H', default: '127.0.0.1', help: 'address of the HTTP API' },
    {
      name: 'port',
      type: 'string',
      value: 'P',
      default: '8485',
      help: 'port of the HTTP API (0 picks a free one)',
    },
    {
      name: 'purge-after',
      type: 'string',
      value: 'D',
      help: 'turns purging on: delete stored files older than this',
    },
    { name: 'purge-interval', type: 'string', value: 'D', default: '1h', help: 'time between purge passes' },
    { name: 'purge-dry-run', type: 'boolean', help: 'purge passes only log what they would delete' },
    {
      name: 'purge-verify',
      type: 'boolean',
      help: 're-hash each host copy before its original may go (the default; still accepted)',
    },
    {
      name: 'no-purge-verify',
      type: 'boolean',
      help: 'purge passes check only that each host copy is there with the right size',
    },
    {
      name: 'purge-max-files',
      type: 'string',
      value: 'N',
      help: 'delete at most N files per agent in one pass',
    },
    {
      name: 'purge-max-percent',
      type: 'string',
      value: 'P',
      help: "delete at most P% of an agent's files in one pass",
    },
  ],
};

export interface ControllerConfig extends SyncConfig {
  intervalMs: number;
  /** Follow each agent's change channel and sync when it lists new files. */
  push: boolean;
  host: string;
  port: number;
  token: string;
  /**
   * What the API's state-changing routes (POST /v1/sync) take: the purge token, or the read token
   * when there is none (then nothing this controller does can delete).
   */
  controlToken: string;
  /** null when --purge-after is not set. */
  purge: (PurgeOptions & { intervalMs: number }) | null;
}

export function loadControllerConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): ControllerConfig {
  const values = parseFlags(CONTROLLER_COMMAND, argv, env);
  const target = loadTarget(values, env, true);
  if (!target.token) {
    throw new AppError('E_USAGE', 'no token: the controller API needs FORGE_SYNC_TOKEN or --token-file');
  }
  const intervalMs = durationValue(values, 'interval')!;
  if (intervalMs < 1000) {
    throw new AppError(
      'E_USAGE',
      `--interval: expected at least 1s, got "${stringValue(values, 'interval')}"`,
    );
  }
  const purgeAfterMs = durationValue(values, 'purge-after', { positive: true });
  if (purgeAfterMs !== undefined) requirePurgeToken(target, '--purge-after');
  const purgeIntervalMs = durationValue(values, 'purge-interval')!;
  if (purgeAfterMs !== undefined && purgeIntervalMs < 1000) {
    throw new AppError(
      'E_USAGE',
      `--purge-interval: expected at least 1s, got "${stringValue(values, 'purge-interval')}"`,
    );
  }
  return {
    ...target,
    token: target.token,
    controlToken: target.purgeToken ?? target.token,
    limits: loadLimits(values),
    intervalMs,
    push: !booleanValue(values, 'no-push'),
    host: stringValue(values, 'host')!,
    port: intValue(values, 'port', 0, 65535)!,
    purge:
      purgeAfterMs === undefined
        ? null
        : {
            olderThanMs: purgeAfterMs,
            intervalMs: purgeIntervalMs,
            dryRun: booleanValue(values, 'purge-dry-run'),
            verify: verifyValue(values, 'purge-'),
            ...capsOf(values, 'purge-'),
          },
  };
}
