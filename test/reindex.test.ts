// forge-sync reindex on a real destination and embedded catalog: older readings are re-read from the stored copies.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredFileRecord } from '../controller/catalog/catalog.js';
import { SqlCatalog } from '../controller/catalog/sql-catalog.js';
import { METADATA_READER_VERSION } from '../common/generation-metadata.js';
import { stealthPng } from './fixtures/stealth-samples.js';
import { FTYP, IDAT, box, jpeg, png, tEXt, tiff, userComment } from './fixtures/media-builders.js';
import { openStore } from '../controller/host-store/open-store.js';
import { runCli, tempDir } from './helpers/processes.js';

const GRAPH = {
  '3': {
    class_type: 'KSampler',
    inputs: {
      seed: 5,
      steps: 8,
      cfg: 2,
      sampler_name: 'euler',
      scheduler: 'normal',
      model: ['4', 0],
      positive: ['6', 0],
    },
  },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'turbo.safetensors' } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'an origami crane' } },
};

function record(n: number, path: string, meta: StoredFileRecord['metadata']): StoredFileRecord {
  return {
    agent: 'gpu1',
    containerPath: path,
    storedPath: `gpu1/${path}`,
    size: 1,
    mtimeMs: 1,
    xxh64: n.toString(16).padStart(16, '0'),
    syncedAt: new Date('2026-12-01T00:00:00Z'),
    runId: 'r',
    metadata: meta,
  };
}

