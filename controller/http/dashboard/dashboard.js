// The status page: token from the URL fragment, /v1/progress folded by common/progress-state.ts into cards per agent.
// An ES module type-checked from JSDoc, bundled with what it imports (controller/http/dashboard-bundle.ts).

import { applyProgress } from '../../../common/progress-state.js';
import { cardNames, removeCard, renderAgent } from './agent-cards.js';
import { byId, setConnection } from './page-kit.js';
import { addProblem } from './problem-list.js';
import { linkToken, reconnectNow, startLink, stopLink, useToken } from './progress-link.js';
import { addRecent, loadRecent } from './recent-files.js';
import { api } from './session.js';
import { onTokenGiven, showTokenForm } from './token-form.js';

/** @typedef {import('../../../common/progress.js').ProgressMessage} ProgressMessage */

/** @type {import('../../../common/progress-state.js').ProgressStates} Agents as the last snapshot and the events since have them. */
const agents = new Map();

/** @param {string} name */
function redraw(name) {
  const state = agents.get(name);
  if (state) renderAgent(state);
}

/**
 * Folds a message into the agents' states, by the same rules as the controller's hub, then draws
 * what it changed. @param {ProgressMessage} message @param {() => boolean} isCurrent
 */
function onMessage(message, isCurrent) {
  applyProgress(agents, message);
  switch (message.type) {
    case 'snapshot':
      for (const name of cardNames()) if (!agents.has(name)) removeCard(name);
      for (const state of agents.values()) renderAgent(state);
      setConnection('live', 'live');
      void loadRecent(isCurrent);
      return;
    case 'error':
      addProblem({
        at: message.at,
        agent: message.agent,
        code: message.code,
        path: null,
        message: message.message,
      });
      if (message.agent) redraw(message.agent);
      return;
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
    case 'agent.discovered':
    case 'agent.lost':
    case 'scan.started':
    case 'scan.progress':
    case 'scan.done':
    case 'sync.started':
    case 'sync.progress':
    case 'sync.completed':
    case 'purge.started':
    case 'purge.progress':
    case 'purge.completed':
      redraw(message.agent);
      return;
    default:
      // A newer controller may send types this page does not know: ignore them.
      return;
  }
}

/** The link stopped for want of a token: the form comes back. @param {string | null} problem */
function askForToken(problem) {
  showTokenForm(problem);
  byId('forget').hidden = true;
}

/** Connects with a token given in the form or in a new `#token=…`. @param {string} given */
function connectWith(given) {
  byId('token-form').hidden = true;
  byId('forget').hidden = false;
  useToken(given);
}

/** POST /v1/sync on the session cookie: api() adds the csrf header that a state change needs. */
async function syncNow() {
  const syncButton = /** @type {HTMLButtonElement} */ (byId('sync-now'));
  syncButton.disabled = true;
  try {
    const response = await api('v1/sync', { method: 'POST' });
    if (response.ok) {
      /** @type {{ started: boolean; runId: string }} */
      const answer = await response.json();
      syncButton.dataset.runId = answer.runId;
      syncButton.title = answer.started ? `started ${answer.runId}` : `already running: ${answer.runId}`;
    } else if (response.status === 403) {
      // A read-only token watches; starting a pass takes the purge token.
      syncButton.title = 'this page was opened with a read-only token; starting a pass needs the purge token';
    }
  } finally {
    syncButton.disabled = false;
  }
}

function start() {
  byId('host').textContent = location.host;
  onTokenGiven(connectWith, linkToken);
  byId('forget').addEventListener('click', () => stopLink(null));
  byId('sync-now').addEventListener('click', () => void syncNow());
  window.addEventListener('online', reconnectNow);
  document.addEventListener('visibilitychange', reconnectNow);
  byId('forget').hidden = !linkToken();
  startLink({ message: onMessage, tokenNeeded: askForToken });
}

start();
