// Browser sessions: the page trades its token (POST /v1/session) for an HttpOnly cookie, so no token rides in a URL.
import { randomBytes } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Clock } from '../../common/clock.js';
import { AppError } from '../../common/errors.js';
import type { AuthFailureLimiter } from '../../lib/auth-limit.js';
import { checkAuthLimit, matchBearer, remoteAddress, requestToken, tokensMatch } from '../../lib/http.js';

/**
 * What a caller of the controller's API may do: `read` (status, progress, search, gallery, stars,
 * metrics) or also `control` (POST /v1/sync: routes that set work going).
 */
export type Access = 'read' | 'control';

/** The two credentials of the controller's API. Equal when no purge token is configured. */
export interface ApiTokens {
  /** FORGE_SYNC_TOKEN: reads. */
  read: string;
  /** FORGE_SYNC_PURGE_TOKEN when set, else the read token: reads and control. */
  control: string;
}

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by requestAuth on every authenticated request. */
    access: Access;
  }
}

export const SESSION_COOKIE = 'forge_sync_session';
/** The header a cookie-authenticated request that changes state must carry, with the session's csrf value. */
export const CSRF_HEADER = 'x-forge-sync-csrf';
const SESSION_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Session {
  csrf: string;
  expiresAt: number;
  /** What the token that opened it allowed: a session never grants more. */
  access: Access;
}

/**
 * The sessions one controller process has handed out, in memory: a restart logs every browser out
 * and the page signs in again from its sessionStorage token. Used from the event loop only.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly clock: Clock) {}

  create(access: Access = 'read'): { id: string; csrf: string; expiresAt: number } {
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const expiresAt = this.clock.now() + SESSION_TTL_MS;
    this.sessions.set(id, { csrf, expiresAt, access });
    return { id, csrf, expiresAt };
  }

  /** The live session with this id, if any. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (session && session.expiresAt <= this.clock.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}

/** The session id in a raw Cookie header (for the WebSocket upgrade, which is not a hono request). */
export function sessionIdFromCookieHeader(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

/** Which access a bearer token gives; throws E_AUTH (counted against the address) for any other. */
export function tokenAccess(c: Context, tokens: ApiTokens, limiter?: AuthFailureLimiter): Access {
  return matchBearer(c, [tokens.control, tokens.read], { limiter }) === 0 ? 'control' : 'read';
}

/**
 * Lets a request in with `Authorization: Bearer <token>`, or with a live session cookie, and
 * records what it may do (`c.get('access')`). A cookie-authenticated request that changes state
 * must also carry the session's csrf value in CSRF_HEADER: a page on another site can make the
 * browser send the cookie (SameSite aside), but cannot read the value to put in a header. A null
 * token means auth is off (--insecure). Failures count against the caller's address.
 */
export function requestAuth(
  tokens: ApiTokens | null,
  sessions: SessionStore,
  limiter?: AuthFailureLimiter,
): MiddlewareHandler {
  return async (c, next) => {
    if (tokens === null) {
      c.set('access', 'control');
    } else if (requestToken(c) !== undefined) {
      c.set('access', tokenAccess(c, tokens, limiter));
    } else {
      const address = remoteAddress(c);
      checkAuthLimit(limiter, address);
      const session = sessions.get(getCookie(c, SESSION_COOKIE));
      if (!session) {
        limiter?.fail(address);
        throw new AppError('E_AUTH', 'missing bearer token or session cookie');
      }
      if (!SAFE_METHODS.has(c.req.method)) {
        const csrf = c.req.header(CSRF_HEADER);
        if (csrf === undefined || !tokensMatch(csrf, session.csrf)) {
          throw new AppError(
            'E_AUTH',
            `a session request that changes state needs the ${CSRF_HEADER} header`,
          );
        }
      }
      c.set('access', session.access);
    }
    await next();
  };
}

/** Refuses (403) a request whose credential only reads. */
export function requireControl(what: string): MiddlewareHandler {
  return async (c, next) => {
    if (c.get('access') !== 'control') {
      throw new AppError(
        'E_FORBIDDEN',
        `${what} needs the purge token (FORGE_SYNC_PURGE_TOKEN); this credential only reads`,
      );
    }
    await next();
  };
}

/**
 * POST /v1/session (bearer only: a session cannot mint more) sets the cookie, with the access of
 * the token that asked; DELETE ends it.
 */
export function sessionHandlers(
  sessions: SessionStore,
  tokens: ApiTokens | null,
  limiter?: AuthFailureLimiter,
): {
  create: (c: Context) => Response;
  remove: (c: Context) => Response;
} {
  return {
    create: (c) => {
      const access = tokens === null ? 'control' : tokenAccess(c, tokens, limiter);
      const { id, csrf, expiresAt } = sessions.create(access);
      const secure = new URL(c.req.url).protocol === 'https:' ? '; Secure' : '';
      c.header(
        'set-cookie',
        `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}${secure}`,
      );
      c.header('cache-control', 'no-store');
      return c.json({ csrf, expiresAt: new Date(expiresAt).toISOString(), access }, 201);
    },
    remove: (c) => {
      sessions.delete(getCookie(c, SESSION_COOKIE));
      c.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return c.body(null, 204);
    },
  };
}
