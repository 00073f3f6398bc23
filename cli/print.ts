// The human-readable text the CLI prints for a sync summary.
import type { AgentSyncResult, SyncSummary } from '../common/protocol.js';

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function agentLine(agent: AgentSyncResult): string {
  const state = agent.error
    ? `FAILED ${agent.error.code}: ${agent.error.message}`
    : agent.ok
      ? 'ok'
      : `${agent.errors} problem(s)`;
  return (
    `  ${agent.name}: ${agent.filesTransferred} file(s) stored (${formatBytes(agent.bytesTransferred)}), ` +
    `${agent.filesUnchanged} unchanged, ${agent.filesPending} pending — ${state}\n` +
    agent.problems.map((problem) => `    ${problem.code} ${problem.path}: ${problem.message}\n`).join('')
  );
}

export function formatSummary(summary: SyncSummary): string {
  const { totals } = summary;
  return (
    `sync ${summary.runId}: ${summary.ok ? 'ok' : 'FAILED'}\n` +
    summary.agents.map(agentLine).join('') +
    `  total: ${totals.filesTransferred} file(s) stored (${formatBytes(totals.bytesTransferred)}), ` +
    `${totals.filesUnchanged} unchanged, ${totals.filesPending} pending, ${totals.errors} error(s)\n`
  );
}
