// The catalog contract, run against both databases it ships with: embedded PGlite and a real PostgreSQL server.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../common/errors.js';
import type { Catalog, SearchHit, SearchQuery, StoredFileRecord } from '../controller/catalog/catalog.js';
import { MIGRATIONS, migrate } from '../controller/catalog/migrations.js';
import { openPgliteClient } from '../controller/catalog/pglite-client.js';
import { openPostgresClient } from '../controller/catalog/postgres-client.js';
import { SqlCatalog } from '../controller/catalog/sql-catalog.js';
import type { SqlClient } from '../controller/catalog/sql-client.js';
import type { GenerationMetadata } from '../common/generation-metadata.js';
import { PG_URL, describePg, freshDatabase, pgQuery } from './helpers/postgres.js';
import { freePort, tempDir } from './helpers/processes.js';

/** One empty database: `connect` opens a client on it, as a controller would. */
interface TestDatabase {
  connect(): Promise<SqlClient>;
  dispose(): Promise<void>;
}

interface Backend {
  name: string;
  /** Whether a second client (another controller) can open the same database at once. */
  shared: boolean;
  create(): Promise<TestDatabase>;
}

const pglite: Backend = {
  name: 'PGlite',
  // Its data folder belongs to one process (the destination lock sees to that), so one client.
  shared: false,
  async create() {
    const dir = await tempDir('fms-catalog-');
    let opened = false;
    return {
      connect: () => {
        if (opened) throw new Error('a PGlite data folder has one client');
        opened = true;
        return openPgliteClient(join(dir.path, 'catalog'));
      },
      dispose: () => dir[Symbol.asyncDispose](),
    };
  },
};

const postgres: Backend = {
  name: 'PostgreSQL',
  shared: true,
  async create() {
    const db = await freshDatabase();
    return { connect: () => openPostgresClient(db.url), dispose: () => db[Symbol.asyncDispose]() };
  },
};

const hash = (n: number): string => n.toString(16).padStart(16, '0');
const T0 = new Date('2026-11-20T10:00:00.000Z');
const minutes = (n: number): Date => new Date(T0.getTime() + n * 60_000);

function record(
  fields: Partial<StoredFileRecord> & Pick<StoredFileRecord, 'containerPath' | 'xxh64'>,
): StoredFileRecord {
  const agent = fields.agent ?? 'gpu1';
  return {
    agent,
    storedPath: `${agent}/${fields.containerPath}`,
    size: 100,
    mtimeMs: 1_763_000_000_000.25,
    runId: 'run-1',
    syncedAt: T0,
    ...fields,
  };
}

/** Everything a metadata parser can produce, with a seed past 2^53 and JSON that is easy to mangle. */
const FULL_METADATA: GenerationMetadata = {
  source: 'comfyui',
  raw: 'a lighthouse at dusk\nSteps: 28, Seed: 18446744073709551615',
  prompt: 'a lighthouse at dusk, "volumetric" light, ünïcödé 画像',
  negativePrompt: 'blurry, lowres',
  seed: '18446744073709551615',
  steps: 28,
  cfg: 6.5,
  sampler: 'dpmpp_2m',
  scheduler: 'karras',
  model: 'juggernautXL_v9.safetensors',
  modelHash: 'c9e3e68f89',
  loras: [{ name: 'detail_tweaker', hash: 'abc123def456', strength: 0.75 }, { name: 'plain' }],
  width: 1024,
  height: 768,
  params: { Steps: '28', 'Schedule type': 'Karras', 'Lora hashes': '"detail_tweaker: abc123def456"' },
  samplers: [
    {
      nodeId: '3',
      classType: 'KSampler',
      seed: '18446744073709551615',
      steps: 28,
      cfg: 6.5,
      sampler: 'dpmpp_2m',
      scheduler: 'karras',
      denoise: 1,
      model: 'juggernautXL_v9.safetensors',
      loras: [{ name: 'detail_tweaker', strength: 0.75 }],
      prompt: 'a lighthouse at dusk',
      negativePrompt: 'blurry, lowres',
      width: 1024,
      height: 768,
    },
    { nodeId: '12', classType: 'KSamplerAdvanced', seed: 7, denoise: 0.4 },
  ],
  comfyPrompt: {
    '3': {
      class_type: 'KSampler',
      inputs: { seed: 1234567890123, model: ['4', 0], cfg: 6.5, denoise: -3e-7, note: null, on: true },
    },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'quote " backslash \\ tab \t 画像 😀' } },
  },
  comfyWorkflow: {
    nodes: [{ id: 3, type: 'KSampler', widgets_values: [1234567890123, 'randomize', 28, 6.5] }],
    links: [[1, 4, 0, 3, 0, 'MODEL']],
    extra: {},
    version: 0.4,
  },
  error: 'PNG tEXt chunk at offset 33 is 9999999 bytes, over the limit; skipped',
};

