// Small DOM helpers the status page and the gallery share: elements, lookups, the connection badge, times.

/**
 * An element with attributes and children; strings become text nodes, so data is never parsed as HTML.
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** @param {string} id */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page: #${id} is missing from its HTML`);
  return node;
}

/**
 * Shows the link to the controller in the header badge, and on the body for the stylesheet.
 * @param {'connecting' | 'live' | 'reconnecting' | 'token'} state
 * @param {string} text
 */
export function setConnection(state, text) {
  const node = byId('connection');
  node.dataset.state = state;
  node.textContent = text;
  document.body.dataset.connection = state;
}

/** The local time of day of an ISO stamp; the stamp itself when it is not one. @param {string} iso */
export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

/** `1 file`, `1,024 files`. @param {number} n @param {string} one @param {string} [many] */
export function count(n, one, many = `${one}s`) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
