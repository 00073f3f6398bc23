// Migration 7 on PGlite and PostgreSQL: media kind and pixel size per row, the kind filter, destinations with absolute paths, model names by substring, planner statistics.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DestinationRef, StoredFileRecord } from '../controller/catalog/catalog.js';
import { openPgliteClient } from '../controller/catalog/pglite-client.js';
import { openPostgresClient } from '../controller/catalog/postgres-client.js';
import { RECENT_WINDOW } from '../controller/catalog/search-query.js';
import { SqlCatalog } from '../controller/catalog/sql-catalog.js';
import type { SqlClient } from '../controller/catalog/sql-client.js';
import { MIGRATIONS } from '../controller/catalog/migrations.js';
import { METADATA_READER_VERSION } from '../common/generation-metadata.js';
import { withHostPaths } from '../common/search.js';
import { describePg, freshDatabase } from './helpers/postgres.js';
import { tempDir } from './helpers/processes.js';

interface Backend {
  name: string;
  shared: boolean;
  /** A database, and a way to connect to it again (another controller, or a reopened one). */
  open(): Promise<{ connect(): Promise<SqlClient>; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'PGlite',
    shared: false,
    async open() {
      const dir = await tempDir('fms-media-');
      return {
        connect: () => openPgliteClient(join(dir.path, 'catalog')),
        dispose: () => dir[Symbol.asyncDispose](),
      };
    },
  },
  {
    name: 'PostgreSQL',
    shared: true,
    async open() {
      const db = await freshDatabase();
      return { connect: () => openPostgresClient(db.url), dispose: () => db[Symbol.asyncDispose]() };
    },
  },
];

let n = 0;
function record(
  containerPath: string,
  media: StoredFileRecord['media'],
  metadata: StoredFileRecord['metadata'] = { source: 'none' },
): StoredFileRecord {
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
    ...(media ? { media } : {}),
  };
}

const HERE: DestinationRef = { host: 'gpu-host-a', path: '/srv/media' };
const THERE: DestinationRef = { host: 'gpu-host-b', path: '/mnt/archive/sd' };

