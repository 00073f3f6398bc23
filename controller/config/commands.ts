// Configuration of `forge-sync sync`, `purge` and `controller`: flags, FORGE_SYNC_* variables, defaults.
import { AppError } from '../../common/errors.js';
import { Labels } from '../../common/labels.js';
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
} from '../../lib/args.js';
import { type LogFormat, parseLogFormat, parseLogLevel } from '../../lib/logger.js';
import { readPurgeToken, readToken } from '../../lib/token.js';
import { type AgentLimits, agentLimitsFrom } from '../agents/agent-client.js';
import { type AgentRef, assertUniqueNames, parseAgentSpec, readAgentsFile } from '../agents/agent-source.js';
import { DEFAULT_DOCKER_SOCKET, dockerReachable } from '../agents/docker/docker-socket.js';
import type { PurgeOptions } from '../purge/purge-agent.js';
import type { SyncLimits } from '../sync/sync-agent.js';

export const CATALOG_FLAG: FlagSpec = {
  name: 'catalog',
  type: 'string',
  value: 'URL',
  env: 'FORGE_SYNC_CATALOG_URL',
  help: 'PostgreSQL catalog (postgres://…); default: the embedded one under --dest',
};

const TARGET_FLAGS: FlagSpec[] = [
  {
    name: 'dest',
    type: 'string',
    value: 'DIR',
    help: 'host folder the media is stored under, as <dest>/<agent>/<path>',
  },
  { name: 'agent', type: 'list', value: 'NAME=URL', help: 'an agent' },
  {
    name: 'config',
    type: 'string',
    value: 'FILE',
    help: 'JSON file with {"agents": [{"name", "url", "token"?}]}',
  },
  CATALOG_FLAG,
  {
    name: 'events',
    type: 'string',
    value: 'FILE',
    help: 'also append each stored or purged file as an NDJSON event to FILE (- for stdout); see docs/ingest.md',
  },
  {
    name: 'token-file',
    type: 'string',
    value: 'FILE',
    help: 'read the read token from this file (else FORGE_SYNC_TOKEN)',
  },
  {
    name: 'purge-token-file',
    type: 'string',
    value: 'FILE',
    help: "read the agents' purge token from this file (else FORGE_SYNC_PURGE_TOKEN); purging needs it",
  },
  {
    name: 'docker',
    type: 'boolean',
    help: `also find agents through the Docker API: containers labelled ${Labels.agent}=true (the controller's default when a Docker socket is reachable)`,
  },
  { name: 'no-docker', type: 'boolean', help: 'do not look for agents through Docker' },
  {
    name: 'docker-socket',
    type: 'string',
    value: 'PATH',
    default: DEFAULT_DOCKER_SOCKET,
    help: 'the Docker Engine socket (DOCKER_HOST is honoured too)',
  },
  { name: 'concurrency', type: 'string', value: 'N', default: '4', help: 'agents worked on at once' },
  { name: 'log-format', type: 'string', value: 'json|pretty', default: 'json', help: 'log line format' },
  { name: 'log-level', type: 'string', value: 'LEVEL', default: 'info', help: 'pino log level' },
];

const TRANSFER_FLAGS: FlagSpec[] = [
  { name: 'streams', type: 'string', value: 'N', default: '2', help: 'archive streams at once per agent' },
  {
    name: 'batch-bytes',
    type: 'string',
    value: 'SIZE',
    default: '256MiB',
    help: 'bytes per archive request',
  },
  { name: 'batch-files', type: 'string', value: 'N', default: '1000', help: 'files per archive request' },
];

const JSON_FLAG: FlagSpec = {
  name: 'json',
  type: 'boolean',
  env: false,
  help: 'print the summary as one JSON object on stdout',
};

export const SYNC_COMMAND: CommandSpec = {
  command: 'sync',
  summary:
    'Makes one pass over all agents: pulls every new file into --dest, verified and catalogued, then exits.\n' +
    'Exits non-zero if any agent failed or any file was rejected.',
  flags: [...TARGET_FLAGS, ...TRANSFER_FLAGS, JSON_FLAG],
};

export const PURGE_COMMAND: CommandSpec = {
  command: 'purge',
  summary:
    'Deletes from each agent the files older than --older-than whose copies are stored and catalogued under --dest.\n' +
    'The agent checks each file again before it deletes it, and never deletes one younger than its --min-purge-age.',
  flags: [
    ...TARGET_FLAGS,
    {
      name: 'older-than',
      type: 'string',
      value: 'D',
      default: '24h',
      help: 'only files whose mtime is older than this',
    },
    {
      name: 'dry-run',
      type: 'boolean',
      env: false,
      help: 'list exactly what would be deleted; delete nothing',
    },
    {
      name: 'verify',
      type: 'boolean',
      help: 're-hash each host copy before its original may go (the default; still accepted)',
    },
    {
      name: 'no-verify',
      type: 'boolean',
      help: 'check only that each host copy is there with the right size, without reading it',
    },
    { name: 'max-files', type: 'string', value: 'N', help: 'delete at most N files per agent in one run' },
    {
      name: 'max-percent',
      type: 'string',
      value: 'P',
      help: "delete at most P% of an agent's files in one run",
    },
    JSON_FLAG,
  ],
};

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

interface TargetConfig {
  dest: string;
  /** A PostgreSQL URL, or undefined for the embedded catalog. */
  catalogUrl: string | undefined;
  /** Where ingest events go (a file, or - for stdout), if anywhere. */
  events: string | undefined;
  /** Discover agents through Docker, at this socket; null when off. */
  docker: { socketPath: string } | null;
  agents: AgentRef[];
  /** The read token, for agents without their own. */
  token: string | undefined;
  /** The agents' purge token, for agents without their own; purging needs one. */
  purgeToken: string | undefined;
  concurrency: number;
  /** How much an agent may send, and how slowly (fixed; smaller only in tests). */
  agentLimits: AgentLimits;
  logFormat: LogFormat;
  logLevel: string;
}

