// The gallery: pages of GET /v1/files as thumbnail tiles (newest first, more on scroll), search, and a detail view.
// An ES module type-checked from JSDoc, bundled with what it imports (controller/http/dashboard-bundle.ts).
// Images and videos load on the session cookie.

import { formatBytes } from '../../../common/format.js';
import { byId, el, setConnection } from './page-kit.js';
import { forgetToken, openSession, takeToken, api } from './session.js';
import { onTokenGiven, showTokenForm } from './token-form.js';

// The shapes of GET /v1/files and /v1/files/:id that the page reads (controller/catalog/catalog.ts
// has them in full; importing it here would pull the Node-only metadata readers into this check).
/**
 * @typedef {{ id: number; agent: string; containerPath: string; storedPath: string; size: number;
 *   syncedAt: string; purgedAt: string | null; metaSource: string | null; metaError: string | null;
 *   prompt: string | null; negativePrompt: string | null; seed: string | null; steps: number | null;
 *   cfg: number | null; sampler: string | null; scheduler: string | null; model: string | null;
 *   width: number | null; height: number | null; kind: string | null; pixelWidth: number | null;
 *   pixelHeight: number | null }} Hit
 */
/**
 * @typedef {Hit & { hostPath: string; mtimeMs: number; starredAt: string | null; provenance: { host?: string };
 *   metadata: { raw?: string; modelHash?: string; loras?: { name: string; strength?: number }[];
 *   comfyPrompt?: unknown } | null }} Detail
 */

const PAGE_SIZE = 60;
const VIDEO = /\.(mp4|webm|mkv|mov|m4v)$/i;
const FILTERS = /** @type {const} */ ([
  'q',
  'seed',
  'model',
  'lora',
  'sampler',
  'agent',
  'since',
  'from',
  'to',
  'starred',
]);

/** @type {string | null} */
let token = takeToken();
/** @type {string | null} where the next page starts; null when there is none */
let cursor = null;
let loading = false;
/** Counts searches, so a page that arrives for an older one is dropped. */
let searchGeneration = 0;
let shown = 0;

/** @param {string | null} problem */
function askForToken(problem) {
  token = null;
  forgetToken();
  showTokenForm(problem);
  byId('main').hidden = true;
}

async function signIn() {
  if (!token) return askForToken(null);
  setConnection('connecting', 'connecting…');
  const result = await openSession(token);
  if (result === 'refused') return askForToken('The controller refused this token.');
  if (result === 'failed') return setConnection('reconnecting', 'controller unreachable');
  setConnection('live', 'signed in');
  byId('token-form').hidden = true;
  byId('main').hidden = false;
  await search();
}

// ---- search and pages ---------------------------------------------------------------------------

/** The search form's values as query parameters; empty ones are left out. */
function filterParams() {
  const form = /** @type {HTMLFormElement} */ (byId('search'));
  const data = new FormData(form);
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = String(data.get(name) ?? '').trim();
    if (!value) continue;
    // A day picked here is a day where the viewer is: sent as the instants it starts and ends.
    if (name === 'from') params.set(name, new Date(`${value}T00:00:00`).toISOString());
    else if (name === 'to') params.set(name, new Date(`${value}T23:59:59.999`).toISOString());
    else params.set(name, value);
  }
  return params;
}

async function search() {
  searchGeneration++;
  cursor = null;
  shown = 0;
  byId('grid').replaceChildren();
  byId('result-count').textContent = '';
  byId('search-problem').hidden = true;
  byId('no-results').hidden = true;
  document.body.dataset.searching = 'true';
  await loadPage(true);
}

