// The "Errors and rejected files" list: every error and file.rejected since the page opened, newest first.

import { el, byId, formatTime } from './page-kit.js';

/** @typedef {{ at: string; agent: string | null; code: string; path: string | null; message: string }} Problem */

const MAX_ERRORS = 100;

/** @type {Problem[]} newest first */
const problems = [];

/** @param {Problem} problem */
export function addProblem(problem) {
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