export interface SyncConfig extends TargetConfig {
  limits: SyncLimits;
}

export interface PurgeConfig extends TargetConfig {
  purge: PurgeOptions;
  json: boolean;
}

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

/**
 * `--docker` turns discovery on, `--no-docker` off; otherwise it is on only where `dockerByDefault`
 * (the daemon, when a Docker socket is reachable).
 */
function dockerValue(
  values: FlagValues,
  env: NodeJS.ProcessEnv,
  dockerByDefault: boolean,
): TargetConfig['docker'] {
  const socketPath = stringValue(values, 'docker-socket')!;
  if (booleanValue(values, 'no-docker')) return null;
  if (booleanValue(values, 'docker')) return { socketPath };
  return dockerByDefault && dockerReachable(env, socketPath) ? { socketPath } : null;
}

function loadTarget(values: FlagValues, env: NodeJS.ProcessEnv, dockerByDefault = false): TargetConfig {
  const dest = stringValue(values, 'dest');
  if (!dest) throw new AppError('E_USAGE', 'no destination: pass --dest DIR (or set FORGE_SYNC_DEST)');
  const configFile = stringValue(values, 'config');
  const agents = [
    ...listValue(values, 'agent').map((spec) => parseAgentSpec(spec)),
    ...(configFile ? readAgentsFile(configFile) : []),
  ];
  const serveOnly = booleanValue(values, 'serve-only');
  const docker = serveOnly ? null : dockerValue(values, env, dockerByDefault);
  if (agents.length === 0 && !docker && !serveOnly) {
    throw new AppError('E_USAGE', 'no agent given: pass --agent NAME=URL, --config FILE or --docker');
  }
  assertUniqueNames(agents);
  const token = readToken(env, stringValue(values, 'token-file'));
  return {
    dest,
    docker,
    catalogUrl: catalogUrlValue(values),
    events: stringValue(values, 'events'),
    agents,
    token,
    purgeToken: readPurgeToken(env, stringValue(values, 'purge-token-file'), token),
    concurrency: intValue(values, 'concurrency', 1, 256)!,
    agentLimits: agentLimitsFrom(env),
    logFormat: parseLogFormat(stringValue(values, 'log-format')),
    logLevel: parseLogLevel(stringValue(values, 'log-level')),
  };
}

export function catalogUrlValue(values: FlagValues): string | undefined {
  const url = stringValue(values, 'catalog');
  if (url === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new AppError(
      'E_USAGE',
      `--catalog: expected a postgres:// URL, got "${url.replace(/:[^:@/]*@/, ':***@')}"`,
    );
  }
  return url;
}

function loadLimits(values: FlagValues): SyncLimits {
  return {
    streams: intValue(values, 'streams', 1, 64)!,
    maxBytes: bytesValue(values, 'batch-bytes')!,
    maxFiles: intValue(values, 'batch-files', 1, 5000)!,
  };
}

function percentValue(values: FlagValues, name: string): number | undefined {
  const value = stringValue(values, name);
  if (value === undefined) return undefined;
  const number = Number(value.replace(/%$/, ''));
  if (value.trim() === '' || !Number.isFinite(number) || number < 0 || number > 100) {
    throw new AppError('E_USAGE', `--${name}: expected a percentage from 0 to 100, got "${value}"`);
  }
  return number;
}

function capsOf(values: FlagValues, prefix: string): { maxFiles?: number; maxPercent?: number } {
  const maxFiles = intValue(values, `${prefix}max-files`, 0, Number.MAX_SAFE_INTEGER);
  const maxPercent = percentValue(values, `${prefix}max-percent`);
  return {
    ...(maxFiles !== undefined ? { maxFiles } : {}),
    ...(maxPercent !== undefined ? { maxPercent } : {}),
  };
}

export function loadSyncConfig(
  env: NodeJS.ProcessEnv,
  argv: readonly string[],
): SyncConfig & { json: boolean } {
  const values = parseFlags(SYNC_COMMAND, argv, env);
  return { ...loadTarget(values, env), limits: loadLimits(values), json: booleanValue(values, 'json') };
}

/** Purging sends each agent a purge token: the shared one, or the agent's own from --config. */
function requirePurgeToken(target: TargetConfig, what: string): void {
  if (target.purgeToken) return;
  const without = target.agents.filter((agent) => !agent.purgeToken).map((agent) => agent.name);
  if (without.length === 0 && !target.docker) return;
  throw new AppError(
    'E_USAGE',
    `${what} needs the agents' purge token: set FORGE_SYNC_PURGE_TOKEN or pass --purge-token-file FILE` +
      (without.length > 0 ? ` (agents without their own: ${without.join(', ')})` : ''),
  );
}

/** Host copies are re-hashed unless --no-verify (or its daemon form) says otherwise. */
function verifyValue(values: FlagValues, prefix: string): boolean {
  return !booleanValue(values, prefix ? `no-${prefix}verify` : 'no-verify');
}

export function loadPurgeConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): PurgeConfig {
  const values = parseFlags(PURGE_COMMAND, argv, env);
  const target = loadTarget(values, env);
  requirePurgeToken(target, 'purge');
  return {
    ...target,
    purge: {
      olderThanMs: durationValue(values, 'older-than', { positive: true })!,
      dryRun: booleanValue(values, 'dry-run'),
      verify: verifyValue(values, ''),
      ...capsOf(values, ''),
    },
    json: booleanValue(values, 'json'),
  };
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
