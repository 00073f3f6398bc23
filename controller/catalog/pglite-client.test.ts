// The embedded catalog starts from the shipped seed of the installed PGlite, so no initdb runs at a user's first sync.
import { access, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate } from './migrations.js';
import { SEED_DIR, installedPgliteVersion, openPgliteClient, seedFileName } from './pglite-client.js';

describe('PGlite seed', () => {
  it('ships a seed for the installed PGlite version (after an upgrade: npm run pglite-seed)', async () => {
    const version = await installedPgliteVersion();
    const seed = await readFile(new URL(seedFileName(version), SEED_DIR));
    expect(seed.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip
  });

  it('carries every migration, so a first start applies none (after adding one: npm run pglite-seed)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pglite-seed-'));
    try {
      const db = await openPgliteClient(join(dir, 'catalog'));
      const { rows } = await db.query<{ version: number }>(
        'SELECT version FROM schema_migrations ORDER BY version',
      );
      expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
      expect(await migrate(db)).toEqual([]);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('opens a new catalog from it, and opens it again as an existing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pglite-seed-'));
    try {
      const data = join(dir, 'catalog');
      const first = await openPgliteClient(data);
      await first.exec('CREATE TABLE t (x int); INSERT INTO t VALUES (42)');
      await first.close();
      await access(join(data, 'PG_VERSION'));
      const again = await openPgliteClient(data);
      expect((await again.query<{ x: number }>('SELECT x FROM t')).rows).toEqual([{ x: 42 }]);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('unpacks into an empty folder and clears what an interrupted unpack left beside it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pglite-seed-'));
    try {
      const data = join(dir, 'catalog');
      await mkdir(data);
      await mkdir(join(dir, 'catalog.seed-Ab12Cd'));
      await writeFile(join(dir, 'catalog.seed-Ab12Cd', 'PG_VERSION'), '1');
      const db = await openPgliteClient(data);
      expect((await db.query<{ n: number }>('SELECT 1 + 1 AS n')).rows).toEqual([{ n: 2 }]);
      await db.close();
      expect(await readdir(dir)).toEqual(['catalog']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
