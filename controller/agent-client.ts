// Talking to one agent over HTTP: info, the NDJSON manifest and archive streams.
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { AppError } from '../common/errors.js';
import { watchIdle } from '../lib/idle-watch.js';
import {
  ARCHIVE_CONTENT_TYPE,
  type ArchiveRequestFile,
  type ErrorBody,
  type InfoResponse,
  type ManifestLine,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  type PurgeRequest,
  type PurgeResponse,
  Routes,
} from '../common/protocol.js';
import type { AgentRef } from './agent-source.js';

/**
 * The controller's view of one agent. One client belongs to one agent; calls may run concurrently
 * (several archive streams at once). Every failure is an AppError whose code says what to check.
 */
export interface AgentClient {
  info(signal?: AbortSignal): Promise<InfoResponse>;
  /** The manifest's lines as they arrive; throws E_PROTOCOL if it ends without its `end` line. */
  manifest(signal?: AbortSignal): AsyncIterable<ManifestLine>;
  /** The tar stream for these files. */
  archive(files: readonly ArchiveRequestFile[], signal?: AbortSignal): Promise<Readable>;
  /** Asks the agent to delete these files; it checks each again and says what it did. */
  purge(request: PurgeRequest, signal?: AbortSignal): Promise<PurgeResponse>;
}

const CONNECT_TIMEOUT_MS = 15_000;
/** A manifest sends scan progress every half second and an archive streams files: 60 s of silence means a dead peer. */
const IDLE_TIMEOUT_MS = 60_000;

export class HttpAgentClient implements AgentClient {
  constructor(
    private readonly agent: AgentRef,
    private readonly token: string | undefined,
  ) {}

  async info(signal?: AbortSignal): Promise<InfoResponse> {
    const response = await this.request(Routes.info, { signal: withTimeout(signal) });
    const info = (await response.json()) as InfoResponse;
    if (info.protocol !== PROTOCOL_VERSION) {
      throw new AppError(
        'E_PROTOCOL_MISMATCH',
        `agent ${this.agent.name} speaks protocol ${info.protocol}; this controller speaks ${PROTOCOL_VERSION}: run the same forge-sync version on both`,
      );
    }
    return info;
  }

  async *manifest(signal?: AbortSignal): AsyncIterable<ManifestLine> {
    const response = await this.request(Routes.manifest, { signal });
    let ended = false;
    let buffered = '';
    const decoder = new TextDecoder();
    const parse = (text: string): ManifestLine => {
      try {
        return JSON.parse(text) as ManifestLine;
      } catch {
        throw new AppError('E_PROTOCOL', `agent ${this.agent.name} sent a manifest line that is not JSON`);
      }
    };
    for await (const chunk of this.watched(response.body) as AsyncIterable<Buffer>) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!text) continue;
        const line = parse(text);
        if (line.type === 'end') ended = true;
        yield line;
      }
    }
    if (!ended) {
      throw new AppError(
        'E_PROTOCOL',
        `the manifest from agent ${this.agent.name} was cut short; the sync of this agent is retried next pass`,
      );
    }
  }

  async archive(files: readonly ArchiveRequestFile[], signal?: AbortSignal): Promise<Readable> {
    const response = await this.request(Routes.archive, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files }),
      signal,
    });
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith(ARCHIVE_CONTENT_TYPE) || !response.body) {
      throw new AppError(
        'E_PROTOCOL',
        `agent ${this.agent.name} answered an archive request with "${type}", not a tar stream`,
      );
    }
    return this.watched(response.body);
  }

  /** The body as a Node stream that fails when the agent stops sending (it died without closing). */
  private watched(body: ReadableStream<Uint8Array> | null): Readable {
    const stream = Readable.fromWeb(body as unknown as NodeReadableStream<Uint8Array>);
    return watchIdle(
      stream,
      IDLE_TIMEOUT_MS,
      () =>
        new AppError(
          'E_AGENT_UNREACHABLE',
          `agent ${this.agent.name} sent nothing for ${IDLE_TIMEOUT_MS / 1000} s; the connection is given up and the sync retried next pass`,
        ),
    );
  }

  async purge(request: PurgeRequest, signal?: AbortSignal): Promise<PurgeResponse> {
    const response = await this.request(Routes.purge, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal,
    });
    const body = (await response.json()) as PurgeResponse;
    if (!Array.isArray(body.results)) {
      throw new AppError('E_PROTOCOL', `agent ${this.agent.name} answered a purge request without results`);
    }
    return body;
  }

  private async request(route: string, init: RequestInit): Promise<Response> {
    const url = `${this.agent.url}${route}`;
    const headers = new Headers(init.headers);
    if (this.token) headers.set('authorization', `Bearer ${this.token}`);
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers });
    } catch (err) {
      if (
        (err as Error).name === 'AbortError' &&
        init.signal?.aborted &&
        !(init.signal.reason instanceof TimeoutError)
      )
        throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new AppError(
        'E_AGENT_UNREACHABLE',
        `agent ${this.agent.name} at ${this.agent.url} is unreachable (${why}); is it running?`,
        { cause: err },
      );
    }
    const protocol = response.headers.get(PROTOCOL_HEADER);
    if (protocol !== null && protocol !== String(PROTOCOL_VERSION)) {
      await response.body?.cancel();
      throw new AppError(
        'E_PROTOCOL_MISMATCH',
        `agent ${this.agent.name} speaks protocol ${protocol}; this controller speaks ${PROTOCOL_VERSION}: run the same forge-sync version on both`,
      );
    }
    if (response.ok) {
      if (protocol !== null) return response;
      // Every agent response carries the header: a 200 without it is some other server (the WebUI's port?).
      await response.body?.cancel();
      throw this.notAnAgent(response.status);
    }
    const body = (await response.json().catch(() => null)) as ErrorBody | null;
    const detail = body?.error?.message ?? response.statusText;
    if (response.status === 401) {
      throw new AppError(
        'E_AUTH',
        `agent ${this.agent.name} rejected the token (${detail}); check FORGE_SYNC_TOKEN or --token-file`,
      );
    }
    if (protocol === null) throw this.notAnAgent(response.status);
    throw new AppError(
      'E_AGENT_HTTP',
      `agent ${this.agent.name} answered ${response.status} to ${route}: ${detail}`,
    );
  }

  private notAnAgent(status: number): AppError {
    return new AppError(
      'E_PROTOCOL_MISMATCH',
      `${this.agent.url} answered ${status} without a forge-sync protocol header; is it a forge-sync agent?`,
    );
  }
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

function withTimeout(signal: AbortSignal | undefined): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new TimeoutError(`no answer within ${CONNECT_TIMEOUT_MS} ms`)),
    CONNECT_TIMEOUT_MS,
  );
  timer.unref();
  signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller.signal;
}