for (const backend of [pglite, postgres]) {
  const suite = backend === postgres ? describePg : describe;

  suite(`catalog on ${backend.name}`, () => {
    let db: TestDatabase;
    let client: SqlClient;
    let catalog: SqlCatalog;
    const cleanups: (() => Promise<void>)[] = [];

    beforeEach(async () => {
      db = await backend.create();
      cleanups.push(() => db.dispose());
      client = await db.connect();
      catalog = await SqlCatalog.open(client);
      cleanups.push(() => catalog.close());
    });

    afterEach(async () => {
      const failures: unknown[] = [];
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((err) => failures.push(err));
      if (failures.length) throw failures[0];
    });

    /** Another controller's catalog on the same database: its own connections on PostgreSQL. */
    async function otherController(): Promise<Catalog> {
      if (!backend.shared) return catalog;
      const other = await SqlCatalog.open(await db.connect());
      cleanups.push(() => other.close());
      return other;
    }

    /** A second empty database of this backend, disposed with the test. */
    async function anotherDatabase(): Promise<TestDatabase> {
      const other = await backend.create();
      cleanups.push(() => other.dispose());
      return other;
    }

    async function appliedMigrations(on: SqlClient): Promise<{ version: number; name: string }[]> {
      const { rows } = await on.query<{ version: number; name: string }>(
        'SELECT version, name FROM schema_migrations ORDER BY version',
      );
      return rows;
    }

    const ALL_MIGRATIONS = MIGRATIONS.map(({ version, name }) => ({ version, name }));
    const VERSIONS = MIGRATIONS.map((migration) => migration.version);

    it('applies every migration once, and a second migrate applies nothing', async () => {
      expect(await appliedMigrations(client)).toEqual(ALL_MIGRATIONS);
      expect(await migrate(client)).toEqual([]);
      expect(await appliedMigrations(client)).toEqual(ALL_MIGRATIONS);
    });

    it('applies each migration exactly once when two controllers migrate one database at once', async () => {
      const fresh = await anotherDatabase();
      const first = await fresh.connect();
      const second = backend.shared ? await fresh.connect() : first;
      cleanups.push(async () => {
        await first.close();
        if (second !== first) await second.close();
      });
      const results = await Promise.all([migrate(first), migrate(second)]);
      // A new embedded catalog starts from the shipped seed, which already carries every migration.
      const fromSeed = !backend.shared;
      expect(results.map((versions) => versions.join(',')).sort()).toEqual(
        fromSeed ? ['', ''] : ['', VERSIONS.join(',')],
      );
      expect(await appliedMigrations(first)).toEqual(ALL_MIGRATIONS);

      if (!backend.shared) return;
      const third = await anotherDatabase();
      const clients = [await third.connect(), await third.connect()] as const;
      const catalogs = await Promise.all(clients.map((opened) => SqlCatalog.open(opened)));
      cleanups.push(async () => {
        for (const opened of catalogs) await opened.close();
      });
      const { rows } = await clients[0].query<{ version: number; n: number }>(
        'SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version ORDER BY version',
      );
      expect(rows).toEqual(VERSIONS.map((version) => ({ version, n: 1 })));
    });

    it('records stored copies and finds them by agent, container path and stored path', async () => {
      await catalog.recordStored([
        record({ containerPath: 'output/a.png', xxh64: hash(1), size: 2048 }),
        record({ containerPath: 'output/a.png', xxh64: hash(2), storedPath: `gpu1/output/a~${hash(2)}.png` }),
        record({ containerPath: 'output/clip.mp4', xxh64: hash(3), size: 5_000_000_000 }),
        record({ agent: 'gpu2', containerPath: 'output/a.png', xxh64: hash(1), size: 7 }),
      ]);

      expect(await catalog.storedIndex('gpu1')).toEqual(
        new Map([
          ['output/a.png', new Set([hash(1), hash(2)])],
          ['output/clip.mp4', new Set([hash(3)])],
        ]),
      );
      expect(await catalog.storedIndex('gpu2')).toEqual(new Map([['output/a.png', new Set([hash(1)])]]));
      expect(await catalog.storedIndex('nobody')).toEqual(new Map());

      expect(await catalog.storedCopies('gpu1')).toEqual(
        new Map([
          [
            'output/a.png',
            new Map([
              [hash(1), { storedPath: 'gpu1/output/a.png', size: 2048 }],
              [hash(2), { storedPath: `gpu1/output/a~${hash(2)}.png`, size: 100 }],
            ]),
          ],
          [
            'output/clip.mp4',
            new Map([[hash(3), { storedPath: 'gpu1/output/clip.mp4', size: 5_000_000_000 }]]),
          ],
        ]),
      );

      expect(await catalog.findByStoredPath('gpu1/output/clip.mp4')).toEqual({
        agent: 'gpu1',
        containerPath: 'output/clip.mp4',
        xxh64: hash(3),
        size: 5_000_000_000,
      });
      expect(await catalog.findByStoredPath('gpu2/output/a.png')).toEqual({
        agent: 'gpu2',
        containerPath: 'output/a.png',
        xxh64: hash(1),
        size: 7,
      });
      expect(await catalog.findByStoredPath('gpu1/output/missing.png')).toBeNull();
      expect(await catalog.countFiles()).toBe(4);
      expect(await catalog.countFiles('gpu1')).toBe(3);
      expect(await catalog.countFiles('nobody')).toBe(0);
    });

    it('leaves a copy already recorded as it is, across chunks of one call and across calls', async () => {
      const first = record({ containerPath: 'output/a.png', xxh64: hash(1), size: 10 });
      await catalog.recordStored([first]);
      // Past the 200-row insert chunk, with the first row and a few others repeated.
      const many = Array.from({ length: 450 }, (_, i) =>
        record({ containerPath: `output/batch/${i}.png`, xxh64: hash(1000 + i), size: i }),
      );
      const again = { ...first, storedPath: 'gpu1/elsewhere/a.png', size: 999, runId: 'run-2' };
      await catalog.recordStored([again, ...many, many[0]!, many[449]!]);
      await catalog.recordStored(many);

      expect(await catalog.countFiles('gpu1')).toBe(451);
      expect(await catalog.findByStoredPath('gpu1/elsewhere/a.png')).toBeNull();
      expect(await catalog.findByStoredPath('gpu1/output/a.png')).toEqual({
        agent: 'gpu1',
        containerPath: 'output/a.png',
        xxh64: hash(1),
        size: 10,
      });
      expect((await catalog.storedCopies('gpu1')).get('output/batch/449.png')).toEqual(
        new Map([[hash(1449), { storedPath: 'gpu1/output/batch/449.png', size: 449 }]]),
      );
      await catalog.recordStored([]);
      expect(await catalog.countFiles()).toBe(451);
    });

    it('records a batch whole or not at all', async () => {
      await catalog.recordStored([record({ containerPath: 'output/a.png', xxh64: hash(1) })]);
      // The second row claims a stored path that already holds another file.
      const batch = [
        record({ containerPath: 'output/b.png', xxh64: hash(2) }),
        record({ containerPath: 'output/c.png', xxh64: hash(3), storedPath: 'gpu1/output/a.png' }),
      ];
      await expect(catalog.recordStored(batch)).rejects.toThrow(/unique|duplicate/i);
      expect(await catalog.countFiles()).toBe(1);
      expect(await catalog.findByStoredPath('gpu1/output/b.png')).toBeNull();
    });

    it('writes purge requests, then purged_at only for what was purged and kept:<reason> for the rest', async () => {
      await catalog.recordStored([
        record({ containerPath: 'output/a.png', xxh64: hash(1) }),
        record({ containerPath: 'output/b.png', xxh64: hash(2) }),
        record({ containerPath: 'output/c.png', xxh64: hash(3) }),
        record({ containerPath: 'output/untouched.png', xxh64: hash(4) }),
        record({ agent: 'gpu2', containerPath: 'output/a.png', xxh64: hash(1) }),
      ]);
      const purgeState = async () =>
        (
          await client.query<{
            agent: string;
            container_path: string;
            purge_run_id: string | null;
            purge_outcome: string | null;
            purged_at: Date | null;
          }>(
            `SELECT agent, container_path, purge_run_id, purge_outcome, purged_at FROM files
             ORDER BY agent, container_path`,
          )
        ).rows.map((row) => ({ ...row, purged_at: row.purged_at && new Date(row.purged_at).toISOString() }));
      const untouched = [
        {
          agent: 'gpu1',
          container_path: 'output/untouched.png',
          purge_run_id: null,
          purge_outcome: null,
          purged_at: null,
        },
        {
          agent: 'gpu2',
          container_path: 'output/a.png',
          purge_run_id: null,
          purge_outcome: null,
          purged_at: null,
        },
      ];

      await catalog.markPurgeRequested('gpu1', 'purge-1', [
        { containerPath: 'output/a.png', xxh64: hash(1) },
        { containerPath: 'output/b.png', xxh64: hash(2) },
        { containerPath: 'output/c.png', xxh64: hash(3) },
        { containerPath: 'output/untouched.png', xxh64: hash(99) }, // another version: not this row
      ]);
      const requested = (path: string) => ({
        agent: 'gpu1',
        container_path: path,
        purge_run_id: 'purge-1',
        purge_outcome: 'requested',
        purged_at: null,
      });
      expect(await purgeState()).toEqual([
        requested('output/a.png'),
        requested('output/b.png'),
        requested('output/c.png'),
        ...untouched,
      ]);

      const at = new Date('2026-11-21T08:30:00.123Z');
      await catalog.recordPurgeOutcomes(
        'gpu1',
        'purge-1',
        [
          { containerPath: 'output/a.png', xxh64: hash(1), purged: true },
          { containerPath: 'output/b.png', xxh64: hash(2), purged: false, reason: 'changed' },
          { containerPath: 'output/c.png', xxh64: hash(3), purged: false, reason: 'too-young' },
        ],
        at,
      );
      expect(await purgeState()).toEqual([
        { ...requested('output/a.png'), purge_outcome: 'purged', purged_at: at.toISOString() },
        { ...requested('output/b.png'), purge_outcome: 'kept:changed' },
        { ...requested('output/c.png'), purge_outcome: 'kept:too-young' },
        ...untouched,
      ]);
      const hit = (await catalog.search({ agent: 'gpu1', text: 'a', limit: 10 })).items;
      expect(hit.map((item) => [item.containerPath, item.purgedAt])).toEqual([
        ['output/a.png', at.toISOString()],
      ]);

      // The same bytes back under the purged name, asked for again: a set purged_at always belongs to
      // purge_run_id's own deletion, so the request clears it and a keep leaves it clear.
      await catalog.markPurgeRequested('gpu1', 'purge-2', [
        { containerPath: 'output/a.png', xxh64: hash(1) },
      ]);
      expect((await purgeState())[0]).toEqual({ ...requested('output/a.png'), purge_run_id: 'purge-2' });
      await catalog.recordPurgeOutcomes(
        'gpu1',
        'purge-2',
        [{ containerPath: 'output/a.png', xxh64: hash(1), purged: false, reason: 'missing' }],
        new Date('2026-11-22T00:00:00.000Z'),
      );
      expect((await purgeState())[0]).toEqual({
        ...requested('output/a.png'),
        purge_run_id: 'purge-2',
        purge_outcome: 'kept:missing',
      });
      expect((await purgeState())[1]).toEqual({
        ...requested('output/b.png'),
        purge_outcome: 'kept:changed',
      });
    });

    it('finds the rows a purge left requested through their own index, not by reading every row', async () => {
      await catalog.recordStored(
        Array.from({ length: 2000 }, (_, i) =>
          record({ containerPath: `output/${i}.png`, xxh64: hash(i + 1) }),
        ),
      );
      await catalog.markPurgeRequested('gpu1', 'run', [{ containerPath: 'output/7.png', xxh64: hash(8) }]);
      await client.exec('ANALYZE files');
      // The query of unsettledPurges (purge-audit.ts), as the planner sees it at that size.
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT container_path, xxh64, size, mtime_ms, purge_run_id FROM files
         WHERE agent = 'gpu1' AND purge_outcome = 'requested' ORDER BY id`,
      );
      expect(rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('files_purge_requested');
      expect((await catalog.unsettledPurges('gpu1')).map((row) => row.containerPath)).toEqual([
        'output/7.png',
      ]);
    });

    it('lists the rows an interrupted purge left requested, and settles only those still marked by that run', async () => {
      await catalog.recordStored([
        record({ containerPath: 'output/a.png', xxh64: hash(1), size: 10, mtimeMs: 1_700_000_000_000.5 }),
        record({ containerPath: 'output/b.png', xxh64: hash(2) }),
        record({ containerPath: 'output/c.png', xxh64: hash(3) }),
        record({ agent: 'gpu2', containerPath: 'output/a.png', xxh64: hash(1) }),
      ]);
      expect(await catalog.unsettledPurges('gpu1')).toEqual([]);
      const files = ['a', 'b', 'c'].map((name, i) => ({
        containerPath: `output/${name}.png`,
        xxh64: hash(i + 1),
      }));
      await catalog.markPurgeRequested('gpu1', 'dead', files);
      await catalog.markPurgeRequested('gpu2', 'other', [files[0]!]);
      const unsettled = await catalog.unsettledPurges('gpu1');
      expect(unsettled.map((row) => row.containerPath)).toEqual([
        'output/a.png',
        'output/b.png',
        'output/c.png',
      ]);
      expect(unsettled[0]).toEqual({
        containerPath: 'output/a.png',
        xxh64: hash(1),
        size: 10,
        mtimeMs: 1_700_000_000_000.5,
        runId: 'dead',
      });
      // b was asked for again by a later run meanwhile: the settlement for the dead run leaves it alone.
      await catalog.markPurgeRequested('gpu1', 'later', [files[1]!]);
      const at = new Date('2026-11-21T08:30:00.123Z');
      await catalog.settlePurges('gpu1', [
        { ...files[0]!, runId: 'dead', outcome: 'purged', purgedAt: at },
        { ...files[1]!, runId: 'dead', outcome: 'kept:interrupted', purgedAt: null },
        { ...files[2]!, runId: 'dead', outcome: 'unknown:vanished', purgedAt: null },
      ]);
      const { rows } = await client.query<{
        agent: string;
        container_path: string;
        purge_run_id: string;
        purge_outcome: string;
        purged_at: Date | null;
      }>(
        'SELECT agent, container_path, purge_run_id, purge_outcome, purged_at FROM files ORDER BY agent, id',
      );
      expect(
        rows.map((row) => ({ ...row, purged_at: row.purged_at && new Date(row.purged_at).toISOString() })),
      ).toEqual([
        {
          agent: 'gpu1',
          container_path: 'output/a.png',
          purge_run_id: 'dead',
          purge_outcome: 'purged',
          purged_at: at.toISOString(),
        },
        {
          agent: 'gpu1',
          container_path: 'output/b.png',
          purge_run_id: 'later',
          purge_outcome: 'requested',
          purged_at: null,
        },
        {
          agent: 'gpu1',
          container_path: 'output/c.png',
          purge_run_id: 'dead',
          purge_outcome: 'unknown:vanished',
          purged_at: null,
        },
        {
          agent: 'gpu2',
          container_path: 'output/a.png',
          purge_run_id: 'other',
          purge_outcome: 'requested',
          purged_at: null,
        },
      ]);
      expect((await catalog.unsettledPurges('gpu1')).map((row) => row.runId)).toEqual(['later']);
    });

    it('remembers how the latest sync of each agent ended', async () => {
      expect(await catalog.lastSync('gpu1')).toBeNull();
      await catalog.recordSync('gpu1', { runId: 'run-1', ok: false, finishedAt: minutes(1) });
      await catalog.recordSync('gpu2', { runId: 'run-1', ok: true, finishedAt: minutes(2) });
      expect(await catalog.lastSync('gpu1')).toEqual({ runId: 'run-1', ok: false, finishedAt: minutes(1) });
      await catalog.recordSync('gpu1', {
        runId: 'run-2',
        ok: true,
        finishedAt: new Date('2026-11-20T10:05:00.789Z'),
      });
      expect(await catalog.lastSync('gpu1')).toEqual({
        runId: 'run-2',
        ok: true,
        finishedAt: new Date('2026-11-20T10:05:00.789Z'),
      });
      expect(await catalog.lastSync('gpu2')).toEqual({ runId: 'run-1', ok: true, finishedAt: minutes(2) });
    });

    it('keeps provenance and every metadata field exactly, and finds the newest version that has some', async () => {
      await catalog.recordStored([
        record({
          containerPath: 'output/lighthouse.png',
          xxh64: hash(1),
          provenance: {
            host: 'gpu-host-1',
            containerId: 'c0ffee',
            containerName: 'comfyui',
            image: 'comfy:1.2',
          },
          metadata: FULL_METADATA,
        }),
        record({
          containerPath: 'output/lighthouse.mp4',
          xxh64: hash(2),
          metaFrom: 'output/lighthouse.png',
          metadata: { source: 'a1111', seed: 42, steps: 20 },
        }),
        record({ containerPath: 'output/plain.png', xxh64: hash(3), metadata: { source: 'none' } }),
        record({ containerPath: 'output/nothing.png', xxh64: hash(4) }),
      ]);

      const found = await catalog.findMetadata('gpu1', [
        'output/lighthouse.png',
        'output/lighthouse.mp4',
        'output/plain.png',
        'output/nothing.png',
        'output/never-stored.png',
      ]);
      // A numeric seed is kept as its decimal text, like one past 2^53; files without metadata are absent.
      expect(found).toEqual(
        new Map<string, unknown>([
          ['output/lighthouse.png', FULL_METADATA],
          ['output/lighthouse.mp4', { source: 'a1111', seed: '42', steps: 20 }],
        ]),
      );
      expect(await catalog.findMetadata('gpu2', ['output/lighthouse.png'])).toEqual(new Map());
      expect(await catalog.findMetadata('gpu1', [])).toEqual(new Map());

      const { rows } = await client.query<Record<string, unknown>>(
        `SELECT container_path, host, container_id, container_name, image, meta_from, meta_source, seed
         FROM files ORDER BY id`,
      );
      expect(rows).toEqual([
        {
          container_path: 'output/lighthouse.png',
          host: 'gpu-host-1',
          container_id: 'c0ffee',
          container_name: 'comfyui',
          image: 'comfy:1.2',
          meta_from: null,
          meta_source: 'comfyui',
          seed: '18446744073709551615',
        },
        {
          container_path: 'output/lighthouse.mp4',
          host: null,
          container_id: null,
          container_name: null,
          image: null,
          meta_from: 'output/lighthouse.png',
          meta_source: 'a1111',
          seed: '42',
        },
        ...['output/plain.png', 'output/nothing.png'].map((path) => ({
          container_path: path,
          host: null,
          container_id: null,
          container_name: null,
          image: null,
          meta_from: null,
          meta_source: path === 'output/plain.png' ? 'none' : null,
          seed: null,
        })),
      ]);

      // A newer version of the file: its metadata wins; a newer one without any does not hide it.
      await catalog.recordStored([
        record({
          containerPath: 'output/lighthouse.png',
          xxh64: hash(5),
          storedPath: `gpu1/output/lighthouse~${hash(5)}.png`,
          metadata: { source: 'a1111', prompt: 'second version', seed: '1' },
        }),
      ]);
      await catalog.recordStored([
        record({
          containerPath: 'output/lighthouse.png',
          xxh64: hash(6),
          storedPath: `gpu1/output/lighthouse~${hash(6)}.png`,
          metadata: { source: 'none', error: 'not a PNG' },
        }),
      ]);
      expect(
        (await catalog.findMetadata('gpu1', ['output/lighthouse.png'])).get('output/lighthouse.png'),
      ).toEqual({
        source: 'a1111',
        prompt: 'second version',
        seed: '1',
      });
    });

    it('gives one file by id with everything, and keeps stars that search can filter by', async () => {
      await catalog.recordStored([
        record({
          containerPath: 'output/a.png',
          xxh64: hash(1),
          metadata: FULL_METADATA,
          provenance: { host: 'h1' },
        }),
        record({ containerPath: 'output/b.png', xxh64: hash(2) }),
      ]);
      const page = await catalog.search({ limit: 10 });
      const idOf = (path: string): number => page.items.find((hit) => hit.containerPath === path)!.id;
      const a = await catalog.getFile(idOf('output/a.png'));
      expect(a).toMatchObject({
        containerPath: 'output/a.png',
        xxh64: hash(1),
        seed: FULL_METADATA.seed,
        provenance: { host: 'h1' },
        starredAt: null,
        purgedAt: null,
      });
      expect(a!.metadata).toMatchObject({ raw: FULL_METADATA.raw, prompt: FULL_METADATA.prompt });
      expect(await catalog.getFile(999_999)).toBeNull();

      expect(await catalog.setStarred(idOf('output/b.png'), true, minutes(5))).toBe(true);
      expect(await catalog.setStarred(999_999, true, minutes(5))).toBe(false);
      expect((await catalog.getFile(idOf('output/b.png')))!.starredAt).toBe(minutes(5).toISOString());
      const starred = await catalog.search({ limit: 10, starred: true });
      expect(starred.items.map((hit) => hit.containerPath)).toEqual(['output/b.png']);
      await catalog.setStarred(idOf('output/b.png'), false, minutes(6));
      expect((await catalog.search({ limit: 10, starred: true })).items).toEqual([]);
    });

    describe('search', () => {
      const A1111 = (fields: Partial<GenerationMetadata>): GenerationMetadata => ({
        source: 'a1111',
        ...fields,
      });

      beforeEach(async () => {
        // ids 1..4 in this order: search lists newest (highest id) first.
        await catalog.recordStored([
          record({
            containerPath: 'output/txt2img/00001-123.png',
            xxh64: hash(1),
            syncedAt: minutes(0),
            metadata: A1111({
              prompt: 'a red fox in the snow',
              negativePrompt: 'blurry',
              seed: '123',
              steps: 20,
              cfg: 7,
              sampler: 'Euler a',
              model: 'SDXL_Base_1.0.safetensors',
              width: 512,
              height: 640,
            }),
          }),
          record({
            agent: 'gpu2',
            containerPath: 'output/00002.png',
            xxh64: hash(2),
            size: 3_000_000_000,
            syncedAt: minutes(10),
            metadata: A1111({
              prompt: 'a red fox jumping over a fence',
              seed: '18446744073709551615',
              model: 'dreamshaper_8',
              sampler: 'DPM++ 2M',
              scheduler: 'Karras',
            }),
          }),
          record({
            containerPath: 'output/00003.png',
            xxh64: hash(3),
            syncedAt: minutes(20),
            metadata: A1111({ prompt: 'blue whale in the ocean', seed: '123', model: 'sdxl_turbo' }),
          }),
          record({
            containerPath: 'output/sketches/fox_sketch.png',
            xxh64: hash(4),
            syncedAt: minutes(30),
            metadata: { source: 'none', error: 'no metadata' },
          }),
        ]);
      });

      const paths = async (query: Omit<SearchQuery, 'limit'>): Promise<string[]> =>
        (await catalog.search({ limit: 50, ...query })).items.map((hit) => hit.containerPath);

      it('returns whole hits, newest first', async () => {
        const page = await catalog.search({ limit: 10 });
        expect(page.nextCursor).toBeNull();
        expect(page.items.map((hit) => hit.id)).toEqual([4, 3, 2, 1]);
        expect(page.items[2]).toEqual({
          id: 2,
          agent: 'gpu2',
          containerPath: 'output/00002.png',
          storedPath: 'gpu2/output/00002.png',
          size: 3_000_000_000,
          syncedAt: minutes(10).toISOString(),
          purgedAt: null,
          metaSource: 'a1111',
          metaError: null,
          prompt: 'a red fox jumping over a fence',
          negativePrompt: null,
          seed: '18446744073709551615',
          steps: null,
          cfg: null,
          sampler: 'DPM++ 2M',
          scheduler: 'Karras',
          model: 'dreamshaper_8',
          width: null,
          height: null,
          kind: null,
          pixelWidth: null,
          pixelHeight: null,
          destHost: null,
          destPath: null,
        } satisfies SearchHit);
        expect(page.items[3]).toMatchObject({
          steps: 20,
          cfg: 7,
          width: 512,
          height: 640,
          negativePrompt: 'blurry',
        });
        expect(page.items[0]).toMatchObject({ metaSource: 'none', metaError: 'no metadata', prompt: null });
      });

      it('matches prompt words in web-search syntax, and words of the file path', async () => {
        expect(await paths({ text: 'fox' })).toEqual([
          'output/sketches/fox_sketch.png',
          'output/00002.png',
          'output/txt2img/00001-123.png',
        ]);
        expect(await paths({ text: 'RED Fox' })).toEqual([
          'output/00002.png',
          'output/txt2img/00001-123.png',
        ]);
        expect(await paths({ text: '"fox in the snow"' })).toEqual(['output/txt2img/00001-123.png']);
        expect(await paths({ text: '"snow fox"' })).toEqual([]);
        expect(await paths({ text: 'fox -snow' })).toEqual([
          'output/sketches/fox_sketch.png',
          'output/00002.png',
        ]);
        expect(await paths({ text: 'whale or jumping' })).toEqual(['output/00003.png', 'output/00002.png']);
        expect(await paths({ text: 'whale OR jumping' })).toEqual(['output/00003.png', 'output/00002.png']);
        expect(await paths({ text: 'dreamshaper_8' })).toEqual(['output/00002.png']);
        expect(await paths({ text: 'txt2img' })).toEqual(['output/txt2img/00001-123.png']);
        expect(await paths({ text: '   ' })).toHaveLength(4);
      });

      it('matches part of the model name in any case, with LIKE wildcards taken literally', async () => {
        expect(await paths({ model: 'SDXL' })).toEqual(['output/00003.png', 'output/txt2img/00001-123.png']);
        expect(await paths({ model: 'xl_b' })).toEqual(['output/txt2img/00001-123.png']);
        expect(await paths({ model: 'DreamShaper' })).toEqual(['output/00002.png']);
        expect(await paths({ model: '%' })).toEqual([]);
        expect(await paths({ model: 'sd_l' })).toEqual([]);
      });

      it('filters by exact seed, agent and sync time, and combines filters', async () => {
        expect(await paths({ seed: '123' })).toEqual(['output/00003.png', 'output/txt2img/00001-123.png']);
        expect(await paths({ seed: '18446744073709551615' })).toEqual(['output/00002.png']);
        expect(await paths({ seed: '18446744073709551616' })).toEqual([]);
        expect(await paths({ seed: '12' })).toEqual([]);
        expect(await paths({ agent: 'gpu2' })).toEqual(['output/00002.png']);
        expect(await paths({ since: minutes(20) })).toEqual([
          'output/sketches/fox_sketch.png',
          'output/00003.png',
        ]);
        expect(await paths({ since: new Date(minutes(20).getTime() + 1) })).toEqual([
          'output/sketches/fox_sketch.png',
        ]);
        expect(await paths({ text: 'fox', agent: 'gpu1' })).toEqual([
          'output/sketches/fox_sketch.png',
          'output/txt2img/00001-123.png',
        ]);
        expect(await paths({ text: 'fox', model: 'sdxl', seed: '123', since: minutes(0) })).toEqual([
          'output/txt2img/00001-123.png',
        ]);
      });

      it('pages with limit and cursor, without duplicates or gaps', async () => {
        const extra = Array.from({ length: 25 }, (_, i) =>
          record({
            agent: 'pager',
            containerPath: `output/page/${String(i).padStart(2, '0')}.png`,
            xxh64: hash(100 + i),
            metadata: A1111({ prompt: i % 2 === 0 ? 'a tabby cat' : 'a dog' }),
          }),
        );
        await catalog.recordStored(extra.slice(0, 10));
        await catalog.recordStored(extra.slice(10));
        const expected = extra.map((file) => file.containerPath).reverse();

        const walk = async (query: Omit<SearchQuery, 'limit' | 'cursor'>, limit: number) => {
          const pages: string[][] = [];
          let cursor: string | undefined;
          do {
            const page = await catalog.search({ ...query, limit, cursor });
            pages.push(page.items.map((hit) => hit.containerPath));
            cursor = page.nextCursor ?? undefined;
          } while (cursor && pages.length < 20);
          return pages;
        };

        const byTen = await walk({ agent: 'pager' }, 10);
        expect(byTen.map((page) => page.length)).toEqual([10, 10, 5]);
        expect(byTen.flat()).toEqual(expected);
        // A last page that is exactly full says so, rather than promising an empty one.
        expect((await walk({ agent: 'pager' }, 5)).map((page) => page.length)).toEqual([5, 5, 5, 5, 5]);
        const cats = await walk({ agent: 'pager', text: 'cat' }, 4);
        expect(cats.map((page) => page.length)).toEqual([4, 4, 4, 1]);
        expect(cats.flat()).toEqual(expected.filter((path) => Number(path.slice(-6, -4)) % 2 === 0));
        expect((await walk({}, 7)).flat()).toHaveLength(29);

        await expect(catalog.search({ limit: 10, cursor: '1; DROP TABLE files' })).rejects.toMatchObject({
          code: 'E_BAD_REQUEST',
        });
      });
    });

    it('lets one holder at a time have an agent lease, across controllers', async () => {
      const other = await otherController();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const holder = catalog.withAgentLease('gpu1', async () => {
        entered();
        await released;
        return 'first';
      });
      await inside;

      const ran: string[] = [];
      expect(await other.withAgentLease('gpu1', async () => ran.push('gpu1 while held'))).toBeNull();
      expect(await catalog.withAgentLease('gpu1', async () => ran.push('gpu1 again while held'))).toBeNull();
      expect(
        await other.withAgentLease('gpu2', async () => {
          ran.push('gpu2');
          return 'another agent';
        }),
      ).toBe('another agent');
      expect(ran).toEqual(['gpu2']);

      release();
      expect(await holder).toBe('first');
      expect(await other.withAgentLease('gpu1', async () => 'after release')).toBe('after release');

      await expect(
        catalog.withAgentLease('gpu1', async () => {
          throw new Error('sync blew up');
        }),
      ).rejects.toThrow('sync blew up');
      expect(await other.withAgentLease('gpu1', async () => 'free after a failure')).toBe(
        'free after a failure',
      );
    });
  });
}

describePg('PostgreSQL client', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;

  beforeEach(async () => {
    db = await freshDatabase();
  });

  afterEach(async () => {
    await db[Symbol.asyncDispose]();
  });

  const connections = async (): Promise<number> =>
    (
      await pgQuery<{ n: number }>(
        PG_URL!,
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'forge-sync'",
        [db.name],
      )
    )[0]!.n;

  it('returns int8 as PGlite does, timestamps as Date and JSONB parsed', async () => {
    const client = await openPostgresClient(db.url);
    try {
      const { rows } = await client.query<Record<string, unknown>>(
        `SELECT 5000000000::int8 AS big, 9007199254740993::int8 AS huge, -9007199254740991::int8 AS low,
                count(*) AS n, '2026-11-20T10:00:00.123Z'::timestamptz AS at,
                '{"a": [1, 2.5, null], "b": "画像"}'::jsonb AS doc, 7::int4 AS small, 1.5::float8 AS real, NULL::int8 AS none`,
      );
      expect(rows).toEqual([
        {
          big: 5_000_000_000,
          huge: 9007199254740993n,
          low: -9007199254740991,
          n: 1,
          at: new Date('2026-11-20T10:00:00.123Z'),
          doc: { a: [1, 2.5, null], b: '画像' },
          small: 7,
          real: 1.5,
          none: null,
        },
      ]);
      // Inside a transaction too, on the connection the transaction holds.
      const inTx = await client.transaction((tx) => tx.query<{ n: number }>('SELECT 42::int8 AS n'));
      expect(inTx.rows).toEqual([{ n: 42 }]);
    } finally {
      await client.close();
    }
  });

  it('rolls a transaction back when its work throws, and runs multi-statement SQL', async () => {
    const client = await openPostgresClient(db.url);
    try {
      await client.exec('CREATE TABLE t (n INT); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);');
      await expect(
        client.transaction(async (tx) => {
          await tx.query('INSERT INTO t VALUES ($1)', [3]);
          await tx.exec('INSERT INTO t VALUES (4); INSERT INTO t VALUES (5);');
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect((await client.query<{ n: number }>('SELECT n FROM t ORDER BY n')).rows).toEqual([
        { n: 1 },
        { n: 2 },
      ]);
      expect(
        await client.transaction(async (tx) => (await tx.query('INSERT INTO t VALUES (6)'), 'done')),
      ).toBe('done');
      expect((await client.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows).toEqual([
        { n: 3 },
      ]);
    } finally {
      await client.close();
    }
  });

  it('ends every connection on close, leases included, and refuses queries after', async () => {
    const client = await openPostgresClient(db.url);
    await Promise.all([
      client.query('SELECT pg_sleep(0.05)'),
      client.query('SELECT pg_sleep(0.05)'),
      client.withLease('agent:gpu1', () => client.query('SELECT 1')),
    ]);
    expect(await connections()).toBeGreaterThanOrEqual(3);
    await client.close();
    await client.close(); // a second close is harmless
    const deadline = Date.now() + 10_000;
    while ((await connections()) > 0 && Date.now() < deadline)
      await new Promise((done) => setTimeout(done, 50));
    expect(await connections()).toBe(0);
    await expect(client.query('SELECT 1')).rejects.toThrow();
  });

  it('survives the server dropping a held lease, which frees the lease for others', async () => {
    const [holder, other] = [await openPostgresClient(db.url), await openPostgresClient(db.url)];
    try {
      const result = await holder.withLease('agent:gpu1', async () => {
        const [lease] = await pgQuery<{ pid: number }>(
          PG_URL!,
          `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
           WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1`,
          [db.name],
        );
        expect(await other.withLease('agent:gpu1', async () => 'taken')).toBeNull();
        await pgQuery(PG_URL!, 'SELECT pg_terminate_backend($1)', [lease!.pid]);
        const deadline = Date.now() + 10_000;
        let taken: string | null = null;
        while (taken === null && Date.now() < deadline)
          taken = await other.withLease('agent:gpu1', async () => 'taken');
        expect(taken).toBe('taken');
        return 'work finished';
      });
      expect(result).toBe('work finished');
      expect(await holder.withLease('agent:gpu1', async () => 'again')).toBe('again');
      expect((await holder.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    } finally {
      await holder.close();
      await other.close();
    }
  });

  it('names host, port and database, never the password, when the database is missing', async () => {
    const url = new URL(PG_URL!);
    url.password = 'hunter2';
    url.pathname = '/fst_missing';
    const err = await openPostgresClient(url.toString()).catch((error: unknown) => error);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      code: 'E_CATALOG',
      message: `cannot reach the PostgreSQL catalog at ${url.hostname}:${url.port}/fst_missing (database "fst_missing" does not exist)`,
    });
  });
});

describe('PostgreSQL client without a server', () => {
  it('fails to open with one line naming where it tried, never the password', async () => {
    const port = await freePort();
    const err = await openPostgresClient(`postgres://forge:hunter2@127.0.0.1:${port}/catalog`).catch(
      (error: unknown) => error,
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      code: 'E_CATALOG',
      message: `cannot reach the PostgreSQL catalog at 127.0.0.1:${port}/catalog (ECONNREFUSED)`,
    });
  });
});
