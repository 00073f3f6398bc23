// Which commands start the embedded catalog's thread before their own code has loaded.
import { CATALOG_FLAG } from '../controller/config/target.js';

/** Commands that open the catalog under --dest, unless a PostgreSQL one is given. */
const EMBEDDED_CATALOG_COMMANDS = new Set(['sync', 'purge', 'search', 'reindex']);

/**
 * Whether the command will open the embedded catalog: then its thread starts now, and PGlite
 * compiles while the command's code loads and --dest is opened (about 0.2 s of each run's start).
 * A guess that proves wrong costs only that thread's start; the command's own checks still rule.
 */
export function opensEmbeddedCatalog(
  command: string,
  rest: readonly string[],
  env: NodeJS.ProcessEnv,
): boolean {
  if (!EMBEDDED_CATALOG_COMMANDS.has(command)) return false;
  const envName = CATALOG_FLAG.env;
  if (typeof envName === 'string' && env[envName]) return false;
  return !rest.some((arg) => arg === `--${CATALOG_FLAG.name}` || arg.startsWith(`--${CATALOG_FLAG.name}=`));
}
