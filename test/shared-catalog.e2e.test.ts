// End to end: two controllers with their own --dest share one PostgreSQL catalog and sync one agent at once.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakePng, put, putLarge, treeDigest } from './helpers/files.js';
import { type FreshDatabase, describePg, freshDatabase, pgQuery } from './helpers/postgres.js';
import {
  type Started,
  type SyncJson,
  freePort,
  plainLines,
  runCli,
  startAgent,
  syncJson,
  tempDir,
} from './helpers/processes.js';

type AgentJson = SyncJson['agents'][number] & { skipped?: string };

const SMALL_FILES = 40;
const FILES = SMALL_FILES + 1;

describePg('controllers sharing a PostgreSQL catalog', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let db: FreshDatabase;
  let out: string;
  let agent: Started;

  beforeAll(async () => {
    work = await tempDir('fms-shared-');
    db = await freshDatabase();
    out = join(work.path, 'output');
    for (let i = 0; i < SMALL_FILES; i++)
      await put(out, `txt2img-images/2026-11-24/${String(i).padStart(5, '0')}-${i}.png`, fakePng(4000));
    // Large enough that the first sync still holds the agent when the second one asks for it.
    await putLarge(out, 'video/ComfyUI_00001_.mkv', 64 * 1024 * 1024);
    agent = await startAgent([out]);
  });

  afterAll(async () => {
    await agent?.stop();
    await db?.[Symbol.asyncDispose]();
    await work?.[Symbol.asyncDispose]();
  });

  it('stores each file exactly once across both destinations, with one catalog row each', async () => {
    const destA = join(work.path, 'dest-a');
    const destB = join(work.path, 'dest-b');
    // One takes the URL as a flag, the other from the environment, as a deployment might.
    const [a, b] = await Promise.all([
      syncJson(destA, { gpu1: agent.url }, ['--catalog', db.url]),
      syncJson(destB, { gpu1: agent.url }, [], { FORGE_SYNC_CATALOG_URL: db.url }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);

    const runs = [
      { dest: destA, agent: a.summary!.agents[0] as AgentJson },
      { dest: destB, agent: b.summary!.agents[0] as AgentJson },
    ];
    const worker = runs.find((run) => run.agent.filesTransferred > 0);
    expect(worker, JSON.stringify(runs)).toBeDefined();
    const idle = runs.find((run) => run !== worker)!;
    expect(worker!.agent).toMatchObject({ ok: true, filesTransferred: FILES, filesUnchanged: 0, errors: 0 });
    // The other one either found the agent leased, or came after and found every file catalogued.
    if (idle.agent.skipped !== undefined) {
      expect(idle.agent).toMatchObject({
        ok: true,
        skipped: 'another controller holds this agent',
        filesTransferred: 0,
        filesUnchanged: 0,
        errors: 0,
      });
    } else {
      expect(idle.agent).toMatchObject({ ok: true, filesTransferred: 0, filesUnchanged: FILES, errors: 0 });
    }

    const source = await treeDigest(out);
    expect(source.size).toBe(FILES);
    expect(await treeDigest(join(worker!.dest, 'gpu1', 'output'))).toEqual(source);
    expect(await treeDigest(idle.dest)).toEqual(new Map());

    const rows = await pgQuery<{ agent: string; container_path: string; stored_path: string; n: number }>(
      db.url,
      `SELECT agent, container_path, stored_path, count(*) OVER (PARTITION BY container_path)::int AS n
       FROM files ORDER BY container_path`,
    );
    expect(rows).toEqual(
      [...source.keys()].sort().map((path) => ({
        agent: 'gpu1',
        container_path: `output/${path}`,
        stored_path: `gpu1/output/${path}`,
        n: 1,
      })),
    );
    const syncs = await pgQuery<{ agent: string; ok: boolean }>(db.url, 'SELECT agent, ok FROM agent_syncs');
    expect(syncs).toEqual([{ agent: 'gpu1', ok: true }]);

    // Later passes from either side agree that everything is stored.
    const again = await syncJson(idle.dest, { gpu1: agent.url }, ['--catalog', db.url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.summary!.totals).toMatchObject({ filesTransferred: 0, filesUnchanged: FILES, errors: 0 });
    expect(await treeDigest(idle.dest)).toEqual(new Map());
    expect(
      (await pgQuery<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM files'))[0]!.n,
      'no duplicate rows',
    ).toBe(FILES);
  });
});

describe('sync with an unreachable PostgreSQL catalog', () => {
  it('prints one line naming the server, never the password, and exits non-zero', async () => {
    const work = await tempDir('fms-nopg-');
    try {
      const dest = join(work.path, 'synced');
      const agentPort = await freePort();
      const result = await runCli([
        'sync',
        '--dest',
        dest,
        '--agent',
        `gpu1=http://127.0.0.1:${agentPort}`,
        '--catalog',
        'postgres://forge:hunter2@127.0.0.1:1/x',
      ]);
      expect(result.code, result.stderr).toBe(1);
      expect(plainLines(result.stderr)).toEqual([
        'forge-sync: cannot reach the PostgreSQL catalog at 127.0.0.1:1/x (ECONNREFUSED)',
      ]);
      expect(result.stderr + result.stdout).not.toContain('hunter2');
      expect(await treeDigest(dest)).toEqual(new Map());
    } finally {
      await work[Symbol.asyncDispose]();
    }
  });
});
