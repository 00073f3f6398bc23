// The status page: token from the URL fragment, /v1/progress over WebSocket, cards per agent, reconnects.
// Plain ES module, no build step. Type-checked from JSDoc against common/progress.ts (tsconfig.json here).

import { byId, el, formatBytes } from './page-kit.js';
import { TOKEN_KEY, api, forgetToken, openSession, takeToken } from './session.js';

/** @typedef {import('../../../common/progress.js').ProgressMessage} ProgressMessage */
/** @typedef {import('../../../common/progress.js').AgentProgressState} AgentState */
/** @typedef {import('../../../common/progress.js').Progress} Progress */
/** @typedef {{ at: string; agent: string; path: string; storedPath: string; size: number }} StoredFile */
/** @typedef {{ at: string; agent: string | null; code: string; path: string | null; message: string }} Problem */

const MAX_RECENT = 50;
const MAX_ERRORS = 100;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

/** @type {Map<string, AgentState>} Agents by name, as the last snapshot and the events since have them. */
const agents = new Map();
/** @type {StoredFile[]} newest first */
let recent = [];
/** @type {Problem[]} newest first */
const problems = [];

/** @type {string | null} */
let token = takeToken();
/** @type {WebSocket | null} */
let socket = null;
let attempt = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer;
/** Counts connections, so answers that arrive for an older one are ignored. */
let generation = 0;

