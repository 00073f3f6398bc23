// A protocol-1 agent on 127.0.0.1 for tests that script its answers; the tars it sends are in test/fixtures/tars.ts.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ARCHIVE_CONTENT_TYPE,
  type ArchiveRequestFile,
  Capabilities,
  type InfoResponse,
  MANIFEST_CONTENT_TYPE,
  type ManifestLine,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  Routes,
} from '../../common/protocol.js';
import type { FileSpec } from '../fixtures/tars.js';

/** Answers one request; a promise that fails destroys the answer. */
export type Handler = (
  res: ServerResponse,
  req: IncomingMessage,
  files: ArchiveRequestFile[],
) => void | Promise<void>;

/** The NDJSON manifest of `files`, ended with the pending count by reason when given. */
export function manifestText(files: readonly FileSpec[], pendingReasons?: Record<string, number>): string {
  const mtimeMs = Date.now() - 3_600_000;
  const pending = Object.values(pendingReasons ?? {}).reduce((sum, n) => sum + n, 0);
  const lines: ManifestLine[] = [
    { type: 'header', protocol: PROTOCOL_VERSION, generation: 1, since: null },
    ...files.map(({ path, content, xxh64 }): ManifestLine => {
      return { type: 'file', path, size: content.length, mtimeMs, xxh64 };
    }),
    {
      type: 'end',
      generation: 1,
      files: files.length,
      pending,
      ...(pendingReasons ? { pendingReasons } : {}),
      hashed: 0,
      cacheHits: 0,
    },
  ];
  return lines.map((line) => `${JSON.stringify(line)}\n`).join('');
}

/** The honest answer to /v1/info of a protocol-1 agent offering `manifestFiles` files. */
export function agentInfo(manifestFiles: number): InfoResponse {
  return {
    protocol: PROTOCOL_VERSION,
    version: '0.0.0-scripted',
    roots: [{ name: 'output' }],
    capabilities: [Capabilities.manifestNdjson, Capabilities.archiveTar, Capabilities.xxh64],
    settleMs: 0,
    stats: {
      scans: 1,
      filesHashed: 0,
      bytesHashed: 0,
      cacheHits: 0,
      manifestFiles,
      pendingFiles: 0,
      generation: 1,
      lastScanAt: null,
    },
  };
}

/** Answers 200 with a whole tar. */
export function sendTar(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
  res.end(body);
}

/**
 * A protocol-1 agent on 127.0.0.1 whose manifest and archive answers a test scripts; it counts
 * what it managed to send, so a test can tell the controller stopped reading.
 */
export class ScriptedAgent {
  url = '';
  manifest: Handler = (res) => this.honestManifest(res);
  archive: Handler = () => {
    throw new Error('no archive handler set');
  };
  /** Files the honest manifest reports as pending, by reason (what the agent says about why). */
  pendingReasons: Record<string, number> | undefined;
  /** Answers /v1/info instead of the honest answer, when set. */
  info: Handler | undefined;
  sent = 0;
  manifestHeaders: IncomingMessage['headers'] | undefined;
  /** The protocol header on every answer: another version makes it an agent from another release. */
  protocolHeader = String(PROTOCOL_VERSION);
  /** Every request, as `METHOD /path`. */
  readonly requests: string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server = createServer((req, res) => {
    res.setHeader(PROTOCOL_HEADER, this.protocolHeader);
    this.requests.push(`${req.method ?? ''} ${new URL(req.url ?? '/', 'http://x').pathname}`);
    this.route(req, res).catch((err: unknown) => res.destroy(err as Error));
  });

  constructor(readonly files: readonly FileSpec[]) {}

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Writes `chunk()` every `ms` until the peer goes; counts the bytes the socket took. */
  every(res: ServerResponse, ms: number, chunk: () => Buffer): void {
    const timer = setInterval(() => {
      if (res.destroyed || res.writableEnded) {
        clearInterval(timer);
        return;
      }
      const bytes = chunk();
      res.write(bytes, (err) => {
        if (!err) this.sent += bytes.length;
      });
    }, ms);
    this.timers.add(timer);
    res.once('close', () => clearInterval(timer));
  }

  /** Writes `chunk()` as fast as the peer reads, until it goes. */
  flood(res: ServerResponse, chunk: () => Buffer): void {
    const pump = (): void => {
      while (!res.destroyed) {
        const bytes = chunk();
        this.sent += bytes.length;
        if (!res.write(bytes)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  }

  reset(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    this.sent = 0;
    this.info = undefined;
    this.pendingReasons = undefined;
    this.manifest = (res) => this.honestManifest(res);
  }

  close(): Promise<void> {
    this.reset();
    return new Promise((done) => {
      this.server.close(() => done());
      this.server.closeAllConnections();
    });
  }

  private honestManifest(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
    res.end(manifestText(this.files, this.pendingReasons));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.url).pathname;
    if (req.method === 'GET' && path === Routes.info && this.info) {
      await this.info(res, req, []);
      return;
    }
    if (req.method === 'GET' && path === Routes.info) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(agentInfo(this.files.length)));
      return;
    }
    if (req.method === 'GET' && path === Routes.manifest) {
      this.manifestHeaders = req.headers;
      await this.manifest(res, req, []);
      return;
    }
    if (req.method === 'POST' && path === Routes.archive) {
      let text = '';
      for await (const chunk of req as AsyncIterable<Buffer>) text += chunk.toString('utf8');
      const { files } = JSON.parse(text) as { files: ArchiveRequestFile[] };
      await this.archive(res, req, files);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'E_NOT_FOUND', message: `no route ${req.method} ${path}` } }));
  }
}
