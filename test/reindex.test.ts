// forge-sync reindex on a real destination and embedded catalog: older readings are re-read from the stored copies.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredFileRecord } from '../controller/catalog/catalog.js';
import { SqlCatalog } from '../controller/catalog/sql-catalog.js';
import { METADATA_READER_VERSION } from '../controller/metadata/generation-metadata.js';
import { jpeg, tiff, userComment } from '../controller/metadata/test-samples.js';
import { openStore } from '../controller/store.js';
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