for (const backend of backends) {
  const suite = backend.name === 'PostgreSQL' ? describePg : describe;
  suite(`catalog media and destinations on ${backend.name}`, () => {
    let db: Awaited<ReturnType<Backend['open']>>;
    const open: SqlCatalog[] = [];

    const catalogOn = async (destination?: DestinationRef, ownsAllRows = false): Promise<SqlCatalog> => {
      const catalog = await SqlCatalog.open(await db.connect(), { destination, ownsAllRows });
      open.push(catalog);
      return catalog;
    };
    const close = async (catalog: SqlCatalog) => {
      open.splice(open.indexOf(catalog), 1);
      await catalog.close();
    };
    const sql = async <T>(catalog: SqlCatalog, text: string): Promise<T[]> =>
      (await catalog['db'].query<T & Record<string, unknown>>(text)).rows as T[];

    beforeEach(async () => {
      db = await backend.open();
    });

    afterEach(async () => {
      for (const catalog of open.splice(0)) await catalog.close();
      await db.dispose();
    });

    it('stores kind and pixel size, filters by kind, and says where each copy is', async () => {
      const catalog = await catalogOn(HERE);
      await catalog.recordStored([
        record('a.png', { kind: 'image', width: 832, height: 1216 }),
        record('b.webp', { kind: 'animated', width: 512, height: 512 }),
        record('v.mp4', { kind: 'video', width: 1280, height: 720 }, { source: 'comfyui', prompt: 'a wave' }),
        record('00000-1.txt', { kind: 'other' }),
        record('old.png', undefined),
      ]);
      const page = await catalog.search({ limit: 10 });
      expect(page.items.map((hit) => [hit.containerPath, hit.kind, hit.pixelWidth, hit.pixelHeight])).toEqual(
        [
          ['old.png', null, null, null],
          ['00000-1.txt', 'other', null, null],
          ['v.mp4', 'video', 1280, 720],
          ['b.webp', 'animated', 512, 512],
          ['a.png', 'image', 832, 1216],
        ],
      );
      expect(page.items[2]).toMatchObject({ destHost: 'gpu-host-a', destPath: '/srv/media', width: null });
      expect(
        (await catalog.search({ limit: 10, kind: 'video' })).items.map((hit) => hit.containerPath),
      ).toEqual(['v.mp4']);
      expect((await catalog.search({ limit: 10, kind: 'audio' })).items).toEqual([]);
      expect(
        withHostPaths(await catalog.search({ limit: 1, kind: 'animated' }), '/elsewhere').items[0]!.hostPath,
      ).toBe('/srv/media/gpu1/b.webp');

      const id = page.items[2]!.id;
      expect(await catalog.getFile(id)).toMatchObject({
        kind: 'video',
        pixelWidth: 1280,
        pixelHeight: 720,
        destHost: 'gpu-host-a',
        destPath: '/srv/media',
      });
      expect(await sql(catalog, `SELECT host, host_path FROM file_locations WHERE id = ${id}`)).toEqual([
        { host: 'gpu-host-a', host_path: '/srv/media/gpu1/v.mp4' },
      ]);
    });

    it('documents the new columns in the schema', async () => {
      const catalog = await catalogOn();
      const comments = await sql<{ column: string; comment: string | null }>(
        catalog,
        `SELECT attname AS column, col_description(attrelid, attnum) AS comment FROM pg_attribute
         WHERE attrelid = 'files'::regclass AND attname IN ('media_kind', 'pixel_width', 'pixel_height', 'dest_id')
         ORDER BY attname`,
      );
      expect(comments.map((row) => row.column)).toEqual([
        'dest_id',
        'media_kind',
        'pixel_height',
        'pixel_width',
      ]);
      for (const row of comments) expect(row.comment, row.column).toMatch(/\w+ \w+/);
      const [table] = await sql<{ comment: string }>(
        catalog,
        `SELECT obj_description('destinations'::regclass, 'pg_class') AS comment`,
      );
      expect(table!.comment).toBe('Each destination folder (--dest) a controller stored files in');
    });

    it('updates kind, size and the metadata source with a new reading', async () => {
      const catalog = await catalogOn(HERE);
      await catalog.recordStored([record('v.mp4', undefined, { source: 'comfyui', prompt: 'old' })]);
      const [hit] = (await catalog.search({ limit: 1 })).items;
      await catalog.updateMetadata(hit!.id, {
        metadata: { source: 'comfyui', prompt: 'new' },
        media: { kind: 'video', width: 640, height: 360 },
        metaFrom: 'v.png',
      });
      expect(await catalog.getFile(hit!.id)).toMatchObject({
        prompt: 'new',
        kind: 'video',
        pixelWidth: 640,
        pixelHeight: 360,
        metaFrom: 'v.png',
      });
    });

    it('finds model names by any part, in any case, with LIKE wildcards taken literally', async () => {
      const catalog = await catalogOn();
      await catalog.recordStored([
        record('1.png', undefined, { source: 'a1111', model: 'juggernautXL_v9' }),
        record('2.png', undefined, { source: 'a1111', model: 'sd_xl_base_1.0' }),
        record('3.png', undefined, { source: 'a1111', model: 'dreamshaper_8' }),
        record('4.png', undefined, { source: 'a1111', model: 'SD_XL_BASE_1.0' }),
        record('5.png', undefined, { source: 'none' }),
      ]);
      const models = async (model: string) =>
        (await catalog.search({ limit: 10, model })).items.map((hit) => hit.containerPath);
      expect(await models('xl')).toEqual(['4.png', '2.png', '1.png']);
      expect(await models('Base_1')).toEqual(['4.png', '2.png']);
      expect(await models('_8')).toEqual(['3.png']);
      expect(await models('%')).toEqual([]);
      expect(await models('nothing like it')).toEqual([]);
      expect((await catalog.search({ limit: 10, model: 'xl', text: 'juggernautxl' })).items).toHaveLength(1);
      // A model name a new reading brings is found too.
      await catalog.updateMetadata(Number((await catalog.search({ limit: 1 })).items[0]!.id), {
        metadata: { source: 'comfyui', model: 'Flux1-Dev.safetensors' },
      });
      expect(await models('FLUX')).toEqual(['5.png']);
    });

    it('upgrades a catalog of migration 6: model names of existing rows are searchable, kinds wait for reindex', async () => {
      const client = await db.connect();
      // A new embedded catalog starts from the seed, which has every migration: empty it first.
      if (!backend.shared) await client.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      await client.exec(`CREATE TABLE schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      for (const migration of MIGRATIONS.filter((m) => m.version <= 6)) {
        await client.exec(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
      }
      await client.query(
        `INSERT INTO files (agent, container_path, stored_path, size, mtime_ms, xxh64, synced_at, run_id,
           meta_source, model, meta_version)
         VALUES ('gpu1', 'old.png', 'gpu1/old.png', 1, 1, '00000000000000aa', now(), 'r', 'a1111', 'DreamShaper_8', 2)`,
      );
      const catalog = await SqlCatalog.open(client, { destination: HERE, ownsAllRows: !backend.shared });
      open.push(catalog);
      const [hit] = (await catalog.search({ limit: 10, model: 'shaper' })).items;
      expect(hit).toMatchObject({
        containerPath: 'old.png',
        kind: null,
        pixelWidth: null,
        destPath: backend.shared ? null : '/srv/media',
      });
      expect(await catalog.countForReindex({ all: false, belowVersion: METADATA_READER_VERSION })).toBe(1);
    });

    it('finds phrases among the newest rows and below them, page after page', async () => {
      const catalog = await catalogOn();
      // Tags are phrases of their parts. Every row has castle_gate; one in 100 also
      // "old lighthouse"; sea_unicorn is only in the oldest rows.
      const total = RECENT_WINDOW + 1500;
      const records = Array.from({ length: total }, (_, i) =>
        record(`${i}.png`, undefined, {
          source: 'a1111',
          prompt: `castle_gate${i % 100 === 0 ? ', old lighthouse' : ''}${i < 3 ? ', sea_unicorn' : ''}`,
        }),
      );
      for (let i = 0; i < total; i += 1000) await catalog.recordStored(records.slice(i, i + 1000));
      const pages = async (text: string, limit: number) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await catalog.search({ text, limit, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((hit) => hit.containerPath));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return seen;
      };
      expect(await pages('sea_unicorn', 20)).toEqual(['2.png', '1.png', '0.png']);
      const lighthouses = await pages('"old lighthouse"', 7);
      expect(lighthouses).toHaveLength(total / 100);
      expect(lighthouses.slice(0, 2)).toEqual([`${total - 100}.png`, `${total - 200}.png`]);
      expect(lighthouses.at(-1)).toBe('0.png');
      expect(await pages('castle_gate', 1000)).toHaveLength(total);
      expect(
        (await catalog.search({ text: 'castle_gate', limit: 3 })).items.map((hit) => hit.containerPath),
      ).toEqual([`${total - 1}.png`, `${total - 2}.png`, `${total - 3}.png`]);
    });

    it('gathers planner statistics once a thousand rows were added', async () => {
      const catalog = await catalogOn();
      const stats = async () =>
        Number(
          (
            await sql<{ n: number }>(catalog, `SELECT reltuples AS n FROM pg_class WHERE relname = 'files'`)
          )[0]!.n,
        );
      await catalog.recordStored(
        Array.from({ length: 999 }, (_, i) => record(`${i}.png`, { kind: 'image' })),
      );
      // (A server's autovacuum may have been quicker; PGlite has none, which is why the catalog does it.)
      if (!backend.shared) expect(await stats()).toBeLessThan(1);
      await catalog.recordStored([record('last.png', { kind: 'image' })]);
      expect(await stats()).toBe(1000);
    });

    it('marks older rows of an embedded catalog as its destination on open', async () => {
      const before = await catalogOn();
      await before.recordStored([record('early.png', { kind: 'image' })]);
      await close(before);
      const after = await catalogOn(HERE, true);
      expect((await after.search({ limit: 1 })).items[0]).toMatchObject({ destPath: '/srv/media' });
    });

    it("keeps each controller's rows under its own destination on a shared catalog", async () => {
      if (!backend.shared) return;
      const here = await catalogOn(HERE);
      const there = await catalogOn(THERE);
      await here.recordStored([record('here.png', { kind: 'image' })]);
      await there.recordStored([record('there.png', { kind: 'image' })]);
      // A shared catalog does not claim rows of no known destination for whoever opens it.
      await (await catalogOn(HERE, false)).recordStored([record('third.png', { kind: 'image' })]);
      const where = Object.fromEntries(
        (await here.search({ limit: 10 })).items.map((hit) => [
          hit.containerPath,
          `${hit.destHost}:${hit.destPath}`,
        ]),
      );
      expect(where).toEqual({
        'here.png': 'gpu-host-a:/srv/media',
        'there.png': 'gpu-host-b:/mnt/archive/sd',
        'third.png': 'gpu-host-a:/srv/media',
      });
      expect(await sql(here, 'SELECT host, path FROM destinations ORDER BY id')).toEqual([HERE, THERE]);
      // A reindex here reads only rows it can: its own, and rows of no known destination.
      expect(await here.countForReindex({ all: true, belowVersion: 0 })).toBe(2);
      expect(await there.countForReindex({ all: true, belowVersion: 0 })).toBe(1);
    });
  });
}
