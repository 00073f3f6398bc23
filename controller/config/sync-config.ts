// `forge-sync sync`: one pass over all agents into --dest.
import { booleanValue, type CommandSpec, parseFlags } from '../../lib/args.js';
import {
  JSON_FLAG,
  type SyncLimits,
  TARGET_FLAGS,
  type TargetConfig,
  TRANSFER_FLAGS,
  loadLimits,
  loadTarget,
} from './target.js';

export const SYNC_COMMAND: CommandSpec = {
  command: 'sync',
  summary:
    'Makes one pass over all agents: pulls every new file into --dest, verified and catalogued, then exits.\n' +
    'Exits non-zero if any agent failed or any file was rejected.',
  flags: [...TARGET_FLAGS, ...TRANSFER_FLAGS, JSON_FLAG],
};

export interface SyncConfig extends TargetConfig {
  limits: SyncLimits;
}

export function loadSyncConfig(
  env: NodeJS.ProcessEnv,
  argv: readonly string[],
): SyncConfig & { json: boolean } {
  const values = parseFlags(SYNC_COMMAND, argv, env);
  return { ...loadTarget(values, env), limits: loadLimits(values), json: booleanValue(values, 'json') };
}
