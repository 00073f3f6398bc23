// The agent's archive endpoint: only requested files with their current hash; stale, vanished and unsafe requests are reported.
import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveReport, ManifestLine } from '../common/protocol.js';
import { hashChunks } from '../common/xxh64.js';
import { fakePng, put } from './helpers/files.js';
import { type Started, TOKEN, startAgent, tempDir } from './helpers/processes.js';

const auth = { authorization: `Bearer ${TOKEN}` };

interface Received {
  name: string;
  type: string;
  pax: Record<string, string>;
  body: Buffer;
}

async function archive(agent: Started, files: { path: string; xxh64: string; size: number }[]) {
  const response = await fetch(`${agent.url}/v1/archive`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ files }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/x-tar');
  const extract = tar.extract();
  Readable.fromWeb(response.body as never).pipe(extract as never);
  const entries: Received[] = [];
  for await (const raw of extract as AsyncIterable<unknown>) {
    const entry = raw as AsyncIterable<Buffer> & { header: tar.Header };
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk);
    entries.push({
      name: entry.header.name,
      type: entry.header.type,
      pax: (entry.header.pax ?? {}) as Record<string, string>,
      body: Buffer.concat(chunks),
    });
  }
  const last = entries.pop()!;
  expect(last.name).toBe('.forge-sync/report.json');
  return { entries, report: JSON.parse(last.body.toString()) as ArchiveReport };
}

describe('agent archive', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;
  let manifest: Map<string, { path: string; xxh64: string; size: number }>;

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    await put(out, 'keep.png', fakePng(500));
    await put(out, 'change.png', fakePng(500));
    await put(out, 'vanish.png', fakePng(500));
    await put(out, 'sub/deep.png', fakePng(500));
    agent = await startAgent([out]);
    const text = await (await fetch(`${agent.url}/v1/manifest`, { headers: auth })).text();
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ManifestLine);
    expect(lines[0]).toMatchObject({ type: 'header', protocol: 1, since: null });
    expect(lines.at(-1)).toMatchObject({ type: 'end', files: 4 });
    manifest = new Map(
      lines.flatMap((line) =>
        line.type === 'file'
          ? [[line.path, { path: line.path, xxh64: line.xxh64, size: line.size }] as const]
          : [],
      ),
    );
  });
  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('sends requested files with their xxh64, and nothing else', async () => {
    const { entries, report } = await archive(agent, [
      manifest.get('output/keep.png')!,
      manifest.get('output/sub/deep.png')!,
    ]);
    expect(entries.map((entry) => entry.name)).toEqual(['output/keep.png', 'output/sub/deep.png']);
    for (const entry of entries) {
      expect(entry.type).toBe('file');
      const { xxh64 } = await hashChunks(
        (async function* () {
          yield entry.body;
        })(),
      );
      expect(entry.pax['FORGESYNC.xxh64']).toBe(xxh64);
      expect(xxh64).toBe(manifest.get(entry.name)!.xxh64);
    }
    expect(report).toEqual({
      protocol: 1,
      sent: 2,
      skipped: [],
      archiveId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('reports a file that changed or vanished since the manifest instead of sending it', async () => {
    await put(out, 'change.png', fakePng(500));
    await rm(join(out, 'vanish.png'));
    const { entries, report } = await archive(agent, [
      manifest.get('output/change.png')!,
      manifest.get('output/vanish.png')!,
      manifest.get('output/keep.png')!,
    ]);
    expect(entries.map((entry) => entry.name)).toEqual(['output/keep.png']);
    expect(report.sent).toBe(1);
    expect(report.skipped.map(({ path, reason }) => ({ path, reason }))).toEqual([
      { path: 'output/change.png', reason: 'changed' },
      { path: 'output/vanish.png', reason: 'vanished' },
    ]);
  });

  it('refuses paths outside its roots, through symlinks, or of other types', async () => {
    await writeFile(join(work.path, 'secret.png'), 'secret');
    await symlink(join(work.path, 'secret.png'), join(out, 'link.png'));
    await mkdir(join(work.path, 'elsewhere'));
    await writeFile(join(work.path, 'elsewhere', 'x.png'), 'x');
    await symlink(join(work.path, 'elsewhere'), join(out, 'linkdir'));
    await mkdir(join(out, 'folder.png'));
    const fake = { xxh64: '0000000000000000', size: 6 };
    const { entries, report } = await archive(agent, [
      { path: 'output/../secret.png', ...fake },
      { path: '/etc/passwd', ...fake },
      { path: 'other/keep.png', ...fake },
      { path: 'output/link.png', ...fake },
      { path: 'output/linkdir/x.png', ...fake },
      { path: 'output/folder.png', ...fake },
    ]);
    expect(entries).toEqual([]);
    expect(report.skipped.map(({ path, reason }) => ({ path, reason }))).toEqual([
      { path: 'output/../secret.png', reason: 'unsafe' },
      { path: '/etc/passwd', reason: 'unsafe' },
      { path: 'other/keep.png', reason: 'unknown-root' },
      { path: 'output/link.png', reason: 'not-regular' },
      { path: 'output/linkdir/x.png', reason: 'unsafe' },
      { path: 'output/folder.png', reason: 'not-regular' },
    ]);
  });

  it('never blocks on a FIFO: refused as not regular, and the agent keeps answering', async () => {
    execFileSync('mkfifo', [join(out, 'fifo.png')]);
    // Asked for as a small and as a large file: both paths open it, and neither may wait for a writer.
    const requests = [6, 64 << 20].map((size) =>
      archive(agent, [
        { path: 'output/fifo.png', xxh64: '0000000000000000', size },
        manifest.get('output/keep.png')!,
      ]),
    );
    for (const { entries, report } of await Promise.all(requests)) {
      expect(entries.map((entry) => entry.name)).toEqual(['output/keep.png']);
      expect(report.skipped.map(({ path, reason }) => ({ path, reason }))).toEqual([
        { path: 'output/fifo.png', reason: 'not-regular' },
      ]);
    }
    const manifestAfter = await fetch(`${agent.url}/v1/manifest`, {
      headers: auth,
      signal: AbortSignal.timeout(5000),
    });
    expect(manifestAfter.status).toBe(200);
    await manifestAfter.text();
    await rm(join(out, 'fifo.png'));
  }, 20_000);

  it('rejects malformed archive requests with E_BAD_REQUEST', async () => {
    for (const body of ['not json', '{}', '{"files":[{"path":"output/keep.png","xxh64":"zz","size":1}]}']) {
      const response = await fetch(`${agent.url}/v1/archive`, { method: 'POST', headers: auth, body });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('E_BAD_REQUEST');
    }
  });

  it('carries the protocol version on every response', async () => {
    for (const route of ['/v1/health', '/v1/info', '/v1/nope']) {
      const response = await fetch(`${agent.url}${route}`, { headers: auth });
      expect(response.headers.get('x-forge-sync-protocol')).toBe('1');
    }
  });
});
