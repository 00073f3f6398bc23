// Configuration of `forge-sync sync` and `forge-sync controller`: flags, FORGE_SYNC_* variables, defaults.
import { AppError } from '../common/errors.js';
import {
  booleanValue,
  bytesValue,
  type CommandSpec,
  durationValue,
  type FlagSpec,
  type FlagValues,
  intValue,
  listValue,
  parseFlags,
  stringValue,
} from '../lib/args.js';
import { type LogFormat, parseLogFormat, parseLogLevel } from '../lib/logger.js';
import { readToken } from '../lib/token.js';
import { type AgentRef, assertUniqueNames, parseAgentSpec, readAgentsFile } from './agent-source.js';
import type { SyncLimits } from './sync-agent.js';

const COMMON_FLAGS: FlagSpec[] = [
  {
    name: 'dest',
    type: 'string',
    value: 'DIR',
    help: 'host folder the media is stored under, as <dest>/<agent>/<path>',
  },
  { name: 'agent', type: 'list', value: 'NAME=URL', help: 'an agent to sync' },
  {
    name: 'config',
    type: 'string',
    value: 'FILE',
    help: 'JSON file with {"agents": [{"name", "url", "token"?}]}',
  },
  {
    name: 'token-file',
    type: 'string',
    value: 'FILE',
    help: 'read the bearer token from this file (else FORGE_SYNC_TOKEN)',
  },
  { name: 'concurrency', type: 'string', value: 'N', default: '4', help: 'agents synced at once' },
  { name: 'streams', type: 'string', value: 'N', default: '2', help: 'archive streams at once per agent' },
  {
    name: 'batch-bytes',
    type: 'string',
    value: 'SIZE',
    default: '256MiB',
    help: 'bytes per archive request',
  },
  { name: 'batch-files', type: 'string', value: 'N', default: '1000', help: 'files per archive request' },
  { name: 'log-format', type: 'string', value: 'json|pretty', default: 'json', help: 'log line format' },
  { name: 'log-level', type: 'string', value: 'LEVEL', default: 'info', help: 'pino log level' },
];

export const SYNC_COMMAND: CommandSpec = {
  command: 'sync',
  summary:
    'Makes one pass over all agents: pulls every new file into --dest, verified and catalogued, then exits.\nExits non-zero if any agent failed or any file was rejected.',
  flags: [
    ...COMMON_FLAGS,
    { name: 'json', type: 'boolean', env: false, help: 'print the summary as one JSON object on stdout' },
  ],
};

export const CONTROLLER_COMMAND: CommandSpec = {
  command: 'controller',
  summary:
    'The daemon: syncs at start and then every --interval, and serves /v1/status and /v1/sync (bearer auth).',
  flags: [
    ...COMMON_FLAGS,
    { name: 'interval', type: 'string', value: 'D', default: '5m', help: 'time between sync passes' },
    { name: 'host', type: 'string', value: 'H', default: '127.0.0.1', help: 'address of the HTTP API' },
    {
      name: 'port',
      type: 'string',
      value: 'P',
      default: '8485',
      help: 'port of the HTTP API (0 picks a free one)',
    },
  ],
};

export interface SyncConfig {
  dest: string;
  agents: AgentRef[];
  token: string | undefined;
  concurrency: number;
  limits: SyncLimits;
  logFormat: LogFormat;
  logLevel: string;
}

export interface ControllerConfig extends SyncConfig {
  intervalMs: number;
  host: string;
  port: number;
  token: string;
}

function loadCommon(values: FlagValues, env: NodeJS.ProcessEnv): SyncConfig {
  const dest = stringValue(values, 'dest');
  if (!dest) throw new AppError('E_USAGE', 'no destination: pass --dest DIR (or set FORGE_SYNC_DEST)');
  const configFile = stringValue(values, 'config');
  const agents = [
    ...listValue(values, 'agent').map((spec) => parseAgentSpec(spec)),
    ...(configFile ? readAgentsFile(configFile) : []),
  ];
  if (agents.length === 0)
    throw new AppError('E_USAGE', 'no agent given: pass --agent NAME=URL or --config FILE');
  assertUniqueNames(agents);
  return {
    dest,
    agents,
    token: readToken(env, stringValue(values, 'token-file')),
    concurrency: intValue(values, 'concurrency', 1, 256)!,
    limits: {
      streams: intValue(values, 'streams', 1, 64)!,
      maxBytes: bytesValue(values, 'batch-bytes')!,
      maxFiles: intValue(values, 'batch-files', 1, 5000)!,
    },
    logFormat: parseLogFormat(stringValue(values, 'log-format')),
    logLevel: parseLogLevel(stringValue(values, 'log-level')),
  };
}

export function loadSyncConfig(
  env: NodeJS.ProcessEnv,
  argv: readonly string[],
): SyncConfig & { json: boolean } {
  const values = parseFlags(SYNC_COMMAND, argv, env);
  return { ...loadCommon(values, env), json: booleanValue(values, 'json') };
}

export function loadControllerConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): ControllerConfig {
  const values = parseFlags(CONTROLLER_COMMAND, argv, env);
  const common = loadCommon(values, env);
  if (!common.token) {
    throw new AppError('E_USAGE', 'no token: the controller API needs FORGE_SYNC_TOKEN or --token-file');
  }
  const intervalMs = durationValue(values, 'interval')!;
  if (intervalMs < 1000)
    throw new AppError(
      'E_USAGE',
      `--interval: expected at least 1s, got "${stringValue(values, 'interval')}"`,
    );
  return {
    ...common,
    token: common.token,
    intervalMs,
    host: stringValue(values, 'host')!,
    port: intValue(values, 'port', 0, 65535)!,
  };
}
