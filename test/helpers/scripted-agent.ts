// A protocol-1 agent for tests that script its answers, and the tar pieces such answers are made of.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import tar from 'tar-stream';
import {
  ARCHIVE_REPORT_NAME,
  type ArchiveRequestFile,
  Capabilities,
  type InfoResponse,
  MANIFEST_CONTENT_TYPE,
  type ManifestLine,
  PAX_XXH64,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  Routes,
} from '../../common/protocol.js';
import { createXxh64 } from '../../common/xxh64.js';

export type FileSpec = { path: string; content: Buffer; xxh64: string };
export type Handler = (res: ServerResponse, req: IncomingMessage, files: ArchiveRequestFile[]) => void;

export async function fileSpec(path: string, content: Buffer): Promise<FileSpec> {
  const hasher = await createXxh64();
  hasher.update(content);
  return { path, content, xxh64: hasher.hex() };
}

export function manifestText(files: readonly FileSpec[]): string {
  const mtimeMs = Date.now() - 3_600_000;
  const lines: ManifestLine[] = [
    { type: 'header', protocol: PROTOCOL_VERSION, generation: 1, since: null },
    ...files.map(({ path, content, xxh64 }): ManifestLine => {
      return { type: 'file', path, size: content.length, mtimeMs, xxh64 };
    }),
    { type: 'end', generation: 1, files: files.length, pending: 0, hashed: 0, cacheHits: 0 },
  ];
  return lines.map((line) => `${JSON.stringify(line)}\n`).join('');
}

export async function honestTar(files: readonly FileSpec[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const file of files) {
    pack.entry({ name: file.path, mode: 0o644, pax: { [PAX_XXH64]: file.xxh64 } }, file.content);
  }
  pack.entry(
    { name: ARCHIVE_REPORT_NAME, mode: 0o644 },
    JSON.stringify({ protocol: PROTOCOL_VERSION, sent: files.length, skipped: [] }),
  );
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** One ustar header block of a regular file; a size past 8 GiB in GNU base-256, as tar does. */
export function fileHeader(name: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  if (size < 8 * 2 ** 30) block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  else {
    block[124] = 0x80;
    for (let i = 135, rest = size; i > 124; i--, rest = Math.floor(rest / 256)) block[i] = rest % 256;
  }
  block.write('00000000000\0', 136, 'latin1');
  block.write('0', 156, 'latin1');
  block.write('ustar\u000000', 257, 'latin1');
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** One small file entry (header, body, padding) that nobody asked for. */
export function unrequestedEntry(index: number): Buffer {
  const body = Buffer.alloc(512, 0x61);
  body[0] = 0x62;
  return Buffer.concat([fileHeader(`output/unasked-${index}.png`, 1), body]);
}

/**
 * A protocol-1 agent on 127.0.0.1 whose manifest and archive answers a test scripts; it counts
 * what it managed to send, so a test can tell the controller stopped reading.
 */
export class ScriptedAgent {
  url = '';
  manifest: Handler = (res) => {
    res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
    res.end(manifestText(this.files));
  };
  archive: Handler = () => {
    throw new Error('no archive handler set');
  };
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
    this.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      res.end(manifestText(this.files));
    };
  }

  close(): Promise<void> {
    this.reset();
    return new Promise((done) => {
      this.server.close(() => done());
      this.server.closeAllConnections();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.url).pathname;
    if (req.method === 'GET' && path === Routes.info && this.info) {
      this.info(res, req, []);
      return;
    }
    if (req.method === 'GET' && path === Routes.info) {
      const info: InfoResponse = {
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
          manifestFiles: this.files.length,
          pendingFiles: 0,
          generation: 1,
          lastScanAt: null,
        },
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(info));
      return;
    }
    if (req.method === 'GET' && path === Routes.manifest) {
      this.manifestHeaders = req.headers;
      this.manifest(res, req, []);
      return;
    }
    if (req.method === 'POST' && path === Routes.archive) {
      let text = '';
      for await (const chunk of req as AsyncIterable<Buffer>) text += chunk.toString('utf8');
      const { files } = JSON.parse(text) as { files: ArchiveRequestFile[] };
      this.archive(res, req, files);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'E_NOT_FOUND', message: `no route ${req.method} ${path}` } }));
  }
}
