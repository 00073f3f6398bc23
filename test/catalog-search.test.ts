// Catalog search as issue 12 asks for it, on PGlite and PostgreSQL: word parts, numeric seeds, LoRA and sampler filters, raw metadata and ComfyUI graph strings.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SearchQuery, StoredFileRecord } from '../controller/catalog/catalog.js';
import { openPgliteClient } from '../controller/catalog/pglite-client.js';
import { openPostgresClient } from '../controller/catalog/postgres-client.js';
import { SqlCatalog } from '../controller/catalog/sql-catalog.js';
import type { SqlClient } from '../controller/catalog/sql-client.js';
import { extractMetadata } from '../controller/metadata/extract.js';
import { METADATA_READER_VERSION } from '../common/generation-metadata.js';
import { jpeg, tiff, userComment } from './fixtures/media-builders.js';
import { describePg, freshDatabase } from './helpers/postgres.js';
import { tempDir } from './helpers/processes.js';
import { writeFile } from 'node:fs/promises';

interface Backend {
  name: string;
  open(): Promise<{ client: SqlClient; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'PGlite',
    async open() {
      const dir = await tempDir('fms-search-');
      return {
        client: await openPgliteClient(join(dir.path, 'catalog')),
        dispose: () => dir[Symbol.asyncDispose](),
      };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const db = await freshDatabase();
      return { client: await openPostgresClient(db.url), dispose: () => db[Symbol.asyncDispose]() };
    },
  },
];

let n = 0;
function record(containerPath: string, metadata: StoredFileRecord['metadata']): StoredFileRecord {
  n++;
  return {
    agent: 'gpu1',
    containerPath,
    storedPath: `gpu1/${containerPath}`,
    size: 100,
    mtimeMs: 1,
    xxh64: n.toString(16).padStart(16, '0'),
    syncedAt: new Date('2026-12-01T00:00:00Z'),
    runId: 'run-1',
    metadata,
  };
}

for (const backend of backends) {
  const suite = backend.name === 'PostgreSQL' ? describePg : describe;
  suite(`catalog search on ${backend.name}`, () => {
    let catalog: SqlCatalog;
    let client: SqlClient;
    let dispose: () => Promise<void>;

    beforeEach(async () => {
      const opened = await backend.open();
      client = opened.client;
      dispose = opened.dispose;
      catalog = await SqlCatalog.open(client);
      const dir = await tempDir('fms-search-files-');
      // A real file through the real reader: metadata no reader knows, kept raw.
      const odd = join(dir.path, 'odd.jpg');
      await writeFile(
        odd,
        jpeg(tiff({ le: true, exif: [userComment('made with Zorblax: teal_lagoon at noon', 'ascii')] })),
      );
      const oddMeta = await extractMetadata(odd);
      await dir[Symbol.asyncDispose]();
      await catalog.recordStored([
        record('a.png', {
          source: 'a1111',
          prompt: '1girl, solo, blue_hair, (masterpiece:1.2)',
          seed: 970527942,
          sampler: 'DPM++ 2M',
          loras: [{ name: 'add_detail', strength: 0.5, civitaiVersionId: 62833 }],
        }),
        record('b.png', {
          source: 'comfyui',
          prompt: 'landscape, mountains',
          seed: '93806664037998',
          sampler: 'euler',
          loras: [{ name: 'Pixel_Art_XL' }],
          comfyPrompt: {
            '9': {
              class_type: 'SomeCustomPromptNode',
              inputs: { styled_text: 'cyberpunk alleyway neon', count: 3 },
            },
          },
        }),
        record('c.png', { source: 'a1111', prompt: 'two girls, 2girls', seed: '18446744073709551615' }),
        record('odd.jpg', oddMeta),
      ]);
    });

    afterEach(async () => {
      await catalog.close();
      await dispose();
    });

    const paths = async (query: Omit<SearchQuery, 'limit'>): Promise<string[]> =>
      (await catalog.search({ limit: 50, ...query })).items.map((hit) => hit.containerPath).sort();

    it('finds word parts and prefixes: girl finds 1girl, tags with underscores and parentheses', async () => {
      expect(await paths({ text: 'girl' })).toEqual(['a.png', 'c.png']);
      expect(await paths({ text: '1girl' })).toEqual(['a.png']);
      expect(await paths({ text: 'blue_hair' })).toEqual(['a.png']);
      expect(await paths({ text: 'hair' })).toEqual(['a.png']);
      expect(await paths({ text: '(masterpiece:1.2)' })).toEqual(['a.png']);
      expect(await paths({ text: 'master' })).toEqual(['a.png']);
      expect(await paths({ text: 'girl -solo' })).toEqual(['c.png']);
    });

    it('finds raw metadata no reader understood, and any string input of a ComfyUI graph', async () => {
      expect(await paths({ text: 'zorblax' })).toEqual(['odd.jpg']);
      expect(await paths({ text: 'lagoon' })).toEqual(['odd.jpg']);
      expect(await paths({ text: 'cyberpunk alleyway' })).toEqual(['b.png']);
      const [odd] = (await catalog.search({ limit: 1, text: 'zorblax' })).items;
      expect(odd).toMatchObject({
        metaSource: 'unknown',
        metaError: 'metadata in EXIF UserComment is in no format this reader knows; kept as raw text',
      });
    });

    it('keeps seeds as exact integers, compared numerically', async () => {
      expect(await paths({ seed: '970527942' })).toEqual(['a.png']);
      expect(await paths({ seed: '18446744073709551615' })).toEqual(['c.png']);
      const { rows } = await client.query<{ container_path: string }>(
        'SELECT container_path FROM files WHERE seed IS NOT NULL ORDER BY seed',
      );
      expect(rows.map((row) => row.container_path)).toEqual(['a.png', 'b.png', 'c.png']);
      const { rows: big } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM files WHERE seed > 1000000000',
      );
      expect(big[0]!.n).toBe(2);
    });

    it('filters by LoRA name part and sampler in any case; LoRA names are words too', async () => {
      expect(await paths({ lora: 'pixel_art' })).toEqual(['b.png']);
      expect(await paths({ lora: 'DETAIL' })).toEqual(['a.png']);
      expect(await paths({ lora: '%' })).toEqual([]);
      expect(await paths({ lora: 'mountains' })).toEqual([]); // a prompt word, not a LoRA
      expect(await paths({ sampler: 'dpm++ 2m' })).toEqual(['a.png']);
      expect(await paths({ sampler: 'EULER', text: 'mountains' })).toEqual(['b.png']);
      expect(await paths({ text: 'add_detail' })).toEqual(['a.png']);
    });

    it('records the metadata reader version', async () => {
      const { rows } = await client.query<{ v: number | null; n: number }>(
        'SELECT meta_version AS v, count(*)::int AS n FROM files GROUP BY meta_version',
      );
      expect(rows).toEqual([{ v: METADATA_READER_VERSION, n: 4 }]);
    });
  });
}