/** @param {boolean} [first] */
async function loadPage(first = false) {
  if (loading || (!first && cursor === null)) return;
  loading = true;
  const current = searchGeneration;
  const params = filterParams();
  params.set('limit', String(PAGE_SIZE));
  if (cursor !== null) params.set('cursor', cursor);
  try {
    const response = await api(`v1/files?${params}`);
    if (current !== searchGeneration) return;
    if (!response.ok) {
      /** @type {{ error?: { message?: string } }} */
      const body = await response.json().catch(() => ({}));
      const note = byId('search-problem');
      note.textContent = body.error?.message ?? `search failed (HTTP ${response.status})`;
      note.hidden = false;
      if (response.status === 401) askForToken('The controller refused this token.');
      return;
    }
    /** @type {{ items: Hit[]; nextCursor: string | null }} */
    const page = await response.json();
    if (current !== searchGeneration) return;
    cursor = page.nextCursor;
    const grid = byId('grid');
    for (const hit of page.items) grid.append(tile(hit));
    shown += page.items.length;
    byId('result-count').textContent = `${shown}${cursor ? '+' : ''} file${shown === 1 ? '' : 's'}`;
    byId('no-results').hidden = shown > 0;
  } finally {
    loading = false;
    if (current === searchGeneration) document.body.dataset.searching = 'false';
  }
  // A tall window may show the sentinel before any scroll: keep filling it.
  if (current === searchGeneration && cursor !== null && sentinelVisible()) void loadPage();
}

function sentinelVisible() {
  const box = byId('more').getBoundingClientRect();
  return box.top < window.innerHeight + 600;
}

/** @param {Hit} hit */
function tile(hit) {
  const name = hit.containerPath.split('/').pop() ?? hit.containerPath;
  const img = /** @type {HTMLImageElement} */ (
    el('img', { loading: 'lazy', decoding: 'async', alt: hit.prompt ?? name, width: '256', height: '256' })
  );
  img.src = `v1/files/${hit.id}/thumbnail?size=256`;
  const caption = el('span', { class: 'caption' }, hit.prompt ?? name);
  const button = el(
    'button',
    {
      type: 'button',
      class: 'tile',
      'data-testid': 'tile',
      'data-id': String(hit.id),
      'data-seed': hit.seed ?? '',
      'data-path': hit.containerPath,
      title: `${hit.agent}: ${hit.containerPath}`,
    },
    img,
    caption,
  );
  if (VIDEO.test(hit.containerPath)) button.append(el('span', { class: 'badge' }, 'video'));
  button.addEventListener('click', () => void openDetail(hit.id));
  return button;
}

// ---- detail -------------------------------------------------------------------------------------

/** @type {Detail | null} */
let current = null;

/** @param {number} id */
async function openDetail(id) {
  const response = await api(`v1/files/${id}`);
  if (!response.ok) return;
  /** @type {Detail} */
  const file = await response.json();
  current = file;
  const content = `v1/files/${file.id}/content`;
  const media = byId('detail-media');
  if (VIDEO.test(file.storedPath)) {
    const video = /** @type {HTMLVideoElement} */ (
      el('video', { controls: '', preload: 'metadata', 'data-testid': 'detail-video' })
    );
    video.src = content;
    video.poster = `v1/files/${file.id}/thumbnail?size=512`;
    media.replaceChildren(video);
  } else {
    const img = /** @type {HTMLImageElement} */ (
      el('img', { alt: file.prompt ?? '', 'data-testid': 'detail-image' })
    );
    img.src = content;
    media.replaceChildren(img);
  }
  byId('detail-title').textContent = file.containerPath.split('/').pop() ?? file.containerPath;
  const meta = file.metadata;
  const loras = Array.isArray(meta?.loras)
    ? meta.loras
        .map((lora) => `${lora.name}${lora.strength === undefined ? '' : ` (${lora.strength})`}`)
        .join(', ')
    : '';
  /** @type {[string, string, string | number | null | undefined][]} */
  const rows = [
    ['prompt', 'Prompt', file.prompt],
    ['negative', 'Negative prompt', file.negativePrompt],
    ['seed', 'Seed', file.seed],
    ['steps', 'Steps', file.steps],
    ['cfg', 'CFG scale', file.cfg],
    ['sampler', 'Sampler', file.sampler],
    ['scheduler', 'Scheduler', file.scheduler],
    ['model', 'Model', [file.model, meta?.modelHash].filter(Boolean).join(' · ')],
    ['loras', 'LoRAs', loras],
    [
      'size',
      'Size',
      `${file.width && file.height ? `${file.width}×${file.height}, ` : ''}${formatBytes(file.size)}`,
    ],
    [
      'media',
      'File',
      [file.kind, file.pixelWidth && file.pixelHeight ? `${file.pixelWidth}×${file.pixelHeight} px` : null]
        .filter(Boolean)
        .join(' · '),
    ],
    ['made', 'Made', new Date(file.mtimeMs).toLocaleString()],
    ['agent', 'Agent', [file.agent, file.provenance.host].filter(Boolean).join(' on ')],
    ['host-path', 'Host path', file.hostPath],
    ['container-path', 'Container path', file.containerPath],
    ['synced', 'Synced', new Date(file.syncedAt).toLocaleString()],
    [
      'source',
      'Metadata',
      file.metaError ? `${file.metaSource ?? 'none'}: ${file.metaError}` : file.metaSource,
    ],
    ['purged', 'Purged from container', file.purgedAt ? new Date(file.purgedAt).toLocaleString() : null],
  ];
  const fields = byId('detail-fields');
  fields.replaceChildren();
  for (const [key, label, value] of rows) {
    if (value === null || value === undefined || value === '') continue;
    fields.append(el('dt', {}, label), el('dd', { 'data-field': key }, String(value)));
  }
  const raw = meta?.raw ?? (meta?.comfyPrompt ? JSON.stringify(meta.comfyPrompt, null, 2) : '');
  byId('detail-raw').textContent = raw || 'No metadata was found in this file.';
  const rawBox = /** @type {HTMLDetailsElement} */ (byId('detail-raw-box'));
  // When parsing failed or found nothing, what was found is the most useful thing to show.
  rawBox.open = Boolean(file.metaError) || !file.prompt;
  /** @type {HTMLButtonElement} */ (byId('copy-prompt')).disabled = !file.prompt;
  /** @type {HTMLButtonElement} */ (byId('copy-infotext')).disabled = !meta?.raw;
  /** @type {HTMLAnchorElement} */ (byId('detail-open')).href = content;
  showStar(Boolean(file.starredAt));
  const dialog = /** @type {HTMLDialogElement} */ (byId('detail'));
  if (!dialog.open) dialog.showModal();
}

