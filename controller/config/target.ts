// The flags and settings every controller command shares: --dest, the agents, the catalog, tokens, logging.
import type { BatchLimits } from '../../common/manifest.js';
import { AppError } from '../../common/errors.js';
import { Labels } from '../../common/labels.js';
import {
  booleanValue,
  bytesValue,
  type FlagSpec,
  type FlagValues,
  intValue,
  listValue,
  stringValue,
} from '../../lib/args.js';
import { type LogFormat, parseLogFormat, parseLogLevel } from '../../lib/logger.js';
import { readPurgeToken, readToken } from '../../lib/token.js';
import { type AgentLimits, agentLimitsFrom } from './agent-limits.js';
import { type AgentRef, assertUniqueNames, parseAgentSpec, readAgentsFile } from './agent-list.js';
import { DEFAULT_DOCKER_SOCKET, dockerReachable } from './docker-socket.js';

/** How a sync pass cuts its work: archive streams per agent and the size of each request. */
export interface SyncLimits extends BatchLimits {
  /** Archive streams open at once per agent. */
  streams: number;
}

export const CATALOG_FLAG: FlagSpec = {
  name: 'catalog',
  type: 'string',
  value: 'URL',
  env: 'FORGE_SYNC_CATALOG_URL',
  help: 'PostgreSQL catalog (postgres://…); default: the embedded one under --dest',
};

export const TARGET_FLAGS: FlagSpec[] = [
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

export const TRANSFER_FLAGS: FlagSpec[] = [
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

export const JSON_FLAG: FlagSpec = {
  name: 'json',
  type: 'boolean',
  env: false,
  help: 'print the summary as one JSON object on stdout',
};

export interface TargetConfig {
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

export function loadTarget(
  values: FlagValues,
  env: NodeJS.ProcessEnv,
  dockerByDefault = false,
): TargetConfig {
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

export function loadLimits(values: FlagValues): SyncLimits {
  return {
    streams: intValue(values, 'streams', 1, 64)!,
    maxBytes: bytesValue(values, 'batch-bytes')!,
    maxFiles: intValue(values, 'batch-files', 1, 5000)!,
  };
}
