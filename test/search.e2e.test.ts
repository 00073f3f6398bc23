// Generation metadata at ingest and search: real samples synced, then found by prompt, seed and model, from the CLI and the controller.
import { copyFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakePng } from './helpers/files.js';
import {
  type Started,
  TOKEN,
  runCli,
  startAgent,
  startProcess,
  syncJson,
  tempDir,
} from './helpers/processes.js';

const SAMPLES = fileURLToPath(new URL('fixtures/sd-parsers/', import.meta.url));
const OLD = new Date(Date.now() - 3_600_000);

/** A minimal MP4 that is structurally complete: ftyp, mdat, moov. */
function tinyMp4(): Buffer {
  const box = (type: string, body: Buffer): Buffer => {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(8 + body.length, 0);
    header.write(type, 4, 'latin1');
    return Buffer.concat([header, body]);
  };
  return Buffer.concat([
    box('ftyp', Buffer.from('isom\0\0\0\0isomavc1')),
    box('mdat', Buffer.alloc(256, 7)),
    box('moov', Buffer.alloc(32)),
  ]);
}

interface Hit {
  agent: string;
  containerPath: string;
  storedPath: string;
  hostPath: string;
  seed: string | null;
  model: string | null;
  prompt: string | null;
  sampler: string | null;
  steps: number | null;
  metaSource: string | null;
  kind: string | null;
  pixelWidth: number | null;
  pixelHeight: number | null;
  destPath: string | null;
}

