// End to end: real agent and sync processes on 127.0.0.1, real HTTP, real tar, real PGlite catalog.
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_AGO, fakePng, put, putLarge, treeDigest, truncatedPng } from './helpers/files.js';
import { type Started, TOKEN, startAgent, syncJson, tempDir } from './helpers/processes.js';

describe('sync end to end', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let agent: Started;

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    await put(out, 'txt2img-images/2026-11-24/00000-235284042.png', fakePng(2000));
    await put(
      out,
      'txt2img-images/2026-11-24/00000-235284042.txt',
      'photo of a duck\nSteps: 15, Seed: 235284042, Size: 512x400',
    );
    await put(out, 'extras-images/with space ünïcödé 画像.png', fakePng(300));
    await put(
      out,
      'a/b/c/d/e/f/g/deep.webp',
      Buffer.concat([
        Buffer.from('RIFF'),
        Buffer.from([4 + 8, 0, 0, 0]),
        Buffer.from('WEBPVP8 '),
        Buffer.alloc(4),
      ]),
    );
    await putLarge(out, 'video/ComfyUI_00001_.mkv', 100 * 1024 * 1024);
    agent = await startAgent([out]);
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('copies every file byte for byte on a cold sync', async () => {
    const result = await syncJson(dest, { gpu1: agent.url }, ['--log-level', 'trace']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('"durability":"syncfs"');
    expect(result.summary!.totals).toMatchObject({ filesTransferred: 5, errors: 0, filesUnchanged: 0 });
    expect(result.stderr).toContain('"runId"');
    expect(result.stderr, 'the token must never be logged').not.toContain(TOKEN);
    expect(JSON.stringify(agent.logs)).not.toContain(TOKEN);
    const source = await treeDigest(out);
    const stored = await treeDigest(join(dest, 'gpu1', 'output'));
    expect(stored).toEqual(source);
  });

  it('makes each file durable by itself where no `sync` command runs, with the same result', async () => {
    // A distroless image has no `sync -f`; the controller then fsyncs every file and folder.
    const bare = join(work.path, 'synced-fsync');
    const result = await syncJson(bare, { gpu1: agent.url }, ['--log-level', 'info'], {
      PATH: join(work.path, 'no-bin'),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('"durability":"fsync"');
    expect(result.summary!.totals).toMatchObject({ filesTransferred: 5, errors: 0 });
    expect(await treeDigest(join(bare, 'gpu1', 'output'))).toEqual(await treeDigest(out));
  });

  it('transfers nothing on a second pass', async () => {
    const result = await syncJson(dest, { gpu1: agent.url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.summary!.totals).toMatchObject({ filesTransferred: 0, filesUnchanged: 5, errors: 0 });
  });

  it('transfers one changed file once and keeps the old version beside it', async () => {
    const path = 'txt2img-images/2026-11-24/00000-235284042.png';
    const before = await readFile(join(dest, 'gpu1/output', path));
    const replacement = fakePng(2100);
    await put(out, path, replacement, HOUR_AGO());
    const result = await syncJson(dest, { gpu1: agent.url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.summary!.totals).toMatchObject({ filesTransferred: 1, filesUnchanged: 4 });
    expect(await readFile(join(dest, 'gpu1/output', path))).toEqual(before);
    const digest = await treeDigest(join(dest, 'gpu1/output/txt2img-images/2026-11-24'));
    const versions = [...digest.keys()].filter((name) => name.endsWith('.png'));
    expect(versions).toHaveLength(2);
    const versioned = versions.find((name) => name.includes('~'))!;
    expect(versioned).toMatch(/^00000-235284042~[0-9a-f]{16}\.png$/);
    expect(await readFile(join(dest, 'gpu1/output/txt2img-images/2026-11-24', versioned))).toEqual(
      replacement,
    );
  });

  it('catalogues every stored file, both versions of the changed one included', async () => {
    const db = await PGlite.create(join(dest, '.forge-sync/catalog'));
    try {
      const { rows } = await db.query<{
        agent: string;
        container_path: string;
        stored_path: string;
        size: string;
        mtime_ms: number;
        xxh64: string;
        synced_at: Date;
        run_id: string;
      }>(
        'SELECT agent, container_path, stored_path, size::text, mtime_ms, xxh64, synced_at, run_id FROM files ORDER BY id',
      );
      expect(rows).toHaveLength(6);
      const stored = await treeDigest(join(dest, 'gpu1'));
      expect(new Set(rows.map((row) => row.stored_path))).toEqual(
        new Set([...stored.keys()].map((path) => `gpu1/${path}`)),
      );
      const video = rows.find((row) => row.container_path === 'output/video/ComfyUI_00001_.mkv')!;
      expect(video).toMatchObject({
        agent: 'gpu1',
        stored_path: 'gpu1/output/video/ComfyUI_00001_.mkv',
        size: String(100 * 1024 * 1024),
      });
      expect(video.xxh64).toMatch(/^[0-9a-f]{16}$/);
      expect(video.mtime_ms).toBeLessThan(Date.now() - 3_000_000);
      expect(video.synced_at.getTime()).toBeGreaterThan(Date.now() - 600_000);
      const versions = rows.filter(
        (row) => row.container_path === 'output/txt2img-images/2026-11-24/00000-235284042.png',
      );
      expect(versions).toHaveLength(2);
      expect(versions[0]!.xxh64).not.toBe(versions[1]!.xxh64);
      expect(versions[0]!.run_id).not.toBe(versions[1]!.run_id);
    } finally {
      await db.close();
    }
  });

  it('does not serve temp files, symlinks, unfinished PNGs or empty files', async () => {
    await put(out, 'txt2img-images/2026-11-24/00001-1.tmp', fakePng());
    await put(out, 'ComfyUI_00009_.png', truncatedPng());
    await put(out, 'empty.png', Buffer.alloc(0));
    await put(out, '.hidden.png', fakePng());
    await writeFile(join(work.path, 'secret.png'), fakePng());
    await symlink(join(work.path, 'secret.png'), join(out, 'link.png'));
    await symlink(work.path, join(out, 'linked-dir'));
    const manifest = await fetch(`${agent.url}/v1/manifest`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const paths = (await manifest.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; path?: string })
      .filter((line) => line.type === 'file')
      .map((line) => line.path);
    expect(paths).not.toContain('output/txt2img-images/2026-11-24/00001-1.tmp');
    expect(paths).not.toContain('output/ComfyUI_00009_.png');
    expect(paths).not.toContain('output/empty.png');
    expect(paths).not.toContain('output/.hidden.png');
    expect(paths).not.toContain('output/link.png');
    expect(paths.some((path) => path?.startsWith('output/linked-dir'))).toBe(false);
    expect(paths).toHaveLength(5);
  });

  it('answers 401 without the token, except for health', async () => {
    for (const route of ['/v1/info', '/v1/manifest']) {
      const response = await fetch(`${agent.url}${route}`);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('E_AUTH');
    }
    const archive = await fetch(`${agent.url}/v1/archive`, {
      method: 'POST',
      body: '{"files":[]}',
      headers: { authorization: 'Bearer nope' },
    });
    expect(archive.status).toBe(401);
    expect((await fetch(`${agent.url}/v1/health`)).status).toBe(200);
  });
});
