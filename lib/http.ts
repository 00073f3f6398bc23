// HTTP pieces both servers share: the protocol header, bearer auth, and the one error-to-status map.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { AppError, type ErrorCode } from '../common/errors.js';
import { type ErrorBody, PROTOCOL_HEADER, PROTOCOL_VERSION } from '../common/protocol.js';

const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  E_AUTH: 401,
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

/** Rejects requests without the right bearer token. A null token means auth is off (--insecure). */
export function bearerAuth(token: string | null, options: { allowQuery?: boolean } = {}): MiddlewareHandler {
  return async (c, next) => {
    if (token !== null) {
      const given = requestToken(c, options.allowQuery);
      if (given === undefined || !tokensMatch(given, token)) {
        throw new AppError('E_AUTH', given === undefined ? 'missing bearer token' : 'wrong bearer token');
      }
    }
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
      return c.json(errorBody(err.code, err.message), STATUS[err.code] ?? 500);
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
