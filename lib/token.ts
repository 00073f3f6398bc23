// Where the bearer tokens come from: FORGE_SYNC_TOKEN (reads) and FORGE_SYNC_PURGE_TOKEN (deletes), or
// a token file each, never a flag value.
import { readFileSync } from 'node:fs';
import { AppError } from '../common/errors.js';

/** The read token, or undefined when none is configured. An empty or unreadable token file is an error. */
export function readToken(env: NodeJS.ProcessEnv, tokenFile: string | undefined): string | undefined {
  return readSecret(env.FORGE_SYNC_TOKEN, tokenFile, '--token-file');
}

/**
 * The purge token (the credential that may delete in containers), or undefined when none is
 * configured. It must differ from the read token: that one is handed to dashboards and watchers.
 */
export function readPurgeToken(
  env: NodeJS.ProcessEnv,
  tokenFile: string | undefined,
  readTokenValue: string | undefined | null,
): string | undefined {
  const token = readSecret(env.FORGE_SYNC_PURGE_TOKEN, tokenFile, '--purge-token-file');
  if (token !== undefined && token === readTokenValue) {
    throw new AppError(
      'E_USAGE',
      'the purge token (FORGE_SYNC_PURGE_TOKEN or --purge-token-file) equals the read token (FORGE_SYNC_TOKEN): ' +
        'give it its own long random value, or every holder of the read token could delete',
    );
  }
  return token;
}

function readSecret(
  value: string | undefined,
  tokenFile: string | undefined,
  flag: string,
): string | undefined {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8');
    } catch (err) {
      throw new AppError(
        'E_USAGE',
        `${flag}: cannot read ${tokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const token = text.trim();
    if (!token) throw new AppError('E_USAGE', `${flag}: ${tokenFile} is empty`);
    return token;
  }
  const token = value?.trim();
  return token ? token : undefined;
}
