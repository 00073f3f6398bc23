// Unit tests for the column table: what an insert writes, and how rows read back as metadata, hits and details.
import { describe, expect, it } from 'vitest';
import type { GenerationMetadata } from '../../common/generation-metadata.js';
import type { StoredFileRecord } from './catalog.js';
import {
  detailOf,
  HIT_SELECT,
  hitOf,
  INSERT_COLUMNS,
  insertRowJson,
  METADATA_SELECT,
  metadataOf,
  READING_COLUMNS,
  readingValues,
} from './file-columns.js';

const metadata: GenerationMetadata = {
  source: 'a1111',
  raw: 'castle\nSteps: 20',
  prompt: 'castle',
  seed: '18446744073709551615',
  steps: 20,
  cfg: 7.5,
  model: 'dreamshaper',
  loras: [{ name: 'pixel', strength: 0.8 }],
  params: { Steps: '20' },
};

const record: StoredFileRecord = {
  agent: 'gpu1',
  containerPath: 'output/a.png',
  storedPath: 'gpu1/output/a.png',
  size: 1234,
  mtimeMs: 1_700_000_000_000,
  xxh64: '0123456789abcdef',
  runId: 'run-1',
  syncedAt: new Date('2026-01-02T03:04:05.000Z'),
  provenance: { host: 'box', containerName: 'forge' },
  metadata,
  media: { kind: 'image', width: 512, height: 768 },
};

/** The row an insert writes for `record`, every insert column present (null where the JSON row leaves it out). */
function insertedRow(destId: number | null): Record<string, unknown> {
  const json = JSON.parse(insertRowJson(record, destId)) as Record<string, unknown>;
  return Object.fromEntries(INSERT_COLUMNS.map((column) => [column.name, json[column.name] ?? null]));
}

describe('file columns', () => {
  it.each<[string, string, unknown]>([
    ['agent', 'agent', 'gpu1'],
    ['synced_at as ISO text', 'synced_at', '2026-01-02T03:04:05.000Z'],
    ['provenance host', 'host', 'box'],
    ['absent provenance as null', 'container_id', null],
    ['the destination', 'dest_id', 7],
    ['a NUMERIC seed as exact text', 'seed', '18446744073709551615'],
    ['JSONB as itself', 'loras', [{ name: 'pixel', strength: 0.8 }]],
    ['absent JSONB as null', 'comfy_workflow', null],
    ['the media kind', 'media_kind', 'image'],
    ['the reader version', 'meta_version', expect.any(Number)],
  ])('an insert writes %s', (_name, column, want) => {
    expect(insertedRow(7)[column]).toEqual(want);
  });

  it('writes a lone surrogate as U+FFFD, as a bound parameter did, and keeps pairs and escaped backslashes', () => {
    const odd = { ...record, metadata: { ...metadata, prompt: 'a\ud800b \\ud800 \ud83d\ude00 \\\udc00' } };
    const row = JSON.parse(insertRowJson(odd, null)) as { prompt: string };
    expect(row.prompt).toBe('a\ufffdb \\ud800 \ud83d\ude00 \\\ufffd');
  });

  it('writes no reader version without metadata, and a reindex rewrites only reading columns', () => {
    const values = readingValues({ media: { kind: 'video' } });
    const at = (name: string) => values[READING_COLUMNS.findIndex((column) => column.name === name)];
    expect(at('meta_version')).toBeNull();
    expect(at('media_kind')).toBe('video');
    expect(READING_COLUMNS.map((column) => column.name)).not.toContain('agent');
  });

  it('reads the metadata an insert wrote back whole', () => {
    const row = insertedRow(null);
    expect(metadataOf(row)).toEqual(metadata);
    expect(metadataOf({ ...row, meta_source: null })).toBeNull();
  });

  it('reads a hit and a detail, numbers from text and times as ISO', () => {
    const row = {
      ...insertedRow(null),
      id: '42',
      size: '1234',
      purged_at: null,
      starred_at: new Date('2026-02-01T00:00:00Z'),
      xxh64: '0123456789abcdef',
    };
    expect(hitOf(row)).toMatchObject({ id: 42, size: 1234, seed: '18446744073709551615', kind: 'image' });
    expect(Object.keys(hitOf(row))).toEqual(expect.arrayContaining(['purgedAt', 'pixelHeight']));
    expect(detailOf(row)).toMatchObject({
      id: 42,
      xxh64: '0123456789abcdef',
      starredAt: '2026-02-01T00:00:00.000Z',
      provenance: { host: 'box', containerName: 'forge' },
    });
  });

  it('selects NUMERIC seeds as text', () => {
    expect(HIT_SELECT).toContain('seed::text AS seed');
    expect(METADATA_SELECT).toContain('seed::text AS seed');
  });
});
