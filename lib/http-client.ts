// A small HTTP/1.1 client on node:http: Node streams end to end, keep-alive, and one safe retry.
import http, { type IncomingMessage } from 'node:http';

/**
 * Idle keep-alive sockets are dropped by the client after this long, well inside the servers'
 * keep-alive window (lib/serve.ts), so a request is never written onto a socket the server is
 * closing. Should that race happen anyway, the request is retried once on a fresh connection.
 */
export const CLIENT_IDLE_SOCKET_MS = 4_000;

/** One pool for the process: sockets to each agent are reused across batches and passes. */
const pool = new http.Agent({ keepAlive: true, timeout: CLIENT_IDLE_SOCKET_MS, maxSockets: 64 });

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
  /** The answer's headers must arrive within this; none by default. */
  headersTimeoutMs?: number;
}

/** Raised for a failure before any answer arrived: refused, reset, timed out, aborted. */
export class HttpConnectError extends Error {
  override readonly name = 'HttpConnectError';
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Sends one request and resolves with the response once its headers are in; the body is a plain
 * Node stream, read by the caller. A request that fails on a reused keep-alive socket before any
 * answer (the server closed it as we wrote) is sent again once on a new connection: no byte of it
 * was processed, so that is safe for every method.
 */
export async function httpRequest(request: HttpRequest): Promise<IncomingMessage> {
  try {
    return await sendOnce(request, false);
  } catch (err) {
    if (err instanceof StaleSocketError) return sendOnce(request, true);
    throw err;
  }
}

class StaleSocketError extends Error {}

function sendOnce(request: HttpRequest, fresh: boolean): Promise<IncomingMessage> {
  const { signal } = request;
  return new Promise<IncomingMessage>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
    const req = http.request(request.url, {
      method: request.method ?? 'GET',
      headers,
      agent: fresh ? new http.Agent({ keepAlive: false }) : pool,
    });
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      req.destroy(abortError(signal!));
    };
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (request.headersTimeoutMs !== undefined) {
      timer = setTimeout(() => {
        req.destroy(new HttpConnectError(`no answer within ${request.headersTimeoutMs} ms`, 'ETIMEDOUT'));
      }, request.headersTimeoutMs);
      timer.unref();
    }
    req.once('response', (response) => {
      answered = true;
      clearTimeout(timer);
      // An abort after the headers still ends the body stream: the caller sees it as a stream error.
      response.once('close', done);
      resolve(response);
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      done();
      if (answered) return; // the response stream reports it
      if (err.name === 'AbortError' || err instanceof HttpConnectError) {
        reject(err);
        return;
      }
      if (req.reusedSocket && !fresh && isResetCode(err.code)) {
        reject(new StaleSocketError(err.message));
        return;
      }
      reject(new HttpConnectError(err.message, err.code ?? 'ECONNRESET', { cause: err }));
    });
    req.end(request.body);
  });
}

function isResetCode(code: string | undefined): boolean {
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED';
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  const error = new Error('the request was aborted');
  error.name = 'AbortError';
  return error;
}

/** Reads a whole (small) body, failing past `limit` bytes: an answer that should be small is kept small. */
export async function readBody(response: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      response.destroy();
      throw new Error(`the answer is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
