// The root pino logger of a process: JSON on stderr by default, pretty on request. stdout stays for results.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { AppError } from '../common/errors.js';

export type LogFormat = 'json' | 'pretty';
export type { Logger };

export function parseLogFormat(value: string | undefined): LogFormat {
  if (value === undefined || value === 'json' || value === 'pretty') return value ?? 'json';
  throw new AppError('E_USAGE', `--log-format: expected json or pretty, got "${value}"`);
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parseLogLevel(value: string | undefined): string {
  if (value === undefined) return 'info';
  if (LEVELS.includes(value)) return value;
  throw new AppError('E_USAGE', `--log-level: expected one of ${LEVELS.join(', ')}, got "${value}"`);
}

export function createLogger(options: {
  format: LogFormat;
  level: string;
  name: string;
  /** Where lines go instead of stderr (a terminal's live display keeps them above its lines). */
  destination?: NodeJS.WritableStream;
}): Logger {
  const base = {
    name: options.name,
    level: options.level,
    // The token must never reach a log line, whatever object carries it.
    redact: {
      paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization'],
      censor: '[redacted]',
    },
  };
  if (options.format === 'pretty') {
    return pino(
      base,
      pretty({ destination: options.destination ?? 2, colorize: process.stderr.isTTY, sync: true }),
    );
  }
  return pino(base, options.destination ?? pino.destination({ fd: 2, sync: true }));
}
