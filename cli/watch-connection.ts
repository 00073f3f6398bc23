// The watcher's link to the controller's /v1/progress: bearer auth, reconnects with backoff, and failures worth stopping for.
import WebSocket from 'ws';
import { type Backoff, RECONNECT_BACKOFF, backoffDelay } from '../common/backoff.js';
import { AppError } from '../common/errors.js';
import { PROGRESS_ROUTE, type ProgressMessage } from '../common/progress.js';
import { pause } from '../lib/pause.js';

export interface ConnectionEvents {
  /** The socket is open; a `snapshot` comes next. */
  open(): void;
  /** One message, as received and as parsed. */
  message(raw: string, message: ProgressMessage): void;
  /** The connection failed or dropped; the next attempt starts in `retryInMs`. */
  down(reason: string, retryInMs: number): void;
}

export interface ConnectionOptions {
  /** The controller's base URL, http(s)://host:port. */
  url: string;
  token: string;
  /** Before the first successful connection, give up after this long; 0 retries forever. */
  connectTimeoutMs: number;
  signal: AbortSignal;
  events: ConnectionEvents;
  /** The reconnect waits; RECONNECT_BACKOFF unless a test wants them shorter or exact. */
  backoff?: Backoff;
  /** Spreads the waits (see backoffDelay); Math.random unless a test pins it. */
  random?: () => number;
}

/** The controller pings every 30 s; this long without a ping or message means the link is dead. */
const SILENCE_MS = 75_000;

/** The address of `route` under a controller's base URL (which may carry a path prefix). */
export function routeUrl(base: string, route: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${route}`;
  url.search = '';
  url.hash = '';
  return url;
}

/** The WebSocket address of the progress route under a controller's base URL. */
export function progressSocketUrl(base: string): string {
  const url = routeUrl(base, PROGRESS_ROUTE);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  return url.toString();
}

type Attempt = { opened: boolean; reason: string };

/**
 * Follows the progress socket until `signal` aborts, reconnecting after each drop with a doubling,
 * jittered delay (reset once a connection opens). Each new connection starts with a fresh `snapshot`.
 * Rejects, without retrying, when the controller refuses the token (401/403) or has no progress
 * route (404), and when the first connection has not succeeded within `connectTimeoutMs`.
 */
export async function followProgress(options: ConnectionOptions): Promise<void> {
  const backoff = options.backoff ?? RECONNECT_BACKOFF;
  const socketUrl = progressSocketUrl(options.url);
  const startedAt = Date.now();
  let everOpened = false;
  /** Retries since the last connection that opened. */
  let retries = 0;
  while (!options.signal.aborted) {
    const attempt = await connectOnce(socketUrl, options);
    if (options.signal.aborted) return;
    if (attempt.opened) {
      everOpened = true;
      retries = 0;
    }
    let wait = backoffDelay(retries, options.random, backoff);
    if (!everOpened && options.connectTimeoutMs > 0) {
      const left = options.connectTimeoutMs - (Date.now() - startedAt);
      if (left <= 0) {
        throw new AppError(
          'E_CONFIG',
          `cannot reach the controller at ${options.url} (${attempt.reason}) after ${Math.round(options.connectTimeoutMs / 1000)}s; ` +
            'is `forge-sync controller` running there? (--url, FORGE_SYNC_URL)',
        );
      }
      wait = Math.min(wait, left);
    }
    options.events.down(attempt.reason, wait);
    await pause(wait, options.signal);
    retries++;
  }
}

function connectOnce(socketUrl: string, options: ConnectionOptions): Promise<Attempt> {
  return new Promise<Attempt>((resolve, reject) => {
    const ws = new WebSocket(socketUrl, {
      headers: { authorization: `Bearer ${options.token}` },
      handshakeTimeout: 5000,
    });
    let opened = false;
    let reason: string | undefined;
    let fatal: AppError | undefined;
    let silence: NodeJS.Timeout | undefined;
    const alive = (): void => {
      clearTimeout(silence);
      silence = setTimeout(() => {
        reason ??= 'no message or ping for 75s';
        ws.terminate();
      }, SILENCE_MS);
    };
    const onAbort = (): void => ws.terminate();
    options.signal.addEventListener('abort', onAbort, { once: true });

    ws.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      if (status === 401 || status === 403) {
        fatal = new AppError(
          'E_AUTH',
          `the controller rejected the token (${status}); give watch the controller's token in FORGE_SYNC_TOKEN or --token-file`,
        );
      } else if (status === 404) {
        fatal = new AppError(
          'E_PROTOCOL_MISMATCH',
          `${options.url} has no ${PROGRESS_ROUTE} (404); is --url a forge-sync controller, and a recent one?`,
        );
      } else {
        reason = `HTTP ${status}`;
      }
      ws.terminate();
    });
    ws.on('open', () => {
      opened = true;
      alive();
      options.events.open();
    });
    ws.on('ping', alive);
    ws.on('message', (data, isBinary) => {
      alive();
      if (isBinary) return;
      const raw = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
      const message = parseMessage(raw);
      if (message) options.events.message(raw, message);
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      reason ??= describe(err);
    });
    ws.on('close', (code) => {
      clearTimeout(silence);
      options.signal.removeEventListener('abort', onAbort);
      if (fatal) reject(fatal);
      else resolve({ opened, reason: reason ?? closeReason(code) });
    });
  });
}

function parseMessage(raw: string): ProgressMessage | undefined {
  try {
    const value = JSON.parse(raw) as unknown;
    if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') {
      return value as ProgressMessage;
    }
  } catch {
    // not JSON: ignored, like any message this client does not know
  }
  return undefined;
}

function closeReason(code: number): string {
  if (code === 1001) return 'the controller went away';
  if (code === 1006) return 'connection dropped';
  return `closed with code ${code}`;
}

function describe(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'connection reset';
  if (err.code === 'ENOTFOUND') return 'host not found';
  return err.message;
}
