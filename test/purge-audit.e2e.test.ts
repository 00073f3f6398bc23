// Purge audit rows an interrupted run left `requested` get their outcome on the next purge: from the
// manifest, from the agent's journal of what it deleted, or `unknown` with why.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurgeSummary } from '../common/run-results.js';
import { manifestOf, purgeDirect } from './helpers/agent-api.js';
import { fakePng, put } from './helpers/files.js';
import { type Started, runCli, startAgent, syncJson, tempDir } from './helpers/processes.js';

const OLD = new Date(Date.now() - 2 * 24 * 3600_000);
const DEAD_RUN = 'dead0001';

interface Row {
  container_path: string;
  purge_run_id: string | null;
  purge_outcome: string | null;
  purged_at: Date | null;
}

/** Opens the embedded catalog of `dest` (no forge-sync process may have it open) for `work`. */
async function withCatalog<T>(dest: string, work: (db: PGlite) => Promise<T>): Promise<T> {
  const db = await PGlite.create(join(dest, '.forge-sync/catalog'));
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

describe('requested purge rows of an interrupted run', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let agent: Started;
  let deletedAt: string;

  beforeAll(async () => {
    work = await tempDir('fms-audit-');
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    for (const name of ['deleted.png', 'left.png', 'gone.png']) await put(out, name, fakePng(100), OLD);
    agent = await startAgent([out], ['--state-dir', join(work.path, 'state')]);
    const sync = await syncJson(dest, { gpu1: agent.url });
    expect(sync.code, sync.stderr).toBe(0);

    // What a controller killed mid-purge leaves: every file of its batch marked requested, and the
    // agent having gone on with the request after it hung up (deleted.png). Meanwhile someone
    // removes gone.png by hand; left.png was never reached.
    const manifest = await manifestOf(agent.url);
    const answer = await purgeDirect(agent.url, {
      runId: DEAD_RUN,
      files: [manifest.get('output/deleted.png')!],
    });
    expect(answer.results).toEqual([{ path: 'output/deleted.png', outcome: 'purged' }]);
    await rm(join(out, 'gone.png'));
    await withCatalog(dest, (db) =>
      db.query(`UPDATE files SET purge_run_id = $1, purge_outcome = 'requested'`, [DEAD_RUN]),
    );
    const journal = await purgeDirect(agent.url, {
      dryRun: true,
      files: [manifest.get('output/deleted.png')!],
    });
    deletedAt = journal.results[0]!.purgedBy!.at;
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('settles each on the next purge, and that purge closes what it then deletes', async () => {
    const result = await runCli([
      'purge',
      '--dest',
      dest,
      '--agent',
      `gpu1=${agent.url}`,
      '--older-than',
      '1d',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as PurgeSummary;
    expect(summary.agents[0]!.purged).toEqual(['output/left.png']);
    const rows = await withCatalog(dest, async (db) => {
      const { rows } = await db.query<Row>(
        'SELECT container_path, purge_run_id, purge_outcome, purged_at FROM files ORDER BY container_path',
      );
      return rows;
    });
    expect(rows.filter((row) => row.purge_outcome === 'requested')).toEqual([]);
    const byPath = new Map(rows.map((row) => [row.container_path, row]));
    // Deleted by the interrupted run: the agent's journal says so, and when.
    expect(byPath.get('output/deleted.png')).toMatchObject({
      purge_run_id: DEAD_RUN,
      purge_outcome: 'purged',
    });
    expect(byPath.get('output/deleted.png')!.purged_at!.toISOString()).toBe(deletedAt);
    // Still there after the interrupted run, so it was not deleted then; this purge deleted it.
    expect(byPath.get('output/left.png')).toMatchObject({
      purge_run_id: summary.runId,
      purge_outcome: 'purged',
    });
    expect(byPath.get('output/left.png')!.purged_at).not.toBeNull();
    // Gone, but not by any purge this agent remembers: unknown, with what the agent saw.
    expect(byPath.get('output/gone.png')).toMatchObject({
      purge_run_id: DEAD_RUN,
      purge_outcome: 'unknown:vanished',
      purged_at: null,
    });
  });
});
