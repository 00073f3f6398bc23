// Stored files over HTTP from a real controller: one record, its bytes with Range and ETag, thumbnails, and session auth.
import { copyFile, mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../common/run-results.js';
import { PURGE_TOKEN, type Started, TOKEN, startAgent, startProcess, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const SAMPLES = fileURLToPath(new URL('fixtures/sd-parsers/', import.meta.url));
const OLD = new Date(Date.now() - 3_600_000);
const auth = { authorization: `Bearer ${TOKEN}` };

interface Detail {
  id: number;
  containerPath: string;
  storedPath: string;
  hostPath: string;
  xxh64: string;
  size: number;
  seed: string | null;
  prompt: string | null;
  purgedAt: string | null;
  provenance: Record<string, string>;
  metadata: { raw?: string; loras?: unknown } | null;
  kind: string | null;
  pixelWidth: number | null;
  pixelHeight: number | null;
  destHost: string | null;
  destPath: string | null;
}

describe('stored files over HTTP', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let agent: Started;
  let controller: Started;
  const ids = new Map<string, number>();

  async function place(rel: string, sample: string | Buffer): Promise<void> {
    const path = join(out, rel);
    await mkdir(dirname(path), { recursive: true });
    if (typeof sample === 'string') await copyFile(join(SAMPLES, sample), path);
    else await writeFile(path, sample);
    await utimes(path, OLD, OLD);
  }

  const get = (path: string, headers: Record<string, string> = auth): Promise<Response> =>
    fetch(`${controller.url}${path}`, { headers });

  beforeAll(async () => {
    work = await tempDir('fms-files-');
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    await place('txt2img-images/2026-11-24/00000-235284042.png', 'AUTOMATIC1111/automatic1111_cropped.png');
    await place('txt2img-images/2026-11-24/00001-235284042.jpg', 'AUTOMATIC1111/automatic1111_cropped.jpg');
    await place('ComfyUI_00002_.png', 'ComfyUI/night_evening_day_morning_cropped.png');
    // The head of a JPEG and nothing else: synced like any file, but no decoder can draw it.
    const jpeg = await readFile(join(SAMPLES, 'AUTOMATIC1111/automatic1111_cropped.jpg'));
    await place('broken/cut.jpg', jpeg.subarray(0, 60));
    agent = await startAgent([out]);
    controller = await startProcess('controller', [
      '--dest',
      dest,
      '--agent',
      `gpu1=${agent.url}`,
      '--interval',
      '1h',
    ]);
    await waitUntil(
      'the first sync to finish',
      async () => {
        const status = (await (await get('/v1/status')).json()) as ControllerStatus;
        return status.lastRun && !status.syncing ? status.lastRun : undefined;
      },
      { timeoutMs: 60_000, everyMs: 50 },
    );
    const page = (await (await get('/v1/files?limit=100')).json()) as { items: Detail[] };
    for (const hit of page.items) ids.set(hit.containerPath.replace(/^output\//, ''), hit.id);
    expect(ids.size).toBe(4);
  }, 90_000);

  afterAll(async () => {
    await controller?.stop();
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('gives one record with every field, the raw infotext, and its host path', async () => {
    const id = ids.get('txt2img-images/2026-11-24/00000-235284042.png')!;
    const response = await get(`/v1/files/${id}`);
    expect(response.status).toBe(200);
    const file = (await response.json()) as Detail;
    expect(file).toMatchObject({ id, seed: '235284042', prompt: 'photo of a duck', purgedAt: null });
    expect(file).toMatchObject({ kind: 'image', pixelWidth: 1, pixelHeight: 1, destPath: dest });
    expect(file.destHost).toBe(hostname());
    expect(file.metadata?.raw).toContain('Negative prompt: monochrome');
    expect(file.xxh64).toMatch(/^[0-9a-f]{16}$/);
    expect(file.hostPath).toBe(join(dest, file.storedPath));
    expect((await get('/v1/files/999999')).status).toBe(404);
    expect((await get('/v1/files/abc')).status).toBe(400);
  });

  it('serves the stored bytes with their type, an ETag from the hash, and byte ranges', async () => {
    const id = ids.get('txt2img-images/2026-11-24/00001-235284042.jpg')!;
    const file = (await (await get(`/v1/files/${id}`)).json()) as Detail;
    const bytes = await readFile(file.hostPath);
    const whole = await get(`/v1/files/${id}/content`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('image/jpeg');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('etag')).toBe(`"${file.xxh64}"`);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);

    const part = await get(`/v1/files/${id}/content`, { ...auth, range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);
    const tail = await get(`/v1/files/${id}/content`, { ...auth, range: 'bytes=-5' });
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(-5))).toBe(true);
    const past = await get(`/v1/files/${id}/content`, { ...auth, range: `bytes=${bytes.length}-` });
    expect(past.status).toBe(416);
    const again = await get(`/v1/files/${id}/content`, { ...auth, 'if-none-match': `"${file.xxh64}"` });
    expect(again.status).toBe(304);
  });

  it('makes WebP thumbnails once, caches them by content hash, and gives a placeholder for a broken image', async () => {
    const id = ids.get('ComfyUI_00002_.png')!;
    const first = await get(`/v1/files/${id}/thumbnail?size=128`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/webp');
    const image = sharp(Buffer.from(await first.arrayBuffer()));
    const { format, width, height } = await image.metadata();
    expect(format).toBe('webp');
    expect(Math.max(width, height)).toBeLessThanOrEqual(128);
    const file = (await (await get(`/v1/files/${id}`)).json()) as Detail;
    const shard = join(dest, '.forge-sync/thumbs', file.xxh64.slice(0, 2));
    expect(await readdir(shard)).toEqual([`${file.xxh64}-128.webp`]);
    expect((await get(`/v1/files/${id}/thumbnail?size=77`)).status).toBe(400);

    const broken = await get(`/v1/files/${ids.get('broken/cut.jpg')!}/thumbnail`);
    expect(broken.status).toBe(200);
    expect(broken.headers.get('x-forge-sync-placeholder')).toBe('1');
  });

  it('needs the token or a session on every route, never takes it in the URL, and guards state changes against CSRF', async () => {
    const id = ids.get('ComfyUI_00002_.png')!;
    for (const path of [`/v1/files/${id}`, `/v1/files/${id}/content`, `/v1/files/${id}/thumbnail`]) {
      expect((await get(path, {})).status).toBe(401);
      expect((await get(`${path}${path.includes('?') ? '&' : '?'}token=${TOKEN}`, {})).status).toBe(401);
    }
    // A session can only be opened with the token itself.
    expect((await fetch(`${controller.url}/v1/session`, { method: 'POST' })).status).toBe(401);
    const opened = await fetch(`${controller.url}/v1/session`, { method: 'POST', headers: auth });
    expect(opened.status).toBe(201);
    const setCookie = opened.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const { csrf } = (await opened.json()) as { csrf: string };
    const cookie = setCookie.split(';')[0]!;
    expect((await get(`/v1/files/${id}`, { cookie })).status).toBe(200);
    // A state change on the cookie alone is what a forged cross-site request looks like: refused.
    const sync = (headers: Record<string, string>) =>
      fetch(`${controller.url}/v1/sync`, { method: 'POST', headers });
    expect((await sync({ cookie })).status).toBe(401);
    expect((await sync({ cookie, 'x-forge-sync-csrf': 'guess' })).status).toBe(401);
    // A session has the access of the token that opened it: the read token's only reads.
    const forbidden = await sync({ cookie, 'x-forge-sync-csrf': csrf });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('E_FORBIDDEN');
    const control = await fetch(`${controller.url}/v1/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PURGE_TOKEN}` },
    });
    const controlCookie = control.headers.get('set-cookie')!.split(';')[0]!;
    const controlCsrf = ((await control.json()) as { csrf: string }).csrf;
    expect((await sync({ cookie: controlCookie, 'x-forge-sync-csrf': controlCsrf })).status).toBe(202);
    const closed = await fetch(`${controller.url}/v1/session`, {
      method: 'DELETE',
      headers: { cookie, 'x-forge-sync-csrf': csrf },
    });
    expect(closed.status).toBe(204);
    expect((await get(`/v1/files/${id}`, { cookie })).status).toBe(401);
  });

  it('serves a catalog with --serve-only: no agents, no Docker, no syncs (the demo prints this)', async () => {
    const served = await startProcess('controller', ['--dest', join(work.path, 'served'), '--serve-only']);
    try {
      const answer = await fetch(`${served.url}/v1/files`, { headers: auth });
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { items: unknown[] }).items).toEqual([]);
      expect((await fetch(`${served.url}/gallery`)).status).toBe(200);
    } finally {
      await served.stop();
    }
  });
});
