// The "Recently stored" table: the catalog's newest files at each snapshot, then every file.stored event.

import { formatBytes } from '../../../common/format.js';
import { byId, el, formatTime } from './page-kit.js';
import { api } from './session.js';

/** @typedef {{ at: string; agent: string; path: string; storedPath: string; size: number }} StoredFile */

const MAX_RECENT = 50;

/** @type {StoredFile[]} newest first */
let recent = [];

/** @param {StoredFile} file */
function fileKey(file) {
  return `${file.agent}\n${file.storedPath}`;
}

/** Puts files at the top of the list (newest first), once each, and keeps the newest MAX_RECENT. @param {StoredFile[]} files */
export function addRecent(files) {
  const seen = new Set();
  recent = [...files, ...recent].filter((file) => !seen.has(fileKey(file)) && seen.add(fileKey(file)));
  recent.length = Math.min(recent.length, MAX_RECENT);
  renderRecent();
}

function renderRecent() {
  byId('recent').replaceChildren(
    ...recent.map((file) =>
      el(
        'tr',
        {
          'data-testid': 'recent-file',
          'data-agent': file.agent,
          'data-path': file.path,
          'data-size': String(file.size),
        },
        el('td', {}, el('time', { datetime: file.at }, formatTime(file.at))),
        el('td', {}, file.agent),
        el('td', { class: 'path', title: file.storedPath }, file.path),
        el('td', { class: 'num', title: `${file.size} bytes` }, formatBytes(file.size)),
      ),
    ),
  );
  byId('no-recent').hidden = recent.length > 0;
  byId('recent-count').textContent = recent.length ? `(${recent.length})` : '';
}

/**
 * Fills the list from the catalog (GET /v1/files, newest first), since the snapshot carries no
 * file history. Files stored while this was under way stay on top. An answer that arrives once
 * `isCurrent` says its connection was replaced is dropped.
 * @param {() => boolean} isCurrent
 */
export async function loadRecent(isCurrent) {
  try {
    const response = await api(`v1/files?limit=${MAX_RECENT}`);
    if (!response.ok || !isCurrent()) return;
    /** @type {{ items: { agent: string; containerPath: string; storedPath: string; size: number; syncedAt: string }[] }} */
    const page = await response.json();
    if (!isCurrent()) return;
    const before = recent;
    recent = [];
    addRecent(
      page.items.map((hit) => ({
        at: hit.syncedAt,
        agent: hit.agent,
        path: hit.containerPath,
        storedPath: hit.storedPath,
        size: hit.size,
      })),
    );
    addRecent(before.filter((file) => file.at >= (page.items[0]?.syncedAt ?? '')));
  } catch {
    // The list is a convenience; the live events still fill it.
  }
}
