// /v1/progress over WebSocket (ws): bearer auth on upgrade, and clients that read slowly get the latest, not a backlog.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { Clock } from '../../common/clock.js';
import { PROGRESS_ROUTE, type ProgressMessage, isCoalescable } from '../../common/progress.js';
import type { AuthFailureLimiter } from '../../lib/auth-limit.js';
import { tokensMatch } from '../../lib/http.js';
import { type SessionStore, sessionIdFromCookieHeader } from '../http/session.js';
import type { ProgressHub, ProgressListener } from './progress-hub.js';

export interface SocketLimits {
  /** Bytes queued in the socket above which a client counts as slow. */
  highWaterBytes: number;
  /** Must-deliver messages held for a slow client before it is dropped. */
  maxBacklog: number;
  /** A client slow for this long is dropped. */
  stuckMs: number;
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = {
  highWaterBytes: 1 << 20,
  maxBacklog: 2000,
  stuckMs: 30_000,
};

const FLUSH_EVERY_MS = 100;
/** Bytes of messages held for one write, at most; well below any client's high-water mark. */
const CORK_BYTES = 16 * 1024;

/**
 * A message's JSON, made once however many clients it goes to: the hub hands every listener the
 * same object (50 clients of a 160k-file pass would otherwise serialise 8 million times).
 */
const serialized = new WeakMap<ProgressMessage, string>();
function toJson(message: ProgressMessage): string {
  let text = serialized.get(message);
  if (text === undefined) {
    text = JSON.stringify(message);
    serialized.set(message, text);
  }
  return text;
}

/**
 * One connected client. While its socket drains, messages go straight out. Once it falls behind,
 * progress messages are coalesced (one per agent and type, the newest) and others wait in a bounded
 * backlog; it is dropped when the backlog overflows or it stays behind for `stuckMs`. Memory per
 * client is therefore bounded, and a slow client never holds the sync up.
 */
export class SocketListener implements ProgressListener {
  private readonly latest = new Map<string, ProgressMessage>();
  private readonly backlog: ProgressMessage[] = [];
  private behindSince: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private corked = false;

  /**
   * `socket` is the connection under `ws`: messages sent in one turn of the event loop leave in one
   * write, not one syscall each (a pass of small files sends a `file.stored` per file).
   */
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly limits: SocketLimits,
    private readonly clock: Clock,
    private readonly onDrop: (reason: string) => void,
  ) {}

  send(message: ProgressMessage): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.behindSince === null && this.ws.bufferedAmount < this.limits.highWaterBytes) {
      this.sendNow(message);
      return;
    }
    this.behindSince ??= this.clock.now();
    if (isCoalescable(message)) {
      this.latest.set(`${'agent' in message ? message.agent : ''}:${message.type}`, message);
    } else {
      this.backlog.push(message);
      if (this.backlog.length > this.limits.maxBacklog) return this.drop('too far behind');
    }
    this.timer ??= setInterval(() => this.flush(), FLUSH_EVERY_MS);
  }

  private flush(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return this.stop();
    while (this.ws.bufferedAmount < this.limits.highWaterBytes) {
      const next = this.backlog.shift() ?? this.takeLatest();
      if (!next) {
        this.behindSince = null;
        return this.stop();
      }
      this.sendNow(next);
    }
    if (this.clock.now() - this.behindSince! > this.limits.stuckMs) this.drop('stuck');
  }

  private sendNow(message: ProgressMessage): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => this.uncork());
    }
    this.ws.send(toJson(message));
    // Held bytes count as buffered: past a few KiB they go, so the client never looks slow for them.
    if (this.socket.writableLength >= Math.min(CORK_BYTES, this.limits.highWaterBytes / 4)) this.uncork();
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private takeLatest(): ProgressMessage | undefined {
    const [key, message] = this.latest.entries().next().value ?? [];
    if (key !== undefined) this.latest.delete(key);
    return message;
  }

  private drop(reason: string): void {
    this.stop();
    this.backlog.length = 0;
    this.latest.clear();
    this.onDrop(reason);
    this.ws.terminate();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/**
 * Accepts WebSocket upgrades on PROGRESS_ROUTE, authenticated by a bearer header (watch) or by a
 * browser session cookie from this origin. A token in the URL is refused: it would land in proxy logs.
 */
export function attachProgressSocket(
  server: Server,
  deps: {
    hub: ProgressHub;
    /** Tokens that may watch: the read token and the control token. */
    tokens: readonly string[];
    /** Failed authentications per address, shared with the HTTP API. */
    limiter?: AuthFailureLimiter;
    clock: Clock;
    logger: Logger;
    limits?: SocketLimits;
    sessions?: SessionStore;
  },
): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const limits = deps.limits ?? DEFAULT_SOCKET_LIMITS;
  const refuse = (socket: Duplex, status: string, extra = ''): void => {
    socket.end(`HTTP/1.1 ${status}\r\n${extra}Connection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // The HTTP server no longer watches this socket: a reset while we answer must not crash the process.
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== PROGRESS_ROUTE) return refuse(socket, '404 Not Found');
    const address = request.socket.remoteAddress ?? 'unknown';
    const waitMs = deps.limiter?.retryAfterMs(address) ?? 0;
    if (waitMs > 0) {
      return refuse(socket, '429 Too Many Requests', `Retry-After: ${Math.ceil(waitMs / 1000)}\r\n`);
    }
    const header = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
    let ok: boolean;
    if (header !== undefined) {
      ok = deps.tokens.map((token) => tokensMatch(header, token)).includes(true);
    } else {
      const session = deps.sessions?.get(sessionIdFromCookieHeader(request.headers.cookie));
      // SameSite=Strict keeps other sites' pages from sending the cookie; the Origin check is a second lock.
      const origin = request.headers.origin;
      const sameOrigin = origin === undefined || hostOf(origin) === request.headers.host;
      ok = session !== undefined && sameOrigin;
    }
    if (!ok) {
      deps.limiter?.fail(address);
      return refuse(socket, '401 Unauthorized');
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const listener = new SocketListener(ws, socket, limits, deps.clock, (reason) =>
        deps.logger.warn({ reason }, 'progress client dropped'),
      );
      const unsubscribe = deps.hub.subscribe(listener);
      const alive = setInterval(() => ws.ping(), 30_000);
      ws.on('close', () => {
        clearInterval(alive);
        listener.stop();
        unsubscribe();
      });
      ws.on('error', () => ws.terminate());
    });
  });
  return {
    close: () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
