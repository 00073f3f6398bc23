// HTTP pieces both servers share: the protocol header, bearer auth with its failure limit, and the one error-to-status map.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { AppError, type ErrorCode } from '../common/errors.js';
import { type ErrorBody, PROTOCOL_HEADER, PROTOCOL_VERSION } from '../common/protocol.js';
import type { AuthFailureLimiter } from './auth-limit.js';

const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  E_AUTH: 401,
  E_FORBIDDEN: 403,
  E_RATE_LIMITED: 429,
  E_NOT_FOUND: 404,
  E_BAD_REQUEST: 400,
  E_UNSAFE_PATH: 400,
  E_USAGE: 400,
  E_PROTOCOL_MISMATCH: 400,
};

export function protocolHeader(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.res.headers.set(PROTOCOL_HEADER, String(PROTOCOL_VERSION));
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares two secrets in time that does not depend on where they differ, or on their lengths. */
export function tokensMatch(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token a request carries as `Authorization: Bearer …` (or, where allowed, `?token=`). */
export function requestToken(c: Context, allowQuery = false): string | undefined {
  const header = c.req.header('authorization');
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  if (match) return match[1]!.trim();
  return allowQuery ? c.req.query('token') : undefined;
}

/** Refused because the caller's address failed to authenticate too often: answered 429 with Retry-After. */
export class RateLimitedError extends AppError {
  constructor(readonly retryAfterS: number) {
    super(
      'E_RATE_LIMITED',
      `too many failed authentications from this address; try again in ${retryAfterS} s`,
    );
  }
}

/** The address of the peer a request came from, on the Node server; "unknown" elsewhere. */
export function remoteAddress(c: Context): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

/** Throws RateLimitedError while `address` may not try to authenticate. */
export function checkAuthLimit(limiter: AuthFailureLimiter | undefined, address: string): void {
  const waitMs = limiter?.retryAfterMs(address) ?? 0;
  if (waitMs > 0) throw new RateLimitedError(Math.ceil(waitMs / 1000));
}

/**
 * Which of `tokens` the request's bearer token is (its index). A missing or unknown token is a 401
 * that counts against the caller's address; while the address is over its limit, every request
 * is a 429 before any token is compared.
 */
export function matchBearer(
  c: Context,
  tokens: readonly string[],
  options: { allowQuery?: boolean; limiter?: AuthFailureLimiter } = {},
): number {
  const address = remoteAddress(c);
  checkAuthLimit(options.limiter, address);
  const given = requestToken(c, options.allowQuery);
  // Every token is compared, so the time taken does not say which one came close.
  let matched = -1;
  tokens.forEach((token, i) => {
    if (given !== undefined && tokensMatch(given, token) && matched < 0) matched = i;
  });
  if (matched < 0) {
    options.limiter?.fail(address);
    throw new AppError('E_AUTH', given === undefined ? 'missing bearer token' : 'wrong bearer token');
  }
  return matched;
}

/**
 * Rejects requests without one of the right bearer tokens. A null token means auth is off
 * (--insecure). With a limiter, failures are rate-limited per remote address.
 */
export function bearerAuth(
  token: string | null | readonly string[],
  options: { allowQuery?: boolean; limiter?: AuthFailureLimiter } = {},
): MiddlewareHandler {
  return async (c, next) => {
    if (token !== null) matchBearer(c, typeof token === 'string' ? [token] : token, options);
    await next();
  };
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** hono's onError: AppErrors keep their code; anything else is a 500 that gets logged once, here. */
export function errorHandler(logger: Logger): (err: Error, c: Context) => Response {
  return (err, c) => {
    if (err instanceof AppError) {
      const headers =
        err instanceof RateLimitedError ? { 'retry-after': String(err.retryAfterS) } : undefined;
      return c.json(errorBody(err.code, err.message), STATUS[err.code] ?? 500, headers);
    }
    if (err instanceof HTTPException) {
      const code: ErrorCode =
        err.status === 401 ? 'E_AUTH' : err.status === 404 ? 'E_NOT_FOUND' : 'E_BAD_REQUEST';
      return c.json(errorBody(code, err.message), err.status as ContentfulStatusCode);
    }
    logger.error({ err, path: c.req.path }, 'request failed');
    return c.json(errorBody('E_INTERNAL', 'internal error; see the server log'), 500);
  };
}