/** @param {boolean} starred */
function showStar(starred) {
  const button = byId('star');
  button.setAttribute('aria-pressed', String(starred));
  button.textContent = starred ? '★ Starred' : '☆ Star';
}

async function toggleStar() {
  if (!current) return;
  const starred = byId('star').getAttribute('aria-pressed') !== 'true';
  const response = await api(`v1/files/${current.id}/star`, { method: starred ? 'PUT' : 'DELETE' });
  if (response.ok) {
    current.starredAt = starred ? new Date().toISOString() : null;
    showStar(starred);
  }
}

/** @param {string} text @param {HTMLElement} button */
async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.dataset.copied = 'true';
  } catch {
    // Clipboard access needs a secure context; select the text for a manual copy instead.
    const box = /** @type {HTMLDetailsElement} */ (byId('detail-raw-box'));
    box.open = true;
    getSelection()?.selectAllChildren(byId('detail-raw'));
  }
}

function start() {
  byId('host').textContent = location.host;
  onTokenGiven(
    (given) => {
      token = given;
      void signIn();
    },
    () => token,
  );
  byId('search').addEventListener('submit', (event) => {
    event.preventDefault();
    void search();
  });
  new IntersectionObserver(
    (entries) => {
      if (entries.some((entry) => entry.isIntersecting)) void loadPage();
    },
    { rootMargin: '600px' },
  ).observe(byId('more'));
  byId('detail-close').addEventListener('click', () =>
    /** @type {HTMLDialogElement} */ (byId('detail')).close(),
  );
  byId('detail').addEventListener('close', () => {
    // Stop a playing video and let its connection go.
    byId('detail-media').replaceChildren();
    current = null;
  });
  byId('star').addEventListener('click', () => void toggleStar());
  byId('search').addEventListener('change', (event) => {
    if (/** @type {HTMLInputElement} */ (event.target).name === 'starred') void search();
  });
  const copyPrompt = byId('copy-prompt');
  copyPrompt.addEventListener('click', () => current?.prompt && void copy(current.prompt, copyPrompt));
  const copyInfotext = byId('copy-infotext');
  copyInfotext.addEventListener(
    'click',
    () => current?.metadata?.raw && void copy(current.metadata.raw, copyInfotext),
  );
  void signIn();
}

start();
