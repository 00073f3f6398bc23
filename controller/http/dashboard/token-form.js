// The token both pages need: the form they show without one (or after a refusal), and a later `/#token=…` in the same tab.

import { byId, setConnection } from './page-kit.js';
import { TOKEN_KEY, takeToken } from './session.js';

/** Shows the form, saying why when there is a reason. @param {string | null} problem */
export function showTokenForm(problem) {
  setConnection('token', 'token needed');
  const form = /** @type {HTMLFormElement} */ (byId('token-form'));
  const note = byId('token-problem');
  note.textContent = problem ?? '';
  note.hidden = !problem;
  form.hidden = false;
  form.querySelector('input')?.focus();
}

/**
 * Calls `use` with each token given from now on: typed into the form (then kept in this tab), or
 * in a `/#token=…` opened in this tab, which is a same-document navigation with no reload. A
 * fragment token equal to `current()`, the one in use, is not given again.
 * @param {(token: string) => void} use
 * @param {() => string | null} current
 */
export function onTokenGiven(use, current) {
  const form = /** @type {HTMLFormElement} */ (byId('token-form'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = form.querySelector('input');
    const given = input?.value.trim();
    if (!input || !given) return;
    input.value = '';
    sessionStorage.setItem(TOKEN_KEY, given);
    use(given);
  });
  window.addEventListener('hashchange', () => {
    const given = takeToken();
    if (given && given !== current()) use(given);
  });
}
