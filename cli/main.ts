// The forge-sync command line: picks the command, prints results, and turns errors into one line and an exit code.
import { AppError, errorMessage } from '../common/errors.js';
import type { SyncSummary } from '../common/protocol.js';
import { type CommandSpec, helpText, wantsHelp } from '../lib/args.js';
import { VERSION } from '../lib/version.js';
import { AGENT_COMMAND } from '../agent/config.js';
import { CONTROLLER_COMMAND, SYNC_COMMAND } from '../controller/config.js';
import { formatSummary } from './print.js';

const USAGE = `forge-sync ${VERSION}: moves generated media out of Forge and ComfyUI containers onto host storage.

Usage: forge-sync <command> [flags]

Commands:
  agent        serve a container's output folders (run beside Forge or ComfyUI)
  sync         one pass over all agents into --dest, then exit
  controller   the daemon: sync every --interval, with an HTTP API

Run forge-sync <command> --help for its flags. Every flag also reads FORGE_SYNC_<FLAG> from the environment.
`;

const SPECS: Record<string, CommandSpec> = {
  agent: AGENT_COMMAND,
  sync: SYNC_COMMAND,
  controller: CONTROLLER_COMMAND,
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
  switch (command) {
    case 'agent':
      await (await import('../agent/main.js')).main(rest, env);
      return 0;
    case 'controller':
      await (await import('../controller/main.js')).controller(rest, env);
      return 0;
    default: {
      const { summary, json } = await (await import('../controller/main.js')).sync(rest, env);
      printSummary(summary, json);
      return summary.ok ? 0 : 1;
    }
  }
}

function printSummary(summary: SyncSummary, json: boolean): void {
  // Whatever stdout carries, each failed agent gets its one line on stderr.
  for (const agent of summary.agents) {
    if (agent.error) process.stderr.write(`forge-sync: ${agent.error.message}\n`);
  }
  if (json) {
    const { agents, totals } = summary;
    process.stdout.write(
      `${JSON.stringify({ runId: summary.runId, ok: summary.ok, agents, totals }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(formatSummary(summary));
  }
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
