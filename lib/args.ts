// Declarative flags for every command: argv first, then FORGE_SYNC_* environment, then defaults.
import { parseArgs } from 'node:util';
import { AppError } from '../common/errors.js';
import { parseDuration } from '../common/duration.js';

export type FlagType = 'string' | 'boolean' | 'list';

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  /** Placeholder shown in help, such as DIR or D. */
  value?: string;
  default?: string | boolean;
  /** The environment variable; FORGE_SYNC_<NAME> unless set; false for none. */
  env?: string | false;
}

export interface CommandSpec {
  command: string;
  summary: string;
  flags: FlagSpec[];
  /** Name of the free words the command takes (`QUERY`), returned joined as `values._`; none when absent. */
  words?: string;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export function envName(flag: FlagSpec): string | undefined {
  if (flag.env === false) return undefined;
  return flag.env ?? `FORGE_SYNC_${flag.name.toUpperCase().replace(/-/g, '_')}`;
}

/** Whether argv asks for help; checked before anything else is validated. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * Parses argv strictly against the spec, then fills what argv left out from the environment and
 * the defaults. An unknown flag, a missing value or a stray argument is an E_USAGE error that
 * names it.
 */
export function parseFlags(spec: CommandSpec, argv: readonly string[], env: NodeJS.ProcessEnv): FlagValues {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const flag of spec.flags) {
    options[flag.name] = {
      type: flag.type === 'boolean' ? 'boolean' : 'string',
      multiple: flag.type === 'list',
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    const args = spec.words ? wordsLast(spec, argv) : [...argv];
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new AppError('E_USAGE', `${usageProblem(err)} (see forge-sync ${spec.command} --help)`);
  }
  if (parsed.positionals.length > 0 && !spec.words) {
    throw new AppError(
      'E_USAGE',
      `unexpected argument "${parsed.positionals[0]}" (see forge-sync ${spec.command} --help)`,
    );
  }
  const values: FlagValues = {};
  if (spec.words && parsed.positionals.length > 0) values._ = parsed.positionals.join(' ');
  for (const flag of spec.flags) {
    const given = (parsed.values as FlagValues)[flag.name];
    values[flag.name] = given ?? fromEnv(flag, env) ?? flag.default;
  }
  return values;
}

/**
 * For a command that takes free words (a search query), moves them after `--`, in order, so a
 * word like `-wings` (exclude "wings") is a word, not an unknown short flag. A single-dash
 * argument is a word unless it is `-h` or the value of the string flag before it.
 */
function wordsLast(spec: CommandSpec, argv: readonly string[]): string[] {
  const takesValue = new Set(
    spec.flags.filter((flag) => flag.type !== 'boolean').map((flag) => `--${flag.name}`),
  );
  const flags: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--') || arg === '-h') {
      flags.push(arg);
      if (takesValue.has(arg) && i + 1 < argv.length) flags.push(argv[++i]!);
    } else {
      words.push(arg);
    }
  }
  return [...flags, '--', ...words];
}

function usageProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown flag ${unknown[1]}`;
  const missing = /Option '([^']+)' argument missing/.exec(message);
  // A value that starts with "-" reads as another flag to the parser ("argument is ambiguous"); every
  // duration and size here is above zero, so say that instead.
  const ambiguous = /Option '([^']+)' argument is ambiguous/.exec(message);
  if (ambiguous) {
    const flag = ambiguous[1]!
      .split(',')
      .pop()!
      .trim()
      .replace(/ <value>$/, '');
    return `${flag}: a value starting with "-" is not accepted (limits are above zero)`;
  }
  if (missing)
    return `flag ${missing[1]!
      .split(',')
      .pop()!
      .trim()
      .replace(/ <value>$/, '')} needs a value`;
  return message.split('\n')[0]!;
}

function fromEnv(flag: FlagSpec, env: NodeJS.ProcessEnv): string | boolean | string[] | undefined {
  const name = envName(flag);
  const raw = name ? env[name] : undefined;
  if (raw === undefined || raw === '') return undefined;
  if (flag.type === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new AppError('E_USAGE', `${name}: expected true or false, got "${raw}"`);
  }
  if (flag.type === 'list') {
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  return raw;
}

export function helpText(spec: CommandSpec): string {
  const rows = spec.flags.map((flag) => {
    const left = `--${flag.name}${flag.type === 'boolean' ? '' : ` ${flag.value ?? 'VALUE'}`}`;
    const env = envName(flag);
    const extras = [
      flag.type === 'list' ? 'repeatable' : '',
      flag.default !== undefined && flag.default !== false ? `default ${String(flag.default)}` : '',
      env ? `env ${env}` : '',
    ].filter(Boolean);
    return `  ${left.padEnd(28)} ${flag.help}${extras.length ? ` (${extras.join('; ')})` : ''}`;
  });
  return `Usage: forge-sync ${spec.command}${spec.words ? ` [${spec.words}]` : ''} [flags]\n\n${spec.summary}\n\nFlags:\n${rows.join('\n')}\n  ${'--help'.padEnd(28)} show this help\n`;
}

// Typed readers for parsed values. Each names the flag in its error.

export function stringValue(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listValue(values: FlagValues, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value;
  return typeof value === 'string' ? [value] : [];
}

export function booleanValue(values: FlagValues, name: string): boolean {
  return values[name] === true;
}

/** Parses a duration such as 10s or 24h; `positive` refuses zero (a limit that must be above it). */
export function durationValue(
  values: FlagValues,
  name: string,
  options: { positive?: boolean } = {},
): number | undefined {
  const value = stringValue(values, name);
  if (value === undefined) return undefined;
  const ms = parseDuration(value, `--${name}`);
  if (options.positive && ms <= 0) {
    throw new AppError('E_USAGE', `--${name}: expected a duration above zero, got "${value}"`);
  }
  return ms;
}

export function intValue(values: FlagValues, name: string, min: number, max: number): number | undefined {
  const value = stringValue(values, name);
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
    throw new AppError('E_USAGE', `--${name}: expected a whole number from ${min} to ${max}, got "${value}"`);
  }
  return number;
}

/** Parses a byte size such as 64MiB, 1GB or 1048576; every size flag is a limit, so zero is refused. */
export function bytesValue(values: FlagValues, name: string): number | undefined {
  const value = stringValue(values, name);
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i.exec(value.trim());
  if (!match) throw new AppError('E_USAGE', `--${name}: expected a size like 64MiB or 1GB, got "${value}"`);
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
  };
  const bytes = Math.round(Number(match[1]) * units[(match[2] ?? 'b').toLowerCase()]!);
  if (bytes <= 0) throw new AppError('E_USAGE', `--${name}: expected a size above zero, got "${value}"`);
  return bytes;
}
