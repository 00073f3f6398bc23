// Configuration of `forge-sync watch`: flags, FORGE_SYNC_* variables, defaults.
import { AppError } from '../common/errors.js';
import { type CommandSpec, booleanValue, durationValue, parseFlags, stringValue } from '../lib/args.js';
import { readToken } from '../lib/token.js';

export const WATCH_COMMAND: CommandSpec = {
  command: 'watch',
  summary:
    "Shows a running controller's live progress: one bar per agent (phase, percent, files, bytes, rate, ETA),\n" +
    'a total, and errors and rejected files as they happen. Into a pipe it prints plain lines; with --json,\n' +
    'every progress message as one NDJSON line. A dropped connection is retried with backoff.',
  flags: [
    {
      name: 'url',
      type: 'string',
      value: 'URL',
      default: 'http://127.0.0.1:8485',
      help: "the controller's HTTP API",
    },
    {
      name: 'token-file',
      type: 'string',
      value: 'FILE',
      help: "read the controller's read token from this file (else FORGE_SYNC_TOKEN); nothing more is needed",
    },
    {
      name: 'json',
      type: 'boolean',
      env: false,
      help: 'print each progress message as received, one JSON object per line, and nothing else',
    },
    {
      name: 'once',
      type: 'boolean',
      env: false,
      help: 'exit when the sync pass running now, or else the next one, has ended: 0 if it went well, 1 if not',
    },
    {
      name: 'connect-timeout',
      type: 'string',
      value: 'D',
      default: '10s',
      help: 'give up when the controller cannot be reached for this long at start (0s: never); later drops are always retried',
    },
  ],
};

export interface WatchConfig {
  url: string;
  token: string;
  json: boolean;
  once: boolean;
  connectTimeoutMs: number;
}

export function loadWatchConfig(argv: readonly string[], env: NodeJS.ProcessEnv): WatchConfig {
  const values = parseFlags(WATCH_COMMAND, argv, env);
  const url = stringValue(values, 'url')!;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = '';
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) {
    throw new AppError(
      'E_USAGE',
      `--url: expected the controller's address like http://127.0.0.1:8485, got "${url}"`,
    );
  }
  const token = readToken(env, stringValue(values, 'token-file'));
  if (!token) {
    throw new AppError(
      'E_USAGE',
      "no token: watch needs the controller's token in FORGE_SYNC_TOKEN or --token-file",
    );
  }
  return {
    url,
    token,
    json: booleanValue(values, 'json'),
    once: booleanValue(values, 'once'),
    connectTimeoutMs: durationValue(values, 'connect-timeout')!,
  };
}
