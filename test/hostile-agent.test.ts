// A fake agent on 127.0.0.1 sends hostile and cut-short tars to a real `forge-sync sync`: nothing escapes --dest.
import { createHash, randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lstat, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHIVE_CONTENT_TYPE,
  ARCHIVE_REPORT_NAME,
  type ArchiveReport,
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
import { fakePng, treeDigest } from './helpers/files.js';
import { syncJson, tempDir } from './helpers/processes.js';

type EntryHeader = Partial<tar.Header> & { name: string; pax?: Record<string, string> };
type TarEntry = { header: EntryHeader; body?: Buffer };
type FileSpec = { path: string; content: Buffer; xxh64: string };
type ArchiveHandler = (files: ArchiveRequestFile[], res: ServerResponse) => Promise<void> | void;

async function xxh64Of(content: Buffer): Promise<string> {
  const hasher = await createXxh64();
  hasher.update(content);
  return hasher.hex();
}

async function fileSpec(path: string, content: Buffer): Promise<FileSpec> {
  return { path, content, xxh64: await xxh64Of(content) };
}

/** The whole tar as one buffer; entries without a body (links, folders) carry only their header. */
async function buildTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { header, body } of entries) {
    if (body) pack.entry(header, body);
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function fileEntry(name: string, body: Buffer, xxh64?: string): TarEntry {
  return {
    header: { name, type: 'file', mode: 0o644, ...(xxh64 ? { pax: { [PAX_XXH64]: xxh64 } } : {}) },
    body,
  };
}

function reportEntry(sent: number): TarEntry {
  const report: ArchiveReport = { protocol: PROTOCOL_VERSION, sent, skipped: [] };
  return { header: { name: ARCHIVE_REPORT_NAME, mode: 0o644 }, body: Buffer.from(JSON.stringify(report)) };
}

/** What an honest agent sends for a request: each requested file with its hash, then the report. */
function honestTar(
  files: readonly ArchiveRequestFile[],
  byPath: ReadonlyMap<string, FileSpec>,
): Promise<Buffer> {
  const entries = files.map((file) => {
    const spec = byPath.get(file.path)!;
    return fileEntry(spec.path, spec.content, spec.xxh64);
  });
  return buildTar([...entries, reportEntry(entries.length)]);
}

function sendTar(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  return text;
}

/**
 * An in-test agent that speaks protocol 1: info, a fixed manifest, and archives built by
 * `archive`, which a test may swap between passes.
 */
class FakeAgent {
  url = '';
  archive: ArchiveHandler = () => {
    throw new Error('no archive handler set');
  };
  /** Files the manifest reports as pending, by reason (what the agent says about why). */
  pendingReasons: Record<string, number> = {};
  private readonly server: Server = createServer((req, res) => {
    res.setHeader(PROTOCOL_HEADER, String(PROTOCOL_VERSION));
    this.route(req, res).catch((err: unknown) => res.destroy(err as Error));
  });

  private constructor(private readonly files: readonly FileSpec[]) {}

  static async start(files: readonly FileSpec[]): Promise<FakeAgent> {
    const agent = new FakeAgent(files);
    await new Promise<void>((done) => agent.server.listen(0, '127.0.0.1', done));
    agent.url = `http://127.0.0.1:${(agent.server.address() as AddressInfo).port}`;
    return agent;
  }

  close(): Promise<void> {
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
        version: '0.0.0-fake',
        roots: [{ name: 'output' }],
        capabilities: [Capabilities.manifestNdjson, Capabilities.archiveTar, Capabilities.xxh64],
        settleMs: 0,
        stats: {
          scans: 1,
          filesHashed: this.files.length,
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
      const mtimeMs = Date.now() - 3_600_000;
      const lines: ManifestLine[] = [
        { type: 'header', protocol: PROTOCOL_VERSION, generation: 1, since: null },
        ...this.files.map(({ path: filePath, content, xxh64 }): ManifestLine => ({
          type: 'file',
          path: filePath,
          size: content.length,
          mtimeMs,
          xxh64,
        })),
        {
          type: 'end',
          generation: 1,
          files: this.files.length,
          pending: Object.values(this.pendingReasons).reduce((sum, n) => sum + n, 0),
          pendingReasons: this.pendingReasons,
          hashed: 0,
          cacheHits: 0,
        },
      ];
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      res.end(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
      return;
    }
    if (req.method === 'POST' && path === Routes.archive) {
      const { files } = JSON.parse(await readBody(req)) as { files: ArchiveRequestFile[] };
      await this.archive(files, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'E_NOT_FOUND', message: `no route ${req.method} ${path}` } }));
  }
}

/** Every entry below `dir` (not following symlinks) as "path type size", sorted; `skip` is left out. */
async function listTree(dir: string, skip?: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const dirent of await readdir(current, { withFileTypes: true })) {
      const path = join(current, dirent.name);
      if (path === skip) continue;
      const stats = await lstat(path);
      const type = stats.isSymbolicLink() ? 'symlink' : stats.isDirectory() ? 'dir' : 'file';
      out.push(`${relative(dir, path)} ${type} ${stats.isFile() ? stats.size : '-'}`);
      if (dirent.isDirectory()) await walk(path);
    }
  };
  await walk(dir);
  return out.sort();
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