describe('forge-sync reindex', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let dest: string;

  beforeEach(async () => {
    work = await tempDir('fms-reindex-');
    dest = join(work.path, 'dest');
    // A ComfyUI JPEG that reader version 1 catalogued as `none`, a file read by the current
    // reader (not re-read without --all), and a row whose stored copy is gone.
    const comfy = jpeg(tiff({ le: true, ifd0: [userComment(JSON.stringify({ prompt: GRAPH }), 'raw')] }));
    await mkdir(join(dest, 'gpu1'), { recursive: true });
    await writeFile(join(dest, 'gpu1/ComfyUI_00001_.jpg'), comfy);
    await writeFile(join(dest, 'gpu1/current.jpg'), comfy);
    const store = await openStore(dest);
    try {
      await store.catalog.recordStored([
        record(1, 'ComfyUI_00001_.jpg', { source: 'none' }),
        record(2, 'current.jpg', { source: 'none' }),
        record(3, 'gone.png', { source: 'none' }),
      ]);
      const catalog = store.catalog as SqlCatalog;
      await catalog['db'].query(`UPDATE files SET meta_version = 1 WHERE container_path <> 'current.jpg'`);
    } finally {
      await store.close();
    }
  });

  afterEach(async () => {
    await work[Symbol.asyncDispose]();
  });

  const rows = async () => {
    const store = await openStore(dest);
    try {
      const page = await store.catalog.search({ limit: 10 });
      return Object.fromEntries(page.items.map((hit) => [hit.containerPath, hit]));
    } finally {
      await store.close();
    }
  };

  it('re-reads rows written by an older reader, in batches with progress, and leaves current ones', async () => {
    const result = await runCli(['reindex', '--dest', dest, '--batch', '1']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      'reindexed 1/2 (1 updated, 0 missing)',
      'reindexed 2/2 (1 updated, 1 missing)',
      'done: 1 updated, 1 stored copies missing, of 2',
    ]);
    const after = await rows();
    expect(after['ComfyUI_00001_.jpg']).toMatchObject({
      metaSource: 'comfyui',
      prompt: 'an origami crane',
      seed: '5',
      model: 'turbo.safetensors',
      sampler: 'euler',
    });
    expect(after['current.jpg']).toMatchObject({ metaSource: 'none', prompt: null });
    expect(after['gone.png']).toMatchObject({ metaSource: 'none' });

    const again = await runCli(['reindex', '--dest', dest, '--json']);
    expect(
      again.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      { type: 'progress', done: 1, total: 1, updated: 0, missing: 1 },
      { type: 'summary', done: 1, total: 1, updated: 0, missing: 1 },
    ]);
  });

  it('re-reads every row with --all', async () => {
    const result = await runCli(['reindex', '--dest', dest, '--all', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual({
      type: 'summary',
      done: 3,
      total: 3,
      updated: 2,
      missing: 1,
    });
    expect((await rows())['current.jpg']).toMatchObject({
      metaSource: 'comfyui',
      prompt: 'an origami crane',
    });
    const store = await openStore(dest);
    try {
      const { rows: versions } = await (store.catalog as SqlCatalog)['db'].query<{ v: number }>(
        "SELECT meta_version AS v FROM files WHERE container_path <> 'gone.png'",
      );
      expect(versions).toEqual([{ v: METADATA_READER_VERSION }, { v: METADATA_READER_VERSION }]);
    } finally {
      await store.close();
    }
  });

  it('rejects bad input with one line and a non-zero exit', async () => {
    const noDest = await runCli(['reindex']);
    expect(noDest.code).toBe(2);
    expect(noDest.stderr).toBe('forge-sync: --dest DIR is required: the stored copies are read from there\n');
    const badBatch = await runCli(['reindex', '--dest', dest, '--batch', '0']);
    expect(badBatch.code).toBe(2);
    expect(badBatch.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('forge-sync reindex after reader 3', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let dest: string;
  const INFOTEXT = 'a paper boat\nNegative prompt: rain\nSteps: 12, Sampler: Euler, Seed: 77, Size: 64x64';

  beforeEach(async () => {
    work = await tempDir('fms-reindex3-');
    dest = join(work.path, 'dest');
    await mkdir(join(dest, 'gpu1'), { recursive: true });
    // A VideoHelperSuite pair: the first-frame PNG with the graph, the video borrowing it; and a
    // PNG whose infotext is hidden in its pixels, which reader 2 did not look for.
    const tkhd = Buffer.alloc(84);
    tkhd.writeUInt32BE(640 * 65536, 76);
    tkhd.writeUInt32BE(360 * 65536, 80);
    await writeFile(join(dest, 'gpu1/clip.png'), png(tEXt('prompt', JSON.stringify(GRAPH)), IDAT));
    await writeFile(
      join(dest, 'gpu1/clip.mp4'),
      Buffer.concat([FTYP, box('moov', box('trak', box('tkhd', tkhd)))]),
    );
    await writeFile(
      join(dest, 'gpu1/hidden.png'),
      stealthPng({
        width: 64,
        height: 64,
        channels: 4,
        hide: { signature: 'stealth_pnginfo', text: INFOTEXT },
      }),
    );
    const store = await openStore(dest);
    try {
      const stale = { source: 'comfyui' as const, prompt: 'stale' };
      await store.catalog.recordStored([
        record(1, 'clip.png', stale),
        { ...record(2, 'clip.mp4', stale), metaFrom: 'clip.png' },
        record(3, 'hidden.png', { source: 'none' }),
      ]);
      await (store.catalog as SqlCatalog)['db'].query('UPDATE files SET meta_version = 2');
    } finally {
      await store.close();
    }
  });

  afterEach(async () => {
    await work[Symbol.asyncDispose]();
  });

  it("fills kind and pixel size, reads stealth info, and a borrowing video takes its frame's new reading", async () => {
    const result = await runCli(['reindex', '--dest', dest, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual({
      type: 'summary',
      done: 3,
      total: 3,
      updated: 3,
      missing: 0,
    });
    const store = await openStore(dest);
    try {
      const page = await store.catalog.search({ limit: 10 });
      const by = Object.fromEntries(page.items.map((hit) => [hit.containerPath, hit]));
      expect(by['clip.png']).toMatchObject({
        prompt: 'an origami crane',
        kind: 'image',
        pixelWidth: 1,
        pixelHeight: 1,
      });
      expect(by['clip.mp4']).toMatchObject({
        prompt: 'an origami crane',
        kind: 'video',
        pixelWidth: 640,
        pixelHeight: 360,
      });
      expect((await store.catalog.getFile(by['clip.mp4']!.id))?.metaFrom).toBe('clip.png');
      expect(by['hidden.png']).toMatchObject({
        metaSource: 'a1111',
        prompt: 'a paper boat',
        negativePrompt: 'rain',
        seed: '77',
        kind: 'image',
        pixelWidth: 64,
        pixelHeight: 64,
        destPath: dest,
      });
    } finally {
      await store.close();
    }
  });
});
