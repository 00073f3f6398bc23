// Talking to one agent over HTTP: info, the NDJSON manifest and archive streams, acknowledgements and purges.
import type { IncomingMessage } from 'node:http';
import { AppError } from '../../common/errors.js';
import { ChunkReader } from '../../lib/chunk-reader.js';
import { HttpConnectError, httpRequest } from '../../lib/http-client.js';
import {
  type AckResponse,
  ARCHIVE_CONTENT_TYPE,
  type ArchiveRequestFile,
  type ChangesResponse,
  type ErrorBody,
  type InfoResponse,
  type ManifestLine,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  type PurgeRequest,
  type PurgeResponse,
  Routes,
} from '../../common/protocol.js';
import type { AgentRef } from './agent-source.js';
import { answerError, header, isPosition, notAnAgent } from './agent-answers.js';
import { manifestLines } from './manifest-lines.js';

import { AGENT_LIMITS, type AgentLimits } from '../config/agent-limits.js';

import type { AgentPosition } from '../catalog/catalog.js';

/**
 * The controller's view of one agent. One client belongs to one agent; calls may run concurrently
 * (several archive streams at once). Every failure is an AppError whose code says what to check.
 */
export interface AgentClient {
  info(signal?: AbortSignal): Promise<InfoResponse>;
  /**
   * The manifest's lines as they arrive; throws E_PROTOCOL if it ends without its `end` line. With
   * `since`, the agent may answer with only what changed after that position (its header says).
   */
  manifest(signal?: AbortSignal, since?: AgentPosition): AsyncIterable<ManifestLine>;
  /**
   * Where the agent's index is now. With `after`, the agent holds the answer up to `waitMs` until
   * its index moves past that position: the push channel for new files.
   */
  changes(after: AgentPosition | null, waitMs: number, signal?: AbortSignal): Promise<ChangesResponse>;
  /** The tar stream for these files, chunk by chunk. */
  archive(files: readonly ArchiveRequestFile[], signal?: AbortSignal): Promise<ChunkReader>;
  /**
   * Tells the agent these files of an archive are stored, verified and catalogued: they get
   * receipts, without which the agent deletes nothing.
   */
  ack(
    archiveId: string,
    files: readonly { path: string; xxh64: string }[],
    signal?: AbortSignal,
  ): Promise<AckResponse>;
  /** Asks the agent to delete these files; it checks each again and says what it did. Sent with the purge token. */
  purge(request: PurgeRequest, signal?: AbortSignal): Promise<PurgeResponse>;
}

const CONNECT_TIMEOUT_MS = 15_000;
/** Small JSON answers (info, errors, purge results) are read whole, up to this. */
const MAX_JSON_BYTES = 32 << 20;

export class HttpAgentClient implements AgentClient {
  constructor(
    private readonly agent: AgentRef,
    private readonly token: string | undefined,
    /** Sent on purge requests only, never on reads. */
    private readonly purgeToken?: string,
    private readonly limits: AgentLimits = AGENT_LIMITS,
  ) {}

  async info(signal?: AbortSignal): Promise<InfoResponse> {
    const response = await this.request(Routes.info, { signal, headersTimeoutMs: CONNECT_TIMEOUT_MS });
    const info = (await this.json(response, Routes.info)) as InfoResponse;
    if (info.protocol !== PROTOCOL_VERSION) {
      throw new AppError(
        'E_PROTOCOL_MISMATCH',
        `agent ${this.agent.name} speaks protocol ${info.protocol}; this controller speaks ${PROTOCOL_VERSION}: run the same forge-sync version on both`,
      );
    }
    return info;
  }

  async *manifest(signal?: AbortSignal, since?: AgentPosition): AsyncIterable<ManifestLine> {
    const query = since
      ? `?${new URLSearchParams({ since: String(since.generation), epoch: since.epoch })}`
      : '';
    const { manifestMs, manifestBytes, manifestFiles } = this.limits;
    const response = await this.request(`${Routes.manifest}${query}`, { signal });
    const reader = this.bodyReader(response, manifestMs);
    yield* manifestLines(reader, this.agent.name, { manifestBytes, manifestFiles }, (r) => this.readChunk(r));
  }

