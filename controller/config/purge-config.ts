// `forge-sync purge` and the daemon's purge passes: what may be deleted, and with which checks.
import { AppError } from '../../common/errors.js';
import {
  booleanValue,
  type CommandSpec,
  durationValue,
  type FlagValues,
  intValue,
  parseFlags,
  stringValue,
} from '../../lib/args.js';
import { JSON_FLAG, TARGET_FLAGS, type TargetConfig, loadTarget } from './target.js';

export interface PurgeOptions {
  olderThanMs: number;
  dryRun: boolean;
  /** Re-hash each host copy before listing its original as safe (the default; --no-verify turns it off). */
  verify: boolean;
  maxFiles?: number;
  maxPercent?: number;
}

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

export interface PurgeConfig extends TargetConfig {
  purge: PurgeOptions;
  json: boolean;
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

export function capsOf(values: FlagValues, prefix: string): { maxFiles?: number; maxPercent?: number } {
  const maxFiles = intValue(values, `${prefix}max-files`, 0, Number.MAX_SAFE_INTEGER);
  const maxPercent = percentValue(values, `${prefix}max-percent`);
  return {
    ...(maxFiles !== undefined ? { maxFiles } : {}),
    ...(maxPercent !== undefined ? { maxPercent } : {}),
  };
}

/** Purging sends each agent a purge token: the shared one, or the agent's own from --config. */
export function requirePurgeToken(target: TargetConfig, what: string): void {
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
export function verifyValue(values: FlagValues, prefix: string): boolean {
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