const byCodeAndPath = (items: { code: string; path: string }[]): string[] =>
  items.map(({ code, path }) => `${code} ${path}`).sort();

describe('sync against a hostile agent', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let dest: string;
  let agent: FakeAgent;
  let files: FileSpec[];
  let byPath: Map<string, FileSpec>;

  beforeAll(async () => {
    work = await tempDir('fms-hostile-');
    // --dest sits two levels down, so every "../" trick a naive join would follow lands inside `work`.
    dest = join(work.path, 'a', 'b', 'dest');
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(join(work.path, 'a', 'sentinel.txt'), 'untouched');
    files = await Promise.all([
      fileSpec('output/good.png', fakePng(500)),
      fileSpec('output/link.png', fakePng(300)),
      fileSpec('output/hard.png', fakePng(300)),
      fileSpec('output/dir.png', fakePng(300)),
      fileSpec('output/wrong-content.png', fakePng(400)),
      fileSpec('output/wrong-size.png', fakePng(400)),
      fileSpec('output/sub/through.png', fakePng(200)),
    ]);
    byPath = new Map(files.map((file) => [file.path, file]));
    agent = await FakeAgent.start(files);
  });

  afterAll(async () => {
    await agent?.close();
    await work?.[Symbol.asyncDispose]();
  });

  it('stores only the honest entries, reports every hostile one, and writes nothing outside --dest', async () => {
    const good = byPath.get('output/good.png')!;
    const wrongContent = byPath.get('output/wrong-content.png')!;
    const wrongSize = byPath.get('output/wrong-size.png')!;
    const through = byPath.get('output/sub/through.png')!;
    const hostile = await buildTar([
      fileEntry('../x', Buffer.from('escaped one level')),
      fileEntry('../../escape.png', fakePng(100)),
      fileEntry('/etc/x', Buffer.from('absolute')),
      { header: { name: 'output/link.png', type: 'symlink', linkname: '/etc/passwd' } },
      { header: { name: 'output/hard.png', type: 'link', linkname: '/etc/passwd' } },
      // A pax path keeps the folder's name without its trailing slash, so it matches a requested file.
      { header: { name: 'output/dir.png', type: 'directory', mode: 0o755, pax: {} } },
      // A symlinked folder first, then a requested file "through" it.
      { header: { name: 'output/sub', type: 'symlink', linkname: work.path } },
      fileEntry(good.path, good.content, good.xxh64),
      fileEntry(good.path, Buffer.alloc(good.content.length, 0x41), good.xxh64),
      fileEntry(wrongContent.path, Buffer.alloc(wrongContent.content.length, 0x42), wrongContent.xxh64),
      fileEntry(wrongSize.path, wrongSize.content.subarray(0, 100), wrongSize.xxh64),
      fileEntry('output/never-requested.png', fakePng(100)),
      fileEntry(through.path, through.content, through.xxh64),
      reportEntry(7),
    ]);
    agent.archive = (_files, res) => sendTar(res, hostile);

    const parent = dirname(work.path);
    const parentBefore = await readdir(parent);
    const workBefore = await listTree(work.path, dest);
    const result = await syncJson(dest, { fake: agent.url });

    expect(result.code, result.stderr).not.toBe(0);
    const summary = result.summary!;
    expect(summary.ok).toBe(false);
    const [fake] = summary.agents;
    expect(fake!.error, 'the archive was complete; only entries were refused').toBeUndefined();
    expect(fake!.filesTransferred).toBe(2);
    expect(byCodeAndPath(fake!.problems)).toEqual(
      byCodeAndPath([
        { code: 'E_UNSAFE_PATH', path: '../x' },
        { code: 'E_UNSAFE_PATH', path: '../../escape.png' },
        { code: 'E_UNSAFE_PATH', path: '/etc/x' },
        { code: 'E_BAD_ENTRY_TYPE', path: 'output/link.png' },
        { code: 'E_BAD_ENTRY_TYPE', path: 'output/hard.png' },
        { code: 'E_BAD_ENTRY_TYPE', path: 'output/dir.png' },
        { code: 'E_BAD_ENTRY_TYPE', path: 'output/sub' },
        { code: 'E_DUPLICATE_ENTRY', path: 'output/good.png' },
        { code: 'E_HASH_MISMATCH', path: 'output/wrong-content.png' },
        { code: 'E_SIZE_MISMATCH', path: 'output/wrong-size.png' },
        { code: 'E_UNREQUESTED_ENTRY', path: 'output/never-requested.png' },
        // A requested file whose entry was refused counts once: not also as missing from the archive.
      ]),
    );
    expect(fake!.errors).toBe(fake!.problems.length);

    // The first good.png won; its evil duplicate did not replace it.
    expect(await readFile(join(dest, 'fake/output/good.png'))).toEqual(good.content);
    expect(await readFile(join(dest, 'fake/output/sub/through.png'))).toEqual(through.content);
    expect((await lstat(join(dest, 'fake/output/sub'))).isDirectory()).toBe(true);
    const stored = (await listTree(dest)).filter((line) => !line.startsWith('.forge-sync'));
    expect(stored).toEqual(
      [
        'fake dir -',
        'fake/output dir -',
        `fake/output/good.png file ${good.content.length}`,
        'fake/output/sub dir -',
        `fake/output/sub/through.png file ${through.content.length}`,
      ].sort(),
    );
    expect(await listTree(dest)).not.toContainEqual(expect.stringMatching(/ symlink /));
    expect(await readdir(join(dest, '.forge-sync/tmp'))).toEqual([]);

    expect(await listTree(work.path, dest)).toEqual(workBefore);
    const appeared = (await readdir(parent)).filter((name) => !parentBefore.includes(name));
    expect(appeared).not.toContain('x');
    expect(appeared).not.toContain('escape.png');
    expect(await exists('/etc/x')).toBe(false);
    for (const base of [dest, join(dest, 'fake'), join(dest, 'fake/output'), process.cwd()]) {
      expect(await exists(resolve(base, '../x')), base).toBe(false);
      expect(await exists(resolve(base, '../../escape.png')), base).toBe(false);
    }
  });

  it('stores the remaining files once the agent sends an honest archive', async () => {
    let requested: string[] = [];
    agent.archive = async (files, res) => {
      requested = files.map((file) => file.path);
      sendTar(res, await honestTar(files, byPath));
    };
    const result = await syncJson(dest, { fake: agent.url });

    expect(result.code, result.stderr).toBe(0);
    expect(requested.sort()).toEqual(
      [
        'output/dir.png',
        'output/hard.png',
        'output/link.png',
        'output/wrong-content.png',
        'output/wrong-size.png',
      ].sort(),
    );
    expect(result.summary!.totals).toMatchObject({ filesTransferred: 5, filesUnchanged: 2, errors: 0 });
    const expected = new Map(
      files.map((file) => [file.path, createHash('sha256').update(file.content).digest('hex')]),
    );
    expect(await treeDigest(join(dest, 'fake'))).toEqual(expected);
    expect(await readdir(join(dest, '.forge-sync/tmp'))).toEqual([]);
  });

  it('passes the pending count by reason through to sync --json, dropping malformed reasons', async () => {
    agent.pendingReasons = { settling: 20, 'incomplete-png': 4, 'Not A Reason!': 1 };
    const result = await syncJson(dest, { fake: agent.url });
    agent.pendingReasons = {};
    expect(result.code, result.stderr).toBe(0);
    expect(result.summary!.agents[0]).toMatchObject({
      filesPending: 25,
      pendingReasons: { settling: 20, 'incomplete-png': 4 },
    });
    expect(Object.keys(result.summary!.agents[0]!.pendingReasons!)).toEqual(['settling', 'incomplete-png']);
  });
});

