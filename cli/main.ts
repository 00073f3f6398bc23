// The forge-sync command line: picks the command, prints results, and turns errors into one line and an exit code.
import { systemClock } from '../common/clock.js';
import { AppError, errorMessage } from '../common/errors.js';
import { type CommandSpec, helpText, wantsHelp } from '../lib/args.js';
import { VERSION } from '../lib/version.js';
import { startCatalogThreadEarly } from '../controller/catalog/pglite-preload.js';
import { opensEmbeddedCatalog } from './catalog-early.js';
import { AGENT_COMMAND } from '../agent/config.js';
import {
  CONTROLLER_COMMAND,
  PURGE_COMMAND,
  REINDEX_COMMAND,
  SEARCH_COMMAND,
  SYNC_COMMAND,
} from '../controller/commands.js';
import { withHostPaths } from '../common/search.js';
import { formatPurgeSummary, formatSearchPage, formatSummary } from './print.js';
import { WATCH_COMMAND } from './watch-config.js';

const USAGE = `forge-sync ${VERSION}: moves generated media out of Forge and ComfyUI containers onto host storage.

Usage: forge-sync <command> [flags]

Commands:
  agent        serve a container's output folders (run beside Forge or ComfyUI)
  sync         one pass over all agents into --dest, then exit
  purge        delete from the agents what is stored and old enough, then exit
  search       find synced files by prompt words, model, seed, LoRA, sampler, agent or age
  reindex      re-read the metadata of stored files catalogued by an older reader (or --all)
  controller   the daemon: sync every --interval (and purge, if asked), with an HTTP API
  watch        live progress of a running controller: bars on a terminal, lines or NDJSON in a pipe

Run forge-sync <command> --help for its flags. Every flag also reads FORGE_SYNC_<FLAG> from the environment.
`;

const SPECS: Record<string, CommandSpec> = {
  agent: AGENT_COMMAND,
  sync: SYNC_COMMAND,
  purge: PURGE_COMMAND,
  search: SEARCH_COMMAND,
  reindex: REINDEX_COMMAND,
  controller: CONTROLLER_COMMAND,
  watch: WATCH_COMMAND,
};

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const spec = SPECS[command];
  if (!spec) throw new AppError('E_USAGE', `unknown command "${command}" (see forge-sync --help)`);
  if (wantsHelp(rest)) {
    process.stdout.write(helpText(spec));
    return 0;
  }
  if (opensEmbeddedCatalog(command, rest, env)) startCatalogThreadEarly();
  switch (command) {
    case 'agent':
      await (await import('../agent/main.js')).main(rest, env);
      return 0;
    case 'controller':
      await (await import('../controller/main.js')).controller(rest, env);
      return 0;
    case 'watch':
      return (await import('./watch.js')).watch(rest, env);
    case 'search': {
      const { page, destRoot, json } = await (await import('../controller/main.js')).search(rest, env);
      const located = withHostPaths(page, destRoot);
      process.stdout.write(json ? `${JSON.stringify(located, null, 2)}\n` : formatSearchPage(located));
      return 0;
    }
    case 'reindex': {
      const print = (line: string): void => void process.stdout.write(`${line}\n`);
      await (await import('../controller/main.js')).reindex(rest, env, print);
      return 0;
    }
    case 'purge': {
      const { summary, json } = await (await import('../controller/main.js')).purge(rest, env);
      printResult(summary, json, formatPurgeSummary);
      return summary.ok ? 0 : 1;
    }
    default: {
      // On a terminal, a live line per agent while it runs; into a pipe, or with --json, as before.
      const display = process.stderr.isTTY
        ? new (await import('./sync-live.js')).SyncLive(process.stderr, systemClock)
        : undefined;
      const { summary, json } = await (await import('../controller/main.js')).sync(rest, env, () => display);
      printResult(summary, json, formatSummary);
      return summary.ok ? 0 : 1;
    }
  }
}

/** Prints a summary as JSON or text on stdout; each failed agent also gets its one line on stderr. */
function printResult<T extends { agents: { error?: { message: string } }[] }>(
  summary: T,
  json: boolean,
  format: (summary: T) => string,
): void {
  for (const agent of summary.agents) {
    if (agent.error) process.stderr.write(`forge-sync: ${agent.error.message}\n`);
  }
  process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : format(summary));
}

run(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof AppError && err.code === 'E_USAGE';
    process.stderr.write(`forge-sync: ${errorMessage(err)}\n`);
    if (!(err instanceof AppError) && err instanceof Error && err.stack)
      process.stderr.write(`${err.stack}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
