// Where the shared bearer token comes from: FORGE_SYNC_TOKEN or a token file, never a flag value.
import { readFileSync } from 'node:fs';
import { AppError } from '../common/errors.js';

/** The token, or undefined when none is configured. An empty or unreadable token file is an error. */
export function readToken(env: NodeJS.ProcessEnv, tokenFile: string | undefined): string | undefined {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8');
    } catch (err) {
      throw new AppError(
        'E_USAGE',
        `--token-file: cannot read ${tokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const token = text.trim();
    if (!token) throw new AppError('E_USAGE', `--token-file: ${tokenFile} is empty`);
    return token;
  }
  const token = env.FORGE_SYNC_TOKEN?.trim();
  return token ? token : undefined;
}