  /** The next body chunk; a dropped connection becomes E_AGENT_UNREACHABLE, a silent one too. */
  private async readChunk(reader: ChunkReader): Promise<Buffer | null> {
    try {
      return await reader.next();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError(
        'E_AGENT_UNREACHABLE',
        `the connection to agent ${this.agent.name} broke (${(err as Error).message}); the sync is retried next pass`,
        { cause: err },
      );
    }
  }

  async archive(files: readonly ArchiveRequestFile[], signal?: AbortSignal): Promise<ChunkReader> {
    const response = await this.request(Routes.archive, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files }),
      signal,
    });
    const type = response.headers['content-type'] ?? '';
    if (!type.startsWith(ARCHIVE_CONTENT_TYPE)) {
      response.destroy();
      throw new AppError(
        'E_PROTOCOL',
        `agent ${this.agent.name} answered an archive request with "${type}", not a tar stream`,
      );
    }
    const bytes = files.reduce((sum, file) => sum + file.size, 0);
    return this.bodyReader(
      response,
      this.limits.archiveBaseMs + (bytes / this.limits.minBytesPerSecond) * 1000,
    );
  }

  /**
   * The body, read chunk by chunk, failing when the agent stalls (it died without closing, or
   * trickles) or the answer takes longer than `deadlineMs` in all.
   */
  private bodyReader(response: IncomingMessage, deadlineMs: number): ChunkReader {
    const { stallMs, stallBytes } = this.limits;
    const seconds = (ms: number): number => Math.round(ms / 100) / 10;
    return new ChunkReader(response, {
      stall: {
        ms: stallMs,
        minBytes: stallBytes,
        error: () =>
          new AppError(
            'E_AGENT_STALLED',
            `agent ${this.agent.name} sent less than ${stallBytes} bytes in ${seconds(stallMs)} s; the connection is given up and the sync retried next pass`,
          ),
      },
      deadline: {
        atMs: Date.now() + deadlineMs,
        error: () =>
          new AppError(
            'E_AGENT_DEADLINE',
            `agent ${this.agent.name} did not finish its answer within ${seconds(deadlineMs)} s; the connection is given up and the sync retried next pass`,
          ),
      },
    });
  }

  async changes(after: AgentPosition | null, waitMs: number, signal?: AbortSignal): Promise<ChangesResponse> {
    const query = after
      ? `?${new URLSearchParams({ epoch: after.epoch, after: String(after.generation), wait: String(waitMs) })}`
      : '';
    const response = await this.request(`${Routes.changes}${query}`, {
      signal,
      headersTimeoutMs: waitMs + CONNECT_TIMEOUT_MS,
    });
    const body = (await this.json(response, Routes.changes)) as Partial<ChangesResponse>;
    if (!isPosition(body)) {
      throw new AppError(
        'E_PROTOCOL',
        `agent ${this.agent.name} answered ${Routes.changes} without a position`,
      );
    }
    return body as ChangesResponse;
  }

  async ack(
    archiveId: string,
    files: readonly { path: string; xxh64: string }[],
    signal?: AbortSignal,
  ): Promise<AckResponse> {
    const response = await this.request(Routes.ack, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ archiveId, files }),
      signal,
      headersTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    const body = (await this.json(response, Routes.ack)) as AckResponse;
    if (typeof body.acknowledged !== 'number' || !Array.isArray(body.refused)) {
      throw new AppError('E_PROTOCOL', `agent ${this.agent.name} answered an acknowledgement without counts`);
    }
    return body;
  }

  async purge(request: PurgeRequest, signal?: AbortSignal): Promise<PurgeResponse> {
    const response = await this.request(Routes.purge, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal,
      purge: true,
    });
    const body = (await this.json(response, Routes.purge)) as PurgeResponse;
    if (!Array.isArray(body.results)) {
      throw new AppError('E_PROTOCOL', `agent ${this.agent.name} answered a purge request without results`);
    }
    return body;
  }

  private async request(
    route: string,
    init: {
      method?: 'GET' | 'POST';
      headers?: Record<string, string>;
      body?: string;
      signal?: AbortSignal;
      headersTimeoutMs?: number;
      /** Authenticate with the purge token instead of the read token. */
      purge?: boolean;
    },
  ): Promise<IncomingMessage> {
    const headers: Record<string, string> = { 'accept-encoding': 'identity', ...init.headers };
    const token = init.purge ? this.purgeToken : this.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let response: IncomingMessage;
    try {
      response = await httpRequest({ url: `${this.agent.url}${route}`, ...init, headers });
    } catch (err) {
      if (!(err instanceof HttpConnectError)) throw err; // aborted by the caller
      throw new AppError(
        'E_AGENT_UNREACHABLE',
        `agent ${this.agent.name} at ${this.agent.url} is unreachable (${err.code === 'ETIMEDOUT' ? err.message : err.code}); is it running?`,
        { cause: err },
      );
    }
    const protocol = header(response, PROTOCOL_HEADER);
    if (protocol !== undefined && protocol !== String(PROTOCOL_VERSION)) {
      response.destroy();
      throw new AppError(
        'E_PROTOCOL_MISMATCH',
        `agent ${this.agent.name} speaks protocol ${protocol}; this controller speaks ${PROTOCOL_VERSION}: run the same forge-sync version on both`,
      );
    }
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      // Every agent response carries the header: a 200 without it is some other server (the WebUI's port?).
      if (protocol === undefined) {
        response.destroy();
        throw notAnAgent(this.agent, status);
      }
      const encoding = header(response, 'content-encoding');
      if (encoding !== undefined && encoding !== 'identity') {
        response.destroy();
        throw new AppError(
          'E_PROTOCOL',
          `agent ${this.agent.name} answered ${route} with content-encoding "${encoding}", which the protocol does not use`,
        );
      }
      return response;
    }
    const body = (await this.readWhole(response, 1 << 20)
      .then((bytes) => JSON.parse(bytes.toString('utf8')) as unknown)
      .catch(() => null)) as ErrorBody | null;
    const detail = body?.error?.message ?? response.statusMessage ?? String(status);
    throw answerError(this.agent, route, status, detail, {
      purge: Boolean(init.purge),
      agentProtocol: protocol !== undefined,
      retryAfter: header(response, 'retry-after'),
    });
  }

  /** A small JSON answer, read whole within MAX_JSON_BYTES. */
  private async json(response: IncomingMessage, route: string): Promise<unknown> {
    let bytes: Buffer;
    try {
      bytes = await this.readWhole(response, MAX_JSON_BYTES);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError(
        'E_PROTOCOL',
        `agent ${this.agent.name} sent a bad answer to ${route} (${(err as Error).message})`,
        { cause: err },
      );
    }
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      throw new AppError(
        'E_PROTOCOL',
        `agent ${this.agent.name} answered ${route} with something that is not JSON`,
      );
    }
  }

  /**
   * A small body, read whole within `limit` bytes and the same stall and deadline rules as a
   * stream (the base deadline of an archive): headers in time are not enough.
   */
  private async readWhole(response: IncomingMessage, limit: number): Promise<Buffer> {
    const reader = this.bodyReader(response, this.limits.archiveBaseMs);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for (let chunk = await this.readChunk(reader); chunk; chunk = await this.readChunk(reader)) {
        size += chunk.length;
        if (size > limit) throw new Error(`the answer is larger than ${limit} bytes`);
        chunks.push(chunk);
      }
    } finally {
      reader.destroy();
    }
    return Buffer.concat(chunks, size);
  }
}
