// One card per agent: its phase, a progress bar with its numbers, and its last sync, purge and error.

import { formatBytes, formatEta, formatRate, percentOf } from '../../../common/format.js';
import { renderPurge, renderSync } from './last-results.js';
import { byId, el, formatTime } from './page-kit.js';

/** @typedef {import('../../../common/progress.js').AgentProgressState} AgentState */
/** @typedef {{ root: HTMLElement; fields: Record<string, HTMLElement> }} Card */

/** @type {Map<string, Card>} The cards on the page by agent name, kept in name order in the DOM. */
const cards = new Map();

/** The names of the agents that have a card. */
export function cardNames() {
  return [...cards.keys()];
}

/** @param {string} name @returns {Card} */
function card(name) {
  const known = cards.get(name);
  if (known) return known;
  /** @type {Record<string, HTMLElement>} */
  const fields = {};
  /** @param {string} key @param {string} tag @param {Record<string, string>} [attrs] */
  const field = (key, tag, attrs = {}) => (fields[key] = el(tag, { class: key, ...attrs }));
  const bar = field('bar', 'div', {
    role: 'progressbar',
    'aria-valuemin': '0',
    'aria-valuemax': '100',
    'aria-label': `${name} progress`,
    'data-testid': 'agent-bar',
  });
  bar.append(field('fill', 'div'));
  const root = el(
    'article',
    { class: 'agent', 'data-testid': 'agent-card', 'data-agent': name },
    el('header', {}, el('h2', {}, name), field('phase', 'span'), field('url', 'span')),
    bar,
    el(
      'div',
      { class: 'figures' },
      field('files', 'span', { 'data-testid': 'agent-files' }),
      field('bytes', 'span', { 'data-testid': 'agent-bytes' }),
      field('percent', 'span', { 'data-testid': 'agent-percent' }),
      field('rate', 'span', { 'data-testid': 'agent-rate' }),
      field('eta', 'span', { 'data-testid': 'agent-eta' }),
    ),
    el(
      'dl',
      {},
      el('dt', {}, 'last sync'),
      field('sync', 'dd', { 'data-testid': 'last-sync' }),
      el('dt', {}, 'last purge'),
      field('purge', 'dd', { 'data-testid': 'last-purge' }),
      el('dt', {}, 'last error'),
      field('error', 'dd', { 'data-testid': 'last-error' }),
    ),
  );
  const list = byId('agents');
  const after = [...cards.keys()].sort().find((other) => other > name);
  list.insertBefore(root, after ? (cards.get(after)?.root ?? null) : null);
  const made = { root, fields };
  cards.set(name, made);
  byId('no-agents').hidden = true;
  return made;
}

/** @param {string} name */
export function removeCard(name) {
  cards.get(name)?.root.remove();
  cards.delete(name);
  byId('no-agents').hidden = cards.size > 0;
}

/** Draws `state` on its agent's card, making the card if it is new. @param {AgentState} state */
export function renderAgent(state) {
  const { root, fields } = card(state.agent);
  const progress = state.progress;
  const active = state.phase !== 'idle';
  // An idle agent whose last pass failed (unreachable, refused) is failed: red, never a full bar.
  const failed = !active && Boolean(state.lastSync && !state.lastSync.ok);
  const counted = Boolean(progress && (progress.bytesTotal > 0 || progress.filesTotal > 0));
  const percent = failed && !counted ? 0 : (percentOf(progress) ?? 0);
  const shown = !state.present ? 'lost' : failed ? 'failed' : state.phase;
  root.dataset.phase = state.phase;
  root.dataset.state = shown;
  root.dataset.present = String(state.present);
  root.dataset.runId = state.runId ?? '';
  root.dataset.lastSyncRunId = state.lastSync?.runId ?? '';

  fields.phase.textContent = shown;
  fields.phase.dataset.phase = shown;
  fields.url.textContent = state.url;

  const bar = fields.bar;
  bar.dataset.phase = failed ? 'failed' : state.phase;
  bar.dataset.percent = String(percent);
  bar.dataset.filesDone = String(progress?.filesDone ?? 0);
  bar.dataset.filesTotal = String(progress?.filesTotal ?? 0);
  bar.dataset.bytesDone = String(progress?.bytesDone ?? 0);
  bar.dataset.bytesTotal = String(progress?.bytesTotal ?? 0);
  bar.setAttribute('aria-valuenow', String(percent));
  bar.classList.toggle('active', active);
  fields.fill.style.width = `${percent}%`;

  if (progress && !(failed && !counted)) {
    const unit = state.phase === 'scanning' ? 'hashed' : 'files';
    fields.files.textContent = `${progress.filesDone.toLocaleString()} / ${progress.filesTotal.toLocaleString()} ${unit}`;
    fields.bytes.textContent = `${formatBytes(progress.bytesDone)} / ${formatBytes(progress.bytesTotal)}`;
    fields.percent.textContent = `${percent}%`;
    // A rate and an ETA describe work under way: an idle card shows neither (its last sync has the totals).
    fields.rate.textContent = !active
      ? ''
      : progress.rateBps !== null
        ? formatRate(progress.rateBps)
        : 'rate —';
    fields.eta.textContent = active ? `ETA ${formatEta(progress.etaSeconds)}` : '';
  } else {
    fields.files.textContent = failed ? 'failed' : state.phase === 'scanning' ? 'scanning…' : 'idle';
    for (const key of ['bytes', 'percent', 'rate']) fields[key].textContent = '';
    fields.eta.textContent = '';
  }

  renderSync(fields.sync, state.lastSync);
  renderPurge(fields.purge, state.lastPurge);
  // The last sync line already shows its own error: the same one again below would say it twice.
  const syncError = state.lastSync?.error;
  const error =
    state.lastError && !(syncError && syncError.message === state.lastError.message) ? state.lastError : null;
  fields.error.replaceChildren(
    ...(error
      ? [
          el('code', {}, error.code),
          ` ${error.message} `,
          el('time', { datetime: error.at }, formatTime(error.at)),
        ]
      : ['—']),
  );
  fields.error.classList.toggle('bad', Boolean(error));
}
