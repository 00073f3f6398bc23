// The agent's configuration: flags, FORGE_SYNC_* variables and defaults, validated once.
import { AppError } from '../common/errors.js';
import {
  booleanValue,
  type CommandSpec,
  durationValue,
  intValue,
  listValue,
  parseFlags,
  stringValue,
} from '../lib/args.js';
import { type LogFormat, parseLogFormat, parseLogLevel } from '../lib/logger.js';
import { readPurgeToken, readToken } from '../lib/token.js';

export const AGENT_COMMAND: CommandSpec = {
  command: 'agent',
  summary:
    'Serves the settled media files under each root: an xxh64 manifest and tar archives of requested files.\n' +
    'Runs beside a Forge or ComfyUI container, sharing its output folder. The read token comes from FORGE_SYNC_TOKEN or\n' +
    '--token-file; the purge token, the only one POST /v1/purge takes, from FORGE_SYNC_PURGE_TOKEN or --purge-token-file\n' +
    '(without one, the agent deletes nothing).',
  flags: [
    {
      name: 'root',
      type: 'list',
      value: '[NAME=]DIR',
      help: 'a folder to serve; NAME defaults to its basename',
    },
    { name: 'host', type: 'string', value: 'H', default: '127.0.0.1', help: 'address to listen on' },
    {
      name: 'port',
      type: 'string',
      value: 'P',
      default: '8484',
      help: 'port to listen on (0 picks a free one)',
    },
    {
      name: 'settle',
      type: 'string',
      value: 'D',
      default: '10s',
      help: 'a file must be unchanged this long before it is offered',
    },
    {
      name: 'pending-report',
      type: 'string',
      value: 'D',
      default: '1h',
      help: 'a file pending longer than this is reported with its reason on every scan (logs, /v1/info, sync --json)',
    },
    {
      name: 'state-dir',
      type: 'string',
      value: 'DIR',
      help: 'keep the file index (hashes and change journal) here across restarts',
    },
    {
      name: 'rescan',
      type: 'string',
      value: 'D',
      default: '10m',
      help: 'walk the roots again this often, besides watching them, to catch what a watch missed',
    },
    {
      name: 'include',
      type: 'list',
      value: 'GLOB',
      help: 'files to offer (default: Forge/ComfyUI media and .txt sidecars)',
    },
    { name: 'exclude', type: 'list', value: 'GLOB', help: 'files never to offer' },
    {
      name: 'min-purge-age',
      type: 'string',
      value: 'D',
      default: '1h',
      help: 'never delete a file younger than this, whatever the controller asks',
    },
    { name: 'token-file', type: 'string', value: 'FILE', help: 'read the read token from this file' },
    {
      name: 'purge-token-file',
      type: 'string',
      value: 'FILE',
      help: 'read the purge token from this file (else FORGE_SYNC_PURGE_TOKEN); without one, purge is refused',
    },
    {
      name: 'insecure',
      type: 'boolean',
      help: 'run without a token (anyone who can reach the port can read the files)',
    },
    { name: 'log-format', type: 'string', value: 'json|pretty', default: 'json', help: 'log line format' },
    { name: 'log-level', type: 'string', value: 'LEVEL', default: 'info', help: 'pino log level' },
  ],
};

export interface AgentConfig {
  roots: string[];
  host: string;
  port: number;
  settleMs: number;
  /** A file pending longer than this is reported with its reason. */
  pendingReportMs: number;
  rescanMs: number;
  minPurgeAgeMs: number;
  stateDir: string | undefined;
  include: string[];
  exclude: string[];
  /** The read token; null when running with --insecure. */
  token: string | null;
  /** The only credential purge takes; null: this agent deletes nothing. */
  purgeToken: string | null;
  logFormat: LogFormat;
  logLevel: string;
}

export function loadAgentConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): AgentConfig {
  const values = parseFlags(AGENT_COMMAND, argv, env);
  const roots = listValue(values, 'root');
  if (roots.length === 0)
    throw new AppError('E_USAGE', 'no root given: pass --root DIR (or set FORGE_SYNC_ROOT)');
  const insecure = booleanValue(values, 'insecure');
  const token = readToken(env, stringValue(values, 'token-file'));
  if (!token && !insecure) {
    throw new AppError(
      'E_USAGE',
      'no token: set FORGE_SYNC_TOKEN or pass --token-file FILE (or --insecure to run without auth)',
    );
  }
  const rescanMs = durationValue(values, 'rescan')!;
  if (rescanMs < 1000)
    throw new AppError('E_USAGE', `--rescan: must be at least 1s, got ${stringValue(values, 'rescan')}`);
  return {
    roots,
    host: stringValue(values, 'host')!,
    port: intValue(values, 'port', 0, 65535)!,
    settleMs: durationValue(values, 'settle')!,
    pendingReportMs: durationValue(values, 'pending-report')!,
    rescanMs,
    minPurgeAgeMs: durationValue(values, 'min-purge-age')!,
    stateDir: stringValue(values, 'state-dir'),
    include: listValue(values, 'include'),
    exclude: listValue(values, 'exclude'),
    token: token ?? null,
    purgeToken: readPurgeToken(env, stringValue(values, 'purge-token-file'), token) ?? null,
    logFormat: parseLogFormat(stringValue(values, 'log-format')),
    logLevel: parseLogLevel(stringValue(values, 'log-level')),
  };
}
