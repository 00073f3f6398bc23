// The last sync and last purge lines of an agent's card, from the results the controller keeps.

import { formatBytes } from '../../../common/format.js';
import { count, el, formatTime } from './page-kit.js';

/** @typedef {import('../../../common/progress.js').AgentProgressState} AgentState */

/**
 * `(20 settling, 4 incomplete png)`, from the reasons an agent gives; empty when it gives none.
 * @param {Record<string, number> | undefined} reasons
 */
function pendingWhy(reasons) {
  const parts = Object.entries(reasons ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${n.toLocaleString()} ${reason.replace(/-/g, ' ')}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** @param {HTMLElement} node @param {AgentState['lastSync']} result */
export function renderSync(node, result) {
  node.classList.toggle('bad', Boolean(result && !result.ok));
  if (!result) {
    node.replaceChildren('—');
    return;
  }
  node.dataset.runId = result.runId;
  node.dataset.files = String(result.filesTransferred);
  node.dataset.bytes = String(result.bytesTransferred);
  node.dataset.unchanged = String(result.filesUnchanged);
  node.dataset.errors = String(result.errors);
  const when = el('time', { datetime: result.finishedAt }, formatTime(result.finishedAt));
  if (result.skipped) {
    node.replaceChildren(`skipped: ${result.skipped} `, when);
    return;
  }
  node.replaceChildren(
    el('strong', { 'data-testid': 'last-sync-files' }, count(result.filesTransferred, 'file')),
    ' · ',
    el(
      'strong',
      { 'data-testid': 'last-sync-bytes', title: `${result.bytesTransferred} bytes` },
      formatBytes(result.bytesTransferred),
    ),
    ` · ${result.filesUnchanged.toLocaleString()} unchanged · `,
    el(
      'span',
      { 'data-testid': 'last-sync-pending', title: 'seen, not offered yet' },
      `${result.filesPending.toLocaleString()} pending${pendingWhy(result.pendingReasons)}`,
    ),
    ' · ',
    count(result.errors, 'error'),
    ' ',
    when,
    ...(result.error ? [el('br'), el('code', {}, result.error.code), ` ${result.error.message}`] : []),
  );
}

/** @param {HTMLElement} node @param {AgentState['lastPurge']} result */
export function renderPurge(node, result) {
  node.classList.toggle('bad', Boolean(result && !result.ok));
  if (!result) {
    node.replaceChildren('—');
    return;
  }
  node.dataset.files = String(result.filesPurged);
  node.dataset.bytes = String(result.bytesFreed);
  if (result.skipped) {
    node.replaceChildren(`skipped: ${result.skipped}`);
    return;
  }
  const kept = Object.entries(result.kept)
    .filter(([, n]) => n)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  node.replaceChildren(
    ...(result.dryRun ? [el('span', { class: 'tag' }, 'dry run'), ' '] : []),
    el(
      'strong',
      {},
      count(
        result.filesPurged,
        result.dryRun ? 'file would go' : 'file purged',
        result.dryRun ? 'files would go' : 'files purged',
      ),
    ),
    ` · ${formatBytes(result.bytesFreed)} ${result.dryRun ? 'to free' : 'freed'}`,
    ...(kept ? [` · kept: ${kept}`] : []),
    ...(result.error ? [el('br'), el('code', {}, result.error.code), ` ${result.error.message}`] : []),
  );
}