describe('metadata and search', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let agent: Started;

  async function place(rel: string, from: string | Buffer, made = OLD): Promise<void> {
    const path = join(out, rel);
    await mkdir(dirname(path), { recursive: true });
    if (typeof from === 'string') await copyFile(join(SAMPLES, from), path);
    else await writeFile(path, from);
    await utimes(path, made, made);
  }

  async function search(...args: string[]): Promise<{ items: Hit[]; nextCursor: string | null }> {
    const result = await runCli(['search', ...args, '--dest', dest, '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { items: Hit[]; nextCursor: string | null };
  }

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    await place('txt2img-images/2026-11-24/00000-235284042.png', 'AUTOMATIC1111/automatic1111_cropped.png');
    await place('txt2img-images/2026-11-24/00001-235284042.jpg', 'AUTOMATIC1111/automatic1111_cropped.jpg');
    await place('ComfyUI_00001_.png', 'ComfyUI/img2img_cropped.png');
    await place('ComfyUI_00002_.png', 'ComfyUI/night_evening_day_morning_cropped.png');
    await place('broken/text_after_idat.png', 'bad_images/text_after_idat.png');
    await place('broken/empty_image.png', 'bad_images/empty_image.png');
    await place('video/AnimateDiff_00001.png', 'ComfyUI/img2img_cropped.png');
    await place('video/AnimateDiff_00001.mp4', tinyMp4());
    // Made at 23:30 local time on 20 November: the day's end, where a day filter must still hold it.
    await place('plain.png', fakePng(64), new Date(2026, 10, 20, 23, 30));
    agent = await startAgent([out]);
    const result = await syncJson(dest, { gpu1: agent.url }, ['--events', join(work.path, 'events.ndjson')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.summary!.totals).toMatchObject({ filesTransferred: 9, errors: 0 });
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('finds the A1111 image by a prompt word, with its host path and parameters', async () => {
    const page = await search('duck');
    const paths = page.items.map((hit) => hit.containerPath).sort();
    // The zTXt infotext after IDAT in the 'broken' sample is the same duck.
    expect(paths).toEqual([
      'output/broken/text_after_idat.png',
      'output/txt2img-images/2026-11-24/00000-235284042.png',
      'output/txt2img-images/2026-11-24/00001-235284042.jpg',
    ]);
    const png = page.items.find((hit) => hit.containerPath.endsWith('/00000-235284042.png'))!;
    expect(png).toMatchObject({
      agent: 'gpu1',
      seed: '235284042',
      model: 'realistic_realisticVisionV20_v20',
      sampler: 'UniPC',
      steps: 15,
      prompt: 'photo of a duck',
      metaSource: 'a1111',
      storedPath: 'gpu1/output/txt2img-images/2026-11-24/00000-235284042.png',
      hostPath: join(dest, 'gpu1/output/txt2img-images/2026-11-24/00000-235284042.png'),
    });
  });

  it('finds by seed and by model, and links a VideoHelperSuite video to its first frame', async () => {
    const bySeed = await search('--seed', '280823642470253');
    expect(bySeed.items.map((hit) => hit.containerPath).sort()).toEqual([
      'output/ComfyUI_00001_.png',
      'output/video/AnimateDiff_00001.mp4',
      'output/video/AnimateDiff_00001.png',
    ]);
    const byModel = await search('--model', 'V1-5-PRUNED');
    expect(byModel.items.every((hit) => hit.model === 'v1-5-pruned-emaonly.ckpt')).toBe(true);
    expect(byModel.items.length).toBeGreaterThanOrEqual(3);
    const byPhrase = await search('"victorian woman"', '--agent', 'gpu1');
    expect(byPhrase.items.map((hit) => hit.containerPath)).toContain('output/video/AnimateDiff_00001.mp4');
    expect(await search('duck', '--agent', 'gpu2')).toEqual({ items: [], nextCursor: null });
  });

  it('stores files without metadata or with broken metadata all the same', async () => {
    const all = await search('--limit', '1000');
    expect(all.items).toHaveLength(9);
    const plain = all.items.find((hit) => hit.containerPath === 'output/plain.png')!;
    expect(plain).toMatchObject({ metaSource: 'none', prompt: null });
    const empty = all.items.find((hit) => hit.containerPath === 'output/broken/empty_image.png')!;
    expect(empty.metaSource).toBe('none');
  });

  it('writes one file.stored event per catalogued file, after it is on the host', async () => {
    const lines = (await readFile(join(work.path, 'events.ndjson'), 'utf8')).trim().split('\n');
    const events = lines.map(
      (line) =>
        JSON.parse(line) as {
          type: string;
          v: number;
          hostPath: string;
          containerPath: string;
          xxh64: string;
          metadata: { seed?: number };
        },
    );
    expect(events).toHaveLength(9);
    expect(new Set(events.map((event) => event.type))).toEqual(new Set(['file.stored']));
    for (const event of events) {
      expect(event.v).toBe(1);
      expect((await readFile(event.hostPath)).length).toBeGreaterThan(0);
    }
    const duck = events.find(
      (event) => event.containerPath === 'output/txt2img-images/2026-11-24/00000-235284042.png',
    )!;
    expect(duck.metadata.seed).toBe(235284042);
  });

  it('pages through results with a cursor, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Hit[]; nextCursor: string | null } = await search(
        '--limit',
        '4',
        ...(cursor ? ['--cursor', cursor] : []),
      );
      expect(page.items.length).toBeLessThanOrEqual(4);
      seen.push(...page.items.map((hit) => hit.containerPath));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(9);
    expect(new Set(seen).size).toBe(9);
  });

  it('gives each file its media kind and pixel size, and filters by kind', async () => {
    const all = await search('--limit', '1000');
    const kinds = Object.fromEntries(
      all.items.map((hit) => [hit.containerPath, [hit.kind, hit.pixelWidth, hit.pixelHeight]]),
    );
    expect(kinds).toMatchObject({
      'output/txt2img-images/2026-11-24/00000-235284042.png': ['image', 1, 1],
      'output/txt2img-images/2026-11-24/00001-235284042.jpg': ['image', 1, 1],
      'output/video/AnimateDiff_00001.mp4': ['video', null, null],
      'output/plain.png': ['image', null, null],
    });
    // The video's metadata is its first frame's; what it is stays its own.
    const video = all.items.find((hit) => hit.containerPath === 'output/video/AnimateDiff_00001.mp4')!;
    expect(video).toMatchObject({ metaSource: 'comfyui', kind: 'video', destPath: dest });
    expect((await search('--kind', 'video')).items.map((hit) => hit.containerPath)).toEqual([
      'output/video/AnimateDiff_00001.mp4',
    ]);
    expect((await search('--kind', 'IMAGE', '--limit', '1000')).items).toHaveLength(8);
    const bad = await runCli(['search', '--kind', 'gif', '--dest', dest]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'forge-sync: --kind: expected one of image, animated, video, audio, other, got "gif"',
    );
  });

  it('finds files by the day or time they were made, in local time', async () => {
    const made = async (...range: string[]) =>
      (await search(...range, '--limit', '1000')).items.map((hit) => hit.containerPath).sort();
    expect(await made('--from', '2026-11-20', '--to', '2026-11-20')).toEqual(['output/plain.png']);
    expect(await made('--to', '2026-11-20T23:29')).toEqual([]);
    expect(await made('--from', '2026-11-20T23:30', '--to', '2026-11-21')).toEqual(['output/plain.png']);
    expect(await made('--from', '2026-11-21')).toHaveLength(8);
    expect(await made('--to', '2026-11-19')).toEqual([]);
    for (const [args, message] of [
      [
        ['--from', '2026-02-30'],
        '--from: expected a day like 2026-11-30 or a time like 2026-11-30T18:00, got "2026-02-30"',
      ],
      [
        ['--to', 'yesterday'],
        '--to: expected a day like 2026-11-30 or a time like 2026-11-30T18:00, got "yesterday"',
      ],
      [['--from', '2026-11-21', '--to', '2026-11-20'], '--from is after --to: nothing can match'],
    ] as const) {
      const result = await runCli(['search', ...args, '--dest', dest]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(`forge-sync: ${message}`);
    }
  });

  it('rejects a bad seed with one clear line', async () => {
    const result = await runCli(['search', '--seed', 'abc', '--dest', dest]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('forge-sync: --seed: expected a whole number, got "abc"');
  });

  it('answers GET /v1/files on the controller, paged and behind the token', async () => {
    const controller = await startProcess('controller', [
      '--dest',
      dest,
      '--agent',
      `gpu1=${agent.url}`,
      '--interval',
      '1h',
    ]);
    try {
      expect((await fetch(`${controller.url}/v1/files?q=duck`)).status).toBe(401);
      const response = await fetch(`${controller.url}/v1/files?q=duck&limit=1`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(response.status).toBe(200);
      const page = (await response.json()) as { items: Hit[]; nextCursor: string | null };
      expect(page.items).toHaveLength(1);
      expect(page.items[0]!.hostPath.startsWith(dest)).toBe(true);
      expect(page.nextCursor).not.toBeNull();
      const next = (await (
        await fetch(`${controller.url}/v1/files?q=duck&limit=1&cursor=${page.nextCursor}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).json()) as { items: Hit[]; nextCursor: string | null };
      expect(next.items).toHaveLength(1);
      expect(next.items[0]!.containerPath).not.toBe(page.items[0]!.containerPath);
      const videos = (await (
        await fetch(`${controller.url}/v1/files?kind=video`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).json()) as { items: Hit[] };
      expect(videos.items.map((hit) => [hit.containerPath, hit.kind])).toEqual([
        ['output/video/AnimateDiff_00001.mp4', 'video'],
      ]);
      const bad = await fetch(`${controller.url}/v1/files?seed=x`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(bad.status).toBe(400);
    } finally {
      await controller.stop();
    }
  });
});
