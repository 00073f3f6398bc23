// buildRecords with Forge .txt sidecars: the sidecar is read as infotext, and the image without metadata of its own takes it.
import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../../common/manifest.js';
import { buildRecords } from './build-records.js';
import { extractFromSource } from '../metadata/extract.js';
import type { ByteSource } from '../metadata/byte-source.js';
import { IDAT, png } from '../../test/fixtures/media-builders.js';

const bufferSource = (bytes: Buffer): ByteSource => ({
  size: bytes.length,
  read: (offset: number, length: number) => Promise.resolve(bytes.subarray(offset, offset + length)),
});

const entry = (path: string): ManifestEntry => ({ path, size: 1, mtimeMs: 1, xxh64: '0'.repeat(16) });
const INFOTEXT = 'photo of a duck\nSteps: 15, Sampler: UniPC, Seed: 235284042, Size: 512x400';

describe('Forge .txt sidecar', () => {
  it('is read as infotext by its name; other text files stay none', async () => {
    expect(
      await extractFromSource(bufferSource(Buffer.from(INFOTEXT)), 'out/00000-235284042.txt'),
    ).toMatchObject({
      source: 'a1111',
      prompt: 'photo of a duck',
      seed: 235284042,
      sampler: 'UniPC',
      width: 512,
      height: 400,
    });
    expect(await extractFromSource(bufferSource(Buffer.from('shopping list: eggs')), 'notes.txt')).toEqual({
      source: 'none',
    });
  });

  it('lends its metadata to the image beside it, from the batch or the catalog, linked by metaFrom', async () => {
    const image = await extractFromSource(bufferSource(png(IDAT)), 'out/00000-235284042.png');
    const sidecar = await extractFromSource(bufferSource(Buffer.from(INFOTEXT)), 'out/00000-235284042.txt');
    expect(image).toEqual({ source: 'none' });
    const ctx = {
      agent: 'gpu1',
      runId: 'r',
      syncedAt: new Date(0),
      provenance: {},
      catalog: { findMetadata: () => Promise.resolve(new Map([['out/00000-235284042.txt', sidecar]])) },
    };
    const together = await buildRecords(
      [
        {
          entry: entry('out/00000-235284042.png'),
          storedPath: 'gpu1/out/00000-235284042.png',
          metadata: image,
        },
        {
          entry: entry('out/00000-235284042.txt'),
          storedPath: 'gpu1/out/00000-235284042.txt',
          metadata: sidecar,
        },
      ],
      { ...ctx, catalog: { findMetadata: () => Promise.resolve(new Map()) } },
    );
    expect(together[0]).toMatchObject({
      metaFrom: 'out/00000-235284042.txt',
      metadata: { prompt: 'photo of a duck' },
    });
    expect(together[1]!.metaFrom).toBeUndefined();
    const later = await buildRecords(
      [
        {
          entry: entry('out/00000-235284042.png'),
          storedPath: 'gpu1/out/00000-235284042.png',
          metadata: image,
        },
      ],
      ctx,
    );
    expect(later[0]).toMatchObject({ metaFrom: 'out/00000-235284042.txt', metadata: { seed: 235284042 } });
  });

  it('asks the catalog once per batch, for the companions the batch does not carry', async () => {
    const asked: string[][] = [];
    const none = { source: 'none' } as const;
    const records = await buildRecords(
      [
        { entry: entry('out/1.png'), storedPath: 'gpu1/out/1.png', metadata: none },
        { entry: entry('out/2.png'), storedPath: 'gpu1/out/2.png', metadata: none },
        { entry: entry('out/3.png'), storedPath: 'gpu1/out/3.png', metadata: { source: 'a1111', seed: 3 } },
        { entry: entry('out/clip.mp4'), storedPath: 'gpu1/out/clip.mp4', metadata: none },
        {
          entry: entry('out/clip.png'),
          storedPath: 'gpu1/out/clip.png',
          metadata: { source: 'comfyui', seed: 9 },
        },
      ],
      {
        agent: 'gpu1',
        runId: 'r',
        syncedAt: new Date(0),
        provenance: {},
        catalog: {
          findMetadata: (_agent: string, paths: readonly string[]) => {
            asked.push([...paths]);
            return Promise.resolve(new Map([['out/2.txt', { source: 'a1111' as const, seed: 2 }]]));
          },
        },
      },
    );
    expect(asked).toEqual([['out/1.txt', 'out/2.txt']]);
    expect(records.map((record) => record.metaFrom ?? null)).toEqual([
      null,
      'out/2.txt',
      null,
      'out/clip.png',
      null,
    ]);
  });
});