describe('sync against an agent that dies mid-archive', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let dest: string;
  let agent: FakeAgent;
  let small: FileSpec;
  let big: FileSpec;

  beforeAll(async () => {
    work = await tempDir('fms-cut-');
    dest = join(work.path, 'dest');
    small = await fileSpec('output/small.png', fakePng(1000));
    big = await fileSpec('output/video/big.mkv', randomBytes(8 << 20));
    agent = await FakeAgent.start([small, big]);
  });

  afterAll(async () => {
    await agent?.close();
    await work?.[Symbol.asyncDispose]();
  });

  it('keeps what was complete, leaves no partial file and fails with E_PROTOCOL', async () => {
    const whole = await buildTar([
      fileEntry(small.path, small.content, small.xxh64),
      fileEntry(big.path, big.content, big.xxh64),
      reportEntry(2),
    ]);
    // The big entry is nearly all of the tar, so its middle is the tar's middle.
    const cut = whole.subarray(0, Math.floor(whole.length / 2));
    let cutSent = false;
    agent.archive = (_files, res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      res.write(cut, () => {
        cutSent = true;
        res.socket?.destroy();
      });
    };

    const result = await syncJson(dest, { fake: agent.url });

    expect(cutSent).toBe(true);
    expect(result.code, result.stderr).not.toBe(0);
    const [fake] = result.summary!.agents;
    expect(fake!.error?.code, JSON.stringify(fake)).toBe('E_PROTOCOL');
    expect(await readFile(join(dest, 'fake/output/small.png'))).toEqual(small.content);
    expect(await exists(join(dest, 'fake', big.path))).toBe(false);
    const stored = (await listTree(dest)).filter(
      (line) => !line.startsWith('.forge-sync') && line.includes(' file '),
    );
    expect(stored).toEqual([`fake/${small.path} file ${small.content.length}`]);
    expect(await readdir(join(dest, '.forge-sync/tmp'))).toEqual([]);
  });
});
