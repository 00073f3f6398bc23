// What the status page and the gallery share: the token kept in this tab, and the session cookie it buys.
// The token itself only ever travels in an Authorization header (POST /v1/session); images, videos and
// the progress WebSocket ride on the HttpOnly cookie that answer sets, so no URL ever carries a secret.

export const TOKEN_KEY = 'forge-sync-token';
const CSRF_HEADER = 'x-forge-sync-csrf';

/** @type {string | null} The csrf value of the open session, kept in memory only. */
let csrf = null;

/**
 * The token from `#token=…` (then removed from the address bar and kept in this tab's
 * sessionStorage), or the one kept earlier. The fragment never reaches the server. Called at load
 * and on every `hashchange`: opening `/#token=…` in a tab already on `/` changes only the fragment.
 * @returns {string | null}
 */
export function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get('token');
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  csrf = null;
}

/**
 * Opens a session with the token: the answer sets the cookie. Resolves 'refused' when the
 * controller says the token is wrong, 'failed' when it cannot be reached.
 * @param {string} token
 * @returns {Promise<'ok' | 'refused' | 'failed'>}
 */
export async function openSession(token) {
  try {
    const response = await fetch(new URL('v1/session', location.href), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (response.status === 401) return 'refused';
    if (!response.ok) return 'failed';
    /** @type {{ csrf: string }} */
    const body = await response.json();
    csrf = body.csrf;
    return 'ok';
  } catch {
    return 'failed';
  }
}

/** True once a session is open in this page. */
export function hasSession() {
  return csrf !== null;
}

/**
 * fetch() to the controller's API on the session cookie; a request that changes state carries
 * the csrf value. A 401 (the controller restarted and forgot the session) opens a new session
 * with the kept token and tries once more.
 * @param {string} path relative, like `v1/files?limit=50`
 * @param {RequestInit} [init]
 * @returns {Promise<Response>}
 */
export async function api(path, init = {}) {
  const send = () => {
    const headers = new Headers(init.headers);
    const method = (init.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD' && csrf) headers.set(CSRF_HEADER, csrf);
    return fetch(new URL(path, location.href), {
      ...init,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  };
  let response = await send();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (response.status === 401 && token && (await openSession(token)) === 'ok') response = await send();
  return response;
}
