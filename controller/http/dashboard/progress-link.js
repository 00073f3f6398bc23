// The status page's link to /v1/progress: a session for the token, the WebSocket, and reconnects with the shared backoff.

import { backoffDelay } from '../../../common/backoff.js';
import { setConnection } from './page-kit.js';
import { forgetToken, openSession, takeToken } from './session.js';

/** @typedef {import('../../../common/progress.js').ProgressMessage} ProgressMessage */
/**
 * What the page does with the link. Called only for the connection that is current.
 * @typedef {object} LinkHandlers
 * @property {(message: ProgressMessage, isCurrent: () => boolean) => void} message One message;
 *   `isCurrent` turns false once this connection is replaced, for answers that come later.
 * @property {(problem: string | null) => void} tokenNeeded The link stopped and forgot its token;
 *   `problem` says why (null: nobody gave one).
 */

/** @type {LinkHandlers} */
let handlers = { message() {}, tokenNeeded() {} };
/** @type {string | null} */
let token = takeToken();
/** @type {WebSocket | null} */
let socket = null;
/** Retries since the last connection that opened. */
let attempt = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer;
/** Counts connections, so messages and answers that arrive for an older one are ignored. */
let generation = 0;

/** Starts following the progress socket with the token this tab has, if any. @param {LinkHandlers} given */
export function startLink(given) {
  handlers = given;
  void connect();
}

/** The token the link uses, or null while it waits for one. */
export function linkToken() {
  return token;
}

/** Connects with a token the person has just given. @param {string} given */
export function useToken(given) {
  token = given;
  attempt = 0;
  void connect();
}

/** Back online or back in view: connects now rather than waiting out the backoff. */
export function reconnectNow() {
  if (!socket && token && document.visibilityState === 'visible') {
    attempt = Math.min(attempt, 1);
    void connect();
  }
}

/** Drops the connection and the token, then asks the page for another. @param {string | null} problem */
export function stopLink(problem) {
  generation++;
  clearTimeout(retryTimer);
  socket?.close();
  socket = null;
  token = null;
  forgetToken();
  handlers.tokenNeeded(problem);
}

async function connect() {
  clearTimeout(retryTimer);
  if (!token) return stopLink(null);
  const current = ++generation;
  const isCurrent = () => current === generation;
  if (attempt === 0) setConnection('connecting', 'connecting…');
  // The socket rides on the session cookie: a fresh one each time, as the controller may have restarted.
  const opened = await openSession(token);
  if (!isCurrent()) return;
  if (opened === 'refused') return stopLink('The controller refused this token.');
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
    if (!isCurrent()) return;
    /** @type {ProgressMessage} */
    let message;
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    handlers.message(message, isCurrent);
  });
  ws.addEventListener('close', () => {
    if (!isCurrent()) return;
    socket = null;
    void retry(wasOpen);
  });
}

/**
 * Tries again after the shared backoff. A connection that never opened may have been refused for
 * its token, which a WebSocket cannot tell: GET /v1/status can.
 * @param {boolean} opened
 */
async function retry(opened) {
  const current = generation;
  if (!opened && token && (await tokenRefused(token))) {
    if (current === generation) stopLink('The controller refused this token.');
    return;
  }
  if (current !== generation) return;
  const delay = backoffDelay(attempt);
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
