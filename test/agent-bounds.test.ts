// Agents that send too much, too slowly or never end, against a real `forge-sync sync`: each is one
// clear per-agent error within seconds, and the honest agent beside it is synced all the same.
import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHIVE_CONTENT_TYPE,
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
} from '../common/protocol.js';
import { createXxh64 } from '../common/xxh64.js';
import { fakePng } from './helpers/files.js';
import { syncJson, tempDir } from './helpers/processes.js';

type FileSpec = { path: string; content: Buffer; xxh64: string };
type Handler = (res: ServerResponse, req: IncomingMessage, files: ArchiveRequestFile[]) => void;

async function fileSpec(path: string, content: Buffer): Promise<FileSpec> {
  const hasher = await createXxh64();
  hasher.update(content);
  return { path, content, xxh64: hasher.hex() };
}

function manifestText(files: readonly FileSpec[]): string {
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

async function honestTar(files: readonly FileSpec[]): Promise<Buffer> {
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
function fileHeader(name: string, size: number): Buffer {
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
function unrequestedEntry(index: number): Buffer {
  const body = Buffer.alloc(512, 0x61);
  body[0] = 0x62;
  return Buffer.concat([fileHeader(`output/unasked-${index}.png`, 1), body]);
}

/**
 * A protocol-1 agent on 127.0.0.1 whose manifest and archive answers a test scripts; it counts
 * what it managed to send, so a test can tell the controller stopped reading.
 */
class ScriptedAgent {
  url = '';
  manifest: Handler = (res) => {
    res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
    res.end(manifestText(this.files));
  };
  archive: Handler = () => {
    throw new Error('no archive handler set');
  };
  sent = 0;
  manifestHeaders: IncomingMessage['headers'] | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server = createServer((req, res) => {
    res.setHeader(PROTOCOL_HEADER, String(PROTOCOL_VERSION));
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

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('sync against agents that exceed a bound', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let honest: ScriptedAgent;
  let hostile: ScriptedAgent;
  let good: FileSpec;
  let asked: FileSpec;
  let run = 0;

  beforeAll(async () => {
    work = await tempDir('fms-bounds-');
    good = await fileSpec('output/good.png', fakePng(2000));
    asked = await fileSpec('output/asked.png', fakePng(20_000));
    honest = await new ScriptedAgent([good]).start();
    honest.archive = (res) => {
      void honestTar([good]).then((body) => {
        res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
        res.end(body);
      });
    };
    hostile = await new ScriptedAgent([asked]).start();
  });

  afterEach(() => hostile.reset());

  afterAll(async () => {
    await honest?.close();
    await hostile?.close();
    await work?.[Symbol.asyncDispose]();
  });

  /**
   * Syncs the hostile agent beside the honest one into a fresh --dest, with these limits; checks
   * the honest one's file landed and returns the hostile one's error and how long it took.
   */
  async function syncBoth(
    limits: Record<string, number> = {},
  ): Promise<{ code: string; message: string; ms: number }> {
    const dest = join(work.path, `dest-${++run}`);
    const started = Date.now();
    const result = await syncJson(
      dest,
      { honest: honest.url, hostile: hostile.url },
      ['--log-level', 'fatal'],
      {
        FORGE_SYNC_INTERNAL_AGENT_LIMITS: JSON.stringify(limits),
      },
    );
    const ms = Date.now() - started;
    expect(result.code, result.stderr).not.toBe(0);
    const byName = new Map(result.summary!.agents.map((agent) => [agent.name, agent]));
    expect(byName.get('honest'), 'the pass goes on with the other agents').toMatchObject({
      ok: true,
      filesTransferred: 1,
    });
    expect(sha256(await readFile(join(dest, 'honest', good.path)))).toBe(sha256(good.content));
    const error = byName.get('hostile')!.error;
    expect(error, JSON.stringify(byName.get('hostile'))).toBeDefined();
    return { ...error!, ms };
  }

  it('refuses a manifest line that never ends, having read little of it', async () => {
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      res.write(
        `${JSON.stringify({ type: 'header', protocol: PROTOCOL_VERSION, generation: 1, since: null })}\n`,
      );
      const run = Buffer.alloc(64 << 10, 0x61);
      hostile.flood(res, () => run);
    };
    const error = await syncBoth();
    expect(error.code).toBe('E_PROTOCOL');
    expect(error.message).toMatch(/manifest line longer than 65536 bytes/);
    expect(error.ms).toBeLessThan(20_000);
    // What the controller read before refusing: the line limit plus socket buffers, not the stream.
    expect(hostile.sent).toBeLessThan(32 << 20);
  });

  it('refuses a gzip-encoded manifest without decoding it, having asked for identity', async () => {
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE, 'content-encoding': 'gzip' });
      res.end(gzipSync(manifestText([asked])));
    };
    const error = await syncBoth();
    expect(hostile.manifestHeaders?.['accept-encoding']).toBe('identity');
    expect(error.code).toBe('E_PROTOCOL');
    expect(error.message).toMatch(/content-encoding "gzip"/);
  });

  it('refuses a manifest of more files than the limit', async () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ ...asked, path: `output/many-${i}.png` }));
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      res.end(manifestText(many));
    };
    const error = await syncBoth({ manifestFiles: 3 });
    expect(error.code).toBe('E_AGENT_LIMIT');
    expect(error.message).toMatch(/manifest of more than 3 files/);
  });

  it('refuses an entry declaring 2^40 bytes for a 20 KB file before reading its body', async () => {
    hostile.archive = (res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      res.write(fileHeader(asked.path, 2 ** 40));
      const zeros = Buffer.alloc(64 << 10);
      hostile.flood(res, () => zeros);
    };
    const error = await syncBoth();
    expect(error.code).toBe('E_AGENT_LIMIT');
    expect(error.message).toMatch(/1099511627776 bytes declared, 20\d{3} expected/);
    expect(error.ms).toBeLessThan(20_000);
    expect(hostile.sent).toBeLessThan(64 << 20);
  });

  it('ends an archive of endless unrequested entries', async () => {
    let index = 0;
    hostile.archive = (res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      hostile.flood(res, () => Buffer.concat(Array.from({ length: 64 }, () => unrequestedEntry(index++))));
    };
    const error = await syncBoth();
    expect(error.code).toBe('E_AGENT_LIMIT');
    expect(error.message).toMatch(/more than 1000 refused entries/);
    expect(error.ms).toBeLessThan(20_000);
  });

  it('gives up an archive that trickles a byte at a time, though no gap is long', async () => {
    hostile.archive = (res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      const whole = fileHeader(asked.path, asked.content.length);
      let at = 0;
      hostile.every(res, 200, () => whole.subarray(at, ++at));
    };
    const error = await syncBoth({ stallMs: 1500, stallBytes: 1024 });
    expect(error.code).toBe('E_AGENT_STALLED');
    expect(error.message).toMatch(/less than 1024 bytes in 1.5 s/);
    expect(error.ms).toBeLessThan(15_000);
  });

  it('gives up an agent that stops writing mid-manifest', async () => {
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      const text = manifestText([asked]);
      res.write(text.slice(0, text.length / 2)); // and nothing more, the socket left open
    };
    const error = await syncBoth({ stallMs: 1500 });
    expect(error.code).toBe('E_AGENT_STALLED');
    expect(error.ms).toBeLessThan(15_000);
  });

  it('gives up an archive that keeps sending but past its deadline', async () => {
    hostile.archive = (res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      // A steady 10 KiB/s of small entries: never a stall, and the archive never ends.
      let index = 0;
      hostile.every(res, 100, () => unrequestedEntry(index++));
    };
    const error = await syncBoth({ stallMs: 1000, stallBytes: 1024, archiveBaseMs: 1500 });
    expect(error.code).toBe('E_AGENT_DEADLINE');
    expect(error.message).toMatch(/within 1.5 s/);
    expect(error.ms).toBeLessThan(15_000);
  });
});
