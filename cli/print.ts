// The human-readable text the CLI prints for a sync summary.
import { formatBytes } from '../common/format.js';
import type { AgentPurgeResult, AgentSyncResult, PurgeSummary, SyncSummary } from '../common/protocol.js';
import type { HostSearchPage, SearchHit } from '../common/search.js';

/** ` (20 settling, 4 incomplete-png)` when the agent said why files are pending. */
function pendingWhy(agent: AgentSyncResult): string {
  const parts = Object.entries(agent.pendingReasons ?? {}).map(([reason, n]) => `${n} ${reason}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function agentLine(agent: AgentSyncResult): string {
  const state = agent.error
    ? `FAILED ${agent.error.code}: ${agent.error.message}`
    : agent.ok
      ? 'ok'
      : `${agent.errors} problem(s)`;
  return (
    `  ${agent.name}: ${agent.filesTransferred} file(s) stored (${formatBytes(agent.bytesTransferred)}), ` +
    `${agent.filesUnchanged} unchanged, ${agent.filesPending} pending${pendingWhy(agent)} — ${state}\n` +
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

function keptText(kept: AgentPurgeResult['kept']): string {
  const parts = Object.entries(kept).map(([reason, count]) => `${count} ${reason}`);
  return parts.length ? `kept: ${parts.join(', ')}` : 'nothing kept';
}

function purgeAgentLines(agent: AgentPurgeResult, dryRun: boolean): string {
  const state = agent.error
    ? `FAILED ${agent.error.code}: ${agent.error.message}`
    : agent.ok
      ? 'ok'
      : `${agent.problems.length} problem(s)`;
  const verb = dryRun ? 'would purge' : 'purged';
  return (
    `  ${agent.name}: ${verb} ${agent.filesPurged} file(s) (${formatBytes(agent.bytesFreed)}); ${keptText(agent.kept)} — ${state}\n` +
    (dryRun ? agent.purged.map((path) => `    would purge ${path}\n`).join('') : '') +
    agent.problems.map((problem) => `    ${problem.code} ${problem.path}: ${problem.message}\n`).join('')
  );
}

export function formatPurgeSummary(summary: PurgeSummary): string {
  const { totals } = summary;
  return (
    `purge ${summary.runId}${summary.dryRun ? ' (dry run: nothing deleted)' : ''}: ${summary.ok ? 'ok' : 'FAILED'}\n` +
    summary.agents.map((agent) => purgeAgentLines(agent, summary.dryRun)).join('') +
    `  total: ${summary.dryRun ? 'would free' : 'freed'} ${formatBytes(totals.bytesFreed)} in ${totals.filesPurged} file(s); ${keptText(totals.kept)}\n`
  );
}

function hitLines(hit: SearchHit & { hostPath: string }): string {
  const details = [
    `agent ${hit.agent}`,
    `synced ${hit.syncedAt.slice(0, 16).replace('T', ' ')}`,
    hit.purgedAt ? 'purged from the container' : '',
    hit.seed ? `seed ${hit.seed}` : '',
    hit.sampler ?? '',
    hit.steps !== null ? `${hit.steps} steps` : '',
    hit.cfg !== null ? `cfg ${hit.cfg}` : '',
    hit.kind && hit.pixelWidth && hit.pixelHeight
      ? `${hit.kind} ${hit.pixelWidth}x${hit.pixelHeight}`
      : (hit.kind ?? ''),
    // The generation's size, where the stored picture is another (an upscale, a crop) or unknown.
    hit.width && hit.height && (hit.width !== hit.pixelWidth || hit.height !== hit.pixelHeight)
      ? `generated ${hit.width}x${hit.height}`
      : '',
    hit.model ?? '',
  ].filter(Boolean);
  const prompt = hit.prompt
    ? `  "${hit.prompt.length > 160 ? `${hit.prompt.slice(0, 157)}...` : hit.prompt}"\n`.replace(
        /\n(?!$)/g,
        ' ',
      )
    : '';
  return `${hit.hostPath}\n  ${details.join(' · ')}\n${prompt}  from ${hit.containerPath}\n`;
}

export function formatSearchPage(page: HostSearchPage): string {
  if (page.items.length === 0) return 'no matching files\n';
  const more = page.nextCursor ? `more: add --cursor ${page.nextCursor}\n` : '';
  return `${page.items.map(hitLines).join('\n')}\n${page.items.length} file(s)\n${more}`;
}