/** @param {number | null} seconds */
function formatEta(seconds) {
  if (seconds === null) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** @param {string} iso */
function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

/** @param {number} n @param {string} one @param {string} [many] */
function count(n, one, many = `${one}s`) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/**
 * Share done, by bytes when the phase has any, else by files; floored to a tenth, so 100 means
 * finished. A phase with nothing to do is complete.
 * @param {Progress | null} progress
 */
function percentOf(progress) {
  if (!progress) return 0;
  const [done, total] =
    progress.bytesTotal > 0
      ? [progress.bytesDone, progress.bytesTotal]
      : [progress.filesDone, progress.filesTotal];
  if (total <= 0) return 100;
  return Math.min(100, Math.floor((done / total) * 1000) / 10);
}

// ---- state: the same rules as the controller's ProgressHub ----------------------------------

/** @param {string} name @returns {AgentState} */
function agentState(name) {
  let state = agents.get(name);
  if (!state) {
    state = {
      agent: name,
      url: '',
      present: true,
      phase: 'idle',
      runId: null,
      progress: null,
      lastSync: null,
      lastPurge: null,
      lastError: null,
    };
    agents.set(name, state);
  }
  return state;
}

/** @param {ProgressMessage} message */
function apply(message) {
  switch (message.type) {
    case 'snapshot':
      agents.clear();
      for (const state of message.agents) agents.set(state.agent, state);
      for (const name of cards.keys()) if (!agents.has(name)) removeCard(name);
      for (const name of agents.keys()) renderAgent(name);
      setConnection('live', 'live');
      void loadRecent(generation);
      return;
    case 'agent.discovered':
      Object.assign(agentState(message.agent), { url: message.url, present: true });
      break;
    case 'agent.lost':
      Object.assign(agentState(message.agent), { present: false, phase: 'idle', progress: null });
      break;
    case 'error':
      if (message.agent) {
        agentState(message.agent).lastError = {
          code: message.code,
          message: message.message,
          at: message.at,
        };
      }
      addProblem({
        at: message.at,
        agent: message.agent,
        code: message.code,
        path: null,
        message: message.message,
      });
      if (message.agent) renderAgent(message.agent);
      return;
    case 'scan.started':
      Object.assign(agentState(message.agent), { phase: 'scanning', runId: message.runId, progress: null });
      break;
    case 'scan.done':
      Object.assign(agentState(message.agent), { phase: 'idle', progress: null });
      break;
    case 'scan.progress':
    case 'sync.started':
    case 'sync.progress':
      Object.assign(agentState(message.agent), {
        phase: message.type === 'scan.progress' ? 'scanning' : 'syncing',
        runId: message.runId,
        progress: message.progress,
      });
      break;
    case 'sync.completed': {
      const state = agentState(message.agent);
      Object.assign(state, { phase: 'idle', progress: message.progress, lastSync: message.result });
      if (message.result.error) state.lastError = { ...message.result.error, at: message.at };
      break;
    }
    case 'purge.started':
    case 'purge.progress':
      Object.assign(agentState(message.agent), {
        phase: 'purging',
        runId: message.runId,
        progress: message.progress,
      });
      break;
    case 'purge.completed': {
      const state = agentState(message.agent);
      Object.assign(state, { phase: 'idle', progress: message.progress, lastPurge: message.result });
      if (message.result.error) state.lastError = { ...message.result.error, at: message.at };
      break;
    }
    case 'file.stored':
      addRecent([
        {
          at: message.at,
          agent: message.agent,
          path: message.path,
          storedPath: message.storedPath,
          size: message.size,
        },
      ]);
      return;
    case 'file.rejected':
      addProblem({
        at: message.at,
        agent: message.agent,
        code: message.code,
        path: message.path,
        message: message.message,
      });
      return;
    default:
      // A newer controller may send types this page does not know: ignore them.
      return;
  }
  renderAgent(message.agent);
}

// ---- agent cards ------------------------------------------------------------------------------

/** @typedef {{ root: HTMLElement; fields: Record<string, HTMLElement> }} Card */
/** @type {Map<string, Card>} */
const cards = new Map();

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
function removeCard(name) {
  cards.get(name)?.root.remove();
  cards.delete(name);
  byId('no-agents').hidden = cards.size > 0;
}

/** @param {string} name */
function renderAgent(name) {
  const state = agents.get(name);
  if (!state) return;
  const { root, fields } = card(name);
  const progress = state.progress;
  const active = state.phase !== 'idle';
  // An idle agent whose last pass failed (unreachable, refused) is failed: red, never a full bar.
  const failed = !active && Boolean(state.lastSync && !state.lastSync.ok);
  const counted = Boolean(progress && (progress.bytesTotal > 0 || progress.filesTotal > 0));
  const percent = failed && !counted ? 0 : percentOf(progress);
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
  bar.dataset.percent = String(progress ? percent : 0);
  bar.dataset.filesDone = String(progress?.filesDone ?? 0);
  bar.dataset.filesTotal = String(progress?.filesTotal ?? 0);
  bar.dataset.bytesDone = String(progress?.bytesDone ?? 0);
  bar.dataset.bytesTotal = String(progress?.bytesTotal ?? 0);
  bar.setAttribute('aria-valuenow', String(progress ? percent : 0));
  bar.classList.toggle('active', active);
  fields.fill.style.width = `${progress ? percent : 0}%`;

  if (progress && !(failed && !counted)) {
    const unit = state.phase === 'scanning' ? 'hashed' : 'files';
    fields.files.textContent = `${progress.filesDone.toLocaleString()} / ${progress.filesTotal.toLocaleString()} ${unit}`;
    fields.bytes.textContent = `${formatBytes(progress.bytesDone)} / ${formatBytes(progress.bytesTotal)}`;
    fields.percent.textContent = `${percent.toFixed(1)}%`;
    // A rate and an ETA describe work under way: an idle card shows neither (its last sync has the totals).
    fields.rate.textContent = !active
      ? ''
      : progress.rateBps !== null
        ? `${formatBytes(progress.rateBps)}/s`
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
function renderSync(node, result) {
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
function renderPurge(node, result) {
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

// ---- lists --------------------------------------------------------------------------------------

/** @param {StoredFile} file */
function fileKey(file) {
  return `${file.agent}\n${file.storedPath}`;
}

/** Puts files at the top of the list (newest first), once each, and keeps the newest MAX_RECENT. @param {StoredFile[]} files */
function addRecent(files) {
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

/** @param {Problem} problem */
function addProblem(problem) {
  problems.unshift(problem);
  problems.length = Math.min(problems.length, MAX_ERRORS);
  byId('errors').replaceChildren(
    ...problems.map((p) =>
      el(
        'li',
        { 'data-testid': 'error', 'data-code': p.code },
        el('time', { datetime: p.at }, formatTime(p.at)),
        ' ',
        el('code', {}, p.code),
        ' ',
        ...(p.agent ? [el('strong', {}, p.agent), ' '] : []),
        ...(p.path ? [el('span', { class: 'path' }, p.path), ' '] : []),
        el('span', { class: 'message' }, p.message),
      ),
    ),
  );
  byId('no-errors').hidden = true;
  byId('error-count').textContent = `(${problems.length})`;
}

/**
 * Fills the recent list from the catalog (GET /v1/files, newest first), since the snapshot carries
 * no file history. Files stored while this was under way stay on top.
 * @param {number} forGeneration
 */
async function loadRecent(forGeneration) {
  try {
    const response = await api(`v1/files?limit=${MAX_RECENT}`);
    if (!response.ok || forGeneration !== generation) return;
    /** @type {{ items: { agent: string; containerPath: string; storedPath: string; size: number; syncedAt: string }[] }} */
    const page = await response.json();
    if (forGeneration !== generation) return;
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

// ---- connection ---------------------------------------------------------------------------------

/** @param {'connecting' | 'live' | 'reconnecting' | 'token'} state @param {string} text */
function setConnection(state, text) {
  const node = byId('connection');
  node.dataset.state = state;
  node.textContent = text;
  document.body.dataset.connection = state;
}

async function connect() {
  clearTimeout(retryTimer);
  if (!token) return askForToken(null);
  const current = ++generation;
  if (attempt === 0) setConnection('connecting', 'connecting…');
  // The socket rides on the session cookie: a fresh one each time, as the controller may have restarted.
  const opened = await openSession(token);
  if (current !== generation) return;
  if (opened === 'refused') return askForToken('The controller refused this token.');
  if (opened === 'failed') return void retry(false);
  const url = new URL('v1/progress', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  url.search = '';
  const ws = new WebSocket(url);
  socket = ws;
  let wasOpen = false;
  ws.addEventListener('open', () => {
    wasOpen = true;
    attempt = 0;
  });
  ws.addEventListener('message', (event) => {
    if (current !== generation) return;
    /** @type {ProgressMessage} */
    let message;
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    apply(message);
  });
  ws.addEventListener('close', () => {
    if (current !== generation) return;
    socket = null;
    void retry(wasOpen);
  });
}

/**
 * Tries again after a growing, jittered delay. A connection that never opened may have been refused
 * for its token, which a WebSocket cannot tell: GET /v1/status can.
 * @param {boolean} opened
 */
async function retry(opened) {
  const current = generation;
  if (!opened && token && (await tokenRefused(token))) {
    if (current === generation) askForToken('The controller refused this token.');
    return;
  }
  if (current !== generation) return;
  const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt) * (0.75 + Math.random() * 0.5);
  attempt++;
  setConnection('reconnecting', attempt > 1 ? `reconnecting… (try ${attempt})` : 'reconnecting…');
  retryTimer = setTimeout(() => void connect(), delay);
}

/** @param {string} given */
async function tokenRefused(given) {
  try {
    const response = await fetch(new URL('v1/status', location.href), {
      headers: { authorization: `Bearer ${given}` },
      cache: 'no-store',
    });
    return response.status === 401;
  } catch {
    return false;
  }
}

/** @param {string | null} problem */
function askForToken(problem) {
  generation++;
  clearTimeout(retryTimer);
  socket?.close();
  socket = null;
  token = null;
  forgetToken();
  setConnection('token', 'token needed');
  const form = /** @type {HTMLFormElement} */ (byId('token-form'));
  const note = byId('token-problem');
  note.textContent = problem ?? '';
  note.hidden = !problem;
  form.hidden = false;
  byId('forget').hidden = true;
  form.querySelector('input')?.focus();
}

function start() {
  byId('host').textContent = location.host;
  const form = /** @type {HTMLFormElement} */ (byId('token-form'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = form.querySelector('input');
    const given = input?.value.trim();
    if (!input || !given) return;
    input.value = '';
    token = given;
    sessionStorage.setItem(TOKEN_KEY, given);
    form.hidden = true;
    byId('forget').hidden = false;
    attempt = 0;
    void connect();
  });
  byId('forget').addEventListener('click', () => askForToken(null));
  const syncButton = /** @type {HTMLButtonElement} */ (byId('sync-now'));
  syncButton.addEventListener('click', async () => {
    syncButton.disabled = true;
    try {
      // POST on the session cookie: api() adds the csrf header that a state change needs.
      const response = await api('v1/sync', { method: 'POST' });
      if (response.ok) {
        /** @type {{ started: boolean; runId: string }} */
        const answer = await response.json();
        syncButton.dataset.runId = answer.runId;
        syncButton.title = answer.started ? `started ${answer.runId}` : `already running: ${answer.runId}`;
      } else if (response.status === 403) {
        // A read-only token watches; starting a pass takes the purge token.
        syncButton.title =
          'this page was opened with a read-only token; starting a pass needs the purge token';
      }
    } finally {
      syncButton.disabled = false;
    }
  });
  // Back online or back in view: no reason to wait out the backoff.
  const now = () => {
    if (!socket && token && document.visibilityState === 'visible') {
      attempt = Math.min(attempt, 1);
      void connect();
    }
  };
  // `/#token=…` opened in a tab already on this page is a same-document navigation: no reload.
  window.addEventListener('hashchange', () => {
    const given = takeToken();
    if (!given || given === token) return;
    token = given;
    form.hidden = true;
    byId('forget').hidden = false;
    attempt = 0;
    void connect();
  });
  window.addEventListener('online', now);
  document.addEventListener('visibilitychange', now);
  byId('forget').hidden = !token;
  void connect();
}

start();
