// The embedded catalog's thread: errors keep PostgreSQL's fields, transactions commit or roll back whole, and they queue.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteClient } from './pglite-client.js';
import type { SqlClient } from './sql-client.js';

describe('the embedded catalog on its own thread', () => {
  let dir: string;
  let db: SqlClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pglite-thread-'));
    db = await openPgliteClient(join(dir, 'catalog'));
    await db.exec('CREATE TABLE t (id int PRIMARY KEY, note text, at timestamptz, big bigint, j jsonb)');
  });

  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers with rows typed as PGlite types them', async () => {
    await db.query('INSERT INTO t VALUES ($1, $2, $3, $4, $5)', [
      1,
      'one',
      '2026-12-06T00:00:00Z',
      '9007199254740993',
      JSON.stringify({ a: [1] }),
    ]);
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM t WHERE id = 1');
    expect(rows).toEqual([
      { id: 1, note: 'one', at: new Date('2026-12-06T00:00:00Z'), big: 9007199254740993n, j: { a: [1] } },
    ]);
  });

  it("fails a statement with PostgreSQL's message and code", async () => {
    const failure = await db.query('INSERT INTO t (id) VALUES (1)').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).toMatchObject({ code: '23505', message: expect.stringContaining('duplicate key') });
  });

  it('rolls a transaction back whole when its work throws, and commits one that returns', async () => {
    const thrown = await db
      .transaction(async (tx) => {
        await tx.query("INSERT INTO t (id, note) VALUES (2, 'two')");
        throw new Error('changed my mind');
      })
      .catch((err: unknown) => err);
    expect((thrown as Error).message).toBe('changed my mind');
    const kept = await db.transaction(async (tx) => {
      await tx.query("INSERT INTO t (id, note) VALUES (3, 'three')");
      return (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0]!.n;
    });
    expect(kept).toBe(2);
    const { rows } = await db.query<{ id: number }>('SELECT id FROM t ORDER BY id');
    expect(rows.map((row) => row.id)).toEqual([1, 3]);
  });

  it('runs transactions begun together one after the other, each seeing the last one committed', async () => {
    await db.exec('CREATE TABLE counter (n int); INSERT INTO counter VALUES (0)');
    const bump = () =>
      db.transaction(async (tx) => {
        const { rows } = await tx.query<{ n: number }>('SELECT n FROM counter');
        await new Promise((resolve) => setTimeout(resolve, 5));
        await tx.query('UPDATE counter SET n = $1', [rows[0]!.n + 1]);
      });
    await Promise.all([bump(), bump(), bump(), bump(), db.query('SELECT 1')]);
    expect((await db.query<{ n: number }>('SELECT n FROM counter')).rows[0]!.n).toBe(4);
  });

  it('reports a failed commit to the caller (a deferred constraint checked at COMMIT)', async () => {
    await db.exec(`CREATE TABLE parent (id int PRIMARY KEY);
      CREATE TABLE child (p int REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`);
    const failure = await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO child VALUES (7)');
      })
      .catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: '23503' });
    expect((await db.query('SELECT * FROM child')).rows).toEqual([]);
  });
});
