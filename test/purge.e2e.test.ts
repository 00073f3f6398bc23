// End to end purge: real agents and real `forge-sync sync`/`purge` processes, backdated files, the catalog audited after.
import {
  link,
  lstat,
  mkdir,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionedPath } from '../common/path-safety.js';
import type { PurgeFileResult, PurgeRequestFile } from '../common/protocol.js';
import type { PurgeSummary } from '../common/run-results.js';
import { createXxh64 } from '../common/xxh64.js';
import { ack, archiveReport, manifestOf, purgeAuth, purgeDirect, readAuth } from './helpers/agent-api.js';
import { fakePng, put, treeDigest } from './helpers/files.js';
import { type Started, runCli, startAgent, syncJson, tempDir } from './helpers/processes.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Old enough for `--older-than 1d` and the agent's 1h floor; one fixed instant, so ties sort by path. */
const OLD = new Date(Date.now() - 2 * DAY);
const YOUNG = (): Date => new Date(Date.now() - 10 * MINUTE);

async function xxh64Of(bytes: Buffer): Promise<string> {
  const hasher = await createXxh64();
  hasher.update(bytes);
  return hasher.hex();
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** `forge-sync purge --json` against the given agents; parses the summary. */
async function purgeJson(
  dest: string,
  agents: Record<string, string>,
  extra: string[] = [],
): Promise<{ code: number | null; stderr: string; summary: PurgeSummary }> {
  const agentArgs = Object.entries(agents).flatMap(([name, url]) => ['--agent', `${name}=${url}`]);
  const result = await runCli(['purge', '--dest', dest, ...agentArgs, '--json', ...extra]);
  try {
    return { code: result.code, stderr: result.stderr, summary: JSON.parse(result.stdout) as PurgeSummary };
  } catch {
    throw new Error(`purge printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** Relative paths of the regular files below `root`, dot files (a left-over quarantine) included. */
async function filesUnder(root: string): Promise<string[]> {
  return [...(await treeDigest(root)).keys()].sort();
}

/** Bytes written into containers (every root here is named `output`), by `<container path>@<xxh64>`. */
class Written {
  readonly versions = new Map<string, Buffer>();

  async put(rootDir: string, rel: string, content: Buffer, mtime: Date): Promise<string> {
    const key = `output/${rel}@${await xxh64Of(content)}`;
    this.versions.set(key, content);
    await put(rootDir, rel, content, mtime);
    return key;
  }
}

interface CatalogRow {
  container_path: string;
  stored_path: string;
  size: string;
  xxh64: string;
  purged_at: Date | null;
  purge_run_id: string | null;
  purge_outcome: string | null;
}

/** Every catalog row, read from <dest>/.forge-sync/catalog after the CLI process has exited. */
async function catalogRows(dest: string): Promise<CatalogRow[]> {
  const db = await PGlite.create(join(dest, '.forge-sync/catalog'));
  try {
    const { rows } = await db.query<CatalogRow>(
      `SELECT container_path, stored_path, size::text, xxh64, purged_at, purge_run_id, purge_outcome
       FROM files ORDER BY id`,
    );
    return rows;
  } finally {
    await db.close();
  }
}

/**
 * The audit: the rows marked purged are exactly `purgedBy` (`path@xxh64` → the purging run's id),
 * and each names a stored copy on disk holding exactly the bytes written in the container.
 */
async function auditPurged(
  dest: string,
  purgedBy: Map<string, string>,
  written: Written,
): Promise<CatalogRow[]> {
  const rows = await catalogRows(dest);
  const purged = rows.filter((row) => row.purged_at !== null);
  expect(new Map(purged.map((row) => [`${row.container_path}@${row.xxh64}`, row.purge_run_id]))).toEqual(
    purgedBy,
  );
  for (const row of purged) {
    const key = `${row.container_path}@${row.xxh64}`;
    expect(row.purge_outcome, key).toBe('purged');
    const bytes = await readFile(join(dest, ...row.stored_path.split('/')));
    expect(bytes.length, key).toBe(Number(row.size));
    expect(await xxh64Of(bytes), key).toBe(row.xxh64);
    expect(written.versions.has(key), `${key} was written`).toBe(true);
    expect(bytes.equals(written.versions.get(key)!), `${key} holds the bytes written`).toBe(true);
  }
  return rows;
}

describe('purge end to end', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    work = await tempDir('fms-purge-');
  });

  afterAll(async () => {
    await work?.[Symbol.asyncDispose]();
  });

  describe('what is purged and what is kept', () => {
    const day = 'txt2img-images/2026-11-24';
    const written = new Written();
    const purgedBy = new Map<string, string>();
    const bytes: Record<string, Buffer> = {};
    const keys: Record<string, string> = {};
    let out: string;
    let host: string;
    let dest: string;
    let agent: Started;
    let dryRunList: string[];
    const allKept = {
      'not-synced': 2,
      'too-young': 1,
      'host-copy-corrupt': 1,
      'host-copy-missing': 1,
      'host-copy-mismatch': 1,
    };

    beforeAll(async () => {
      out = join(work.path, 'rules/output');
      dest = join(work.path, 'rules/synced');
      host = join(dest, 'gpu1/output');
      const files: [string, string, Buffer, Date][] = [
        ['png', `${day}/00000-1.png`, fakePng(200), OLD],
        ['txt', `${day}/00000-1.txt`, Buffer.from('photo of a duck\nSteps: 20, Seed: 1, Size: 512x512'), OLD],
        ['young', 'young.png', fakePng(210), YOUNG()],
        ['replaced', 'replaced.png', fakePng(220), OLD],
        ['corrupt', 'corrupt.png', fakePng(230), OLD],
        ['deleted', 'deleted.png', fakePng(240), OLD],
        ['resized', 'resized.png', fakePng(250), OLD],
      ];
      for (const [name, rel, content, mtime] of files) {
        bytes[name] = content;
        keys[name] = await written.put(out, rel, content, mtime);
      }
      agent = await startAgent([out]);
      const sync = await syncJson(dest, { gpu1: agent.url });
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.summary!.totals).toMatchObject({ filesTransferred: 7, errors: 0 });

      // After the sync: one file is replaced in the container, one appears, three host copies are damaged.
      bytes.replacement = fakePng(260);
      keys.replacement = await written.put(out, 'replaced.png', bytes.replacement, OLD);
      bytes.never = fakePng(270);
      keys.never = await written.put(out, 'never.png', bytes.never, OLD);
      const corrupt = Buffer.from(bytes.corrupt!);
      corrupt[20] = corrupt[20]! ^ 0xff;
      await rm(join(host, 'corrupt.png'));
      await writeFile(join(host, 'corrupt.png'), corrupt);
      await rm(join(host, 'deleted.png'));
      await writeFile(join(host, 'resized.png'), Buffer.concat([bytes.resized!, Buffer.from([0])]));
    });

    afterAll(async () => {
      await agent?.stop();
    });

    it('with --no-verify, lists a same-size corrupted host copy as safe (dry run)', async () => {
      const { code, summary } = await purgeJson(dest, { gpu1: agent.url }, [
        '--older-than',
        '1d',
        '--no-verify',
        '--dry-run',
      ]);
      expect(code).toBe(1);
      expect(summary.agents[0]!.purged).toEqual([
        'output/corrupt.png',
        `output/${day}/00000-1.png`,
        `output/${day}/00000-1.txt`,
      ]);
      expect(summary.agents[0]!.kept).toEqual({
        'not-synced': 2,
        'too-young': 1,
        'host-copy-missing': 1,
        'host-copy-mismatch': 1,
      });
    });

    it('with --dry-run, re-hashes host copies by default, deletes nothing and lists only old, stored, intact files', async () => {
      const before = await treeDigest(out);
      const { code, summary } = await purgeJson(dest, { gpu1: agent.url }, [
        '--older-than',
        '1d',
        '--dry-run',
      ]);
      expect(code, 'host copy problems fail the run').toBe(1);
      expect(summary.dryRun).toBe(true);
      const result = summary.agents[0]!;
      expect(result).toMatchObject({ name: 'gpu1', ok: false, dryRun: true, runId: summary.runId });
      expect(result.error).toBeUndefined();
      dryRunList = result.purged;
      expect(dryRunList).toEqual([`output/${day}/00000-1.png`, `output/${day}/00000-1.txt`]);
      expect(result.filesPurged).toBe(2);
      expect(result.bytesFreed).toBe(bytes.png!.length + bytes.txt!.length);
      expect(result.kept).toEqual(allKept);
      expect(result.problems.map((problem) => [problem.code, problem.path]).sort()).toEqual([
        ['E_HOST_COPY', 'output/corrupt.png'],
        ['E_HOST_COPY', 'output/deleted.png'],
        ['E_HOST_COPY', 'output/resized.png'],
      ]);
      expect(summary.totals).toEqual({ filesPurged: 2, bytesFreed: result.bytesFreed, kept: allKept });
      expect(await treeDigest(out)).toEqual(before);
      const touched = (await catalogRows(dest)).filter((row) => row.purge_run_id !== null || row.purged_at);
      expect(touched).toEqual([]);
    });

    it('deletes exactly what the dry run listed, removes emptied date folders and keeps the root', async () => {
      const { code, summary } = await purgeJson(dest, { gpu1: agent.url }, [
        '--older-than',
        '1d',
        '--verify',
      ]);
      expect(code).toBe(1);
      expect(summary.dryRun).toBe(false);
      const result = summary.agents[0]!;
      expect(result.purged).toEqual(dryRunList);
      expect(result.filesPurged).toBe(2);
      expect(result.bytesFreed).toBe(bytes.png!.length + bytes.txt!.length);
      expect(result.kept).toEqual(allKept);
      expect(summary.totals).toEqual({ filesPurged: 2, bytesFreed: result.bytesFreed, kept: allKept });

      expect(await filesUnder(out)).toEqual([
        'corrupt.png',
        'deleted.png',
        'never.png',
        'replaced.png',
        'resized.png',
        'young.png',
      ]);
      expect(await exists(join(out, day))).toBe(false);
      // Only date folders go: txt2img-images/ stays, as a generator may be about to write into it.
      expect(await readdir(join(out, 'txt2img-images'))).toEqual([]);
      expect((await stat(out)).isDirectory()).toBe(true);
      expect(await readFile(join(host, day, '00000-1.png'))).toEqual(bytes.png);
      expect(await readFile(join(host, day, '00000-1.txt'))).toEqual(bytes.txt);
      purgedBy.set(keys.png!, summary.runId);
      purgedBy.set(keys.txt!, summary.runId);
      const rows = await auditPurged(dest, purgedBy, written);
      const outcomes = Object.fromEntries(rows.map((row) => [row.stored_path, row.purge_outcome]));
      expect(outcomes).toEqual({
        [`gpu1/output/${day}/00000-1.png`]: 'purged',
        [`gpu1/output/${day}/00000-1.txt`]: 'purged',
        'gpu1/output/young.png': null,
        'gpu1/output/replaced.png': null,
        'gpu1/output/corrupt.png': null,
        'gpu1/output/deleted.png': null,
        'gpu1/output/resized.png': null,
      });
    });

    it('stores the replaced file beside its old version on the next sync, and purges it the time after', async () => {
      const sync = await syncJson(dest, { gpu1: agent.url });
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.summary!.totals).toMatchObject({ filesTransferred: 2, filesUnchanged: 4, errors: 0 });
      const versioned = versionedPath('replaced.png', await xxh64Of(bytes.replacement!));
      expect(versioned).toMatch(/^replaced~[0-9a-f]{16}\.png$/);
      expect(await readFile(join(host, versioned))).toEqual(bytes.replacement);
      expect(await readFile(join(host, 'replaced.png'))).toEqual(bytes.replaced);

      const { code, summary } = await purgeJson(dest, { gpu1: agent.url }, [
        '--older-than',
        '1d',
        '--verify',
      ]);
      expect(code).toBe(1);
      const result = summary.agents[0]!;
      expect(result.purged).toEqual(['output/never.png', 'output/replaced.png']);
      expect(result.bytesFreed).toBe(bytes.never!.length + bytes.replacement!.length);
      expect(result.kept).toEqual({
        'too-young': 1,
        'host-copy-corrupt': 1,
        'host-copy-missing': 1,
        'host-copy-mismatch': 1,
      });
      expect(await filesUnder(out)).toEqual(['corrupt.png', 'deleted.png', 'resized.png', 'young.png']);
      purgedBy.set(keys.never!, summary.runId);
      purgedBy.set(keys.replacement!, summary.runId);
      const rows = await auditPurged(dest, purgedBy, written);
      expect(rows.find((row) => row.stored_path === 'gpu1/output/replaced.png')).toMatchObject({
        container_path: 'output/replaced.png',
        purged_at: null,
        purge_run_id: null,
      });
    });
  });

  describe('caps', () => {
    const written = new Written();
    const purgedBy = new Map<string, string>();
    const keys: string[] = [];
    let sizes: number[];
    let out: string;
    let dest: string;
    let agent: Started;

    beforeAll(async () => {
      out = join(work.path, 'caps/output');
      dest = join(work.path, 'caps/synced');
      sizes = [];
      // img-9 is the oldest, so purges go img-9, img-8, ...
      for (let i = 0; i < 10; i++) {
        const content = fakePng(100 + i);
        sizes.push(content.length);
        keys.push(
          await written.put(out, `batch/img-${i}.png`, content, new Date(OLD.getTime() - i * MINUTE)),
        );
      }
      agent = await startAgent([out]);
      const sync = await syncJson(dest, { gpu2: agent.url });
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.summary!.totals).toMatchObject({ filesTransferred: 10, errors: 0 });
    });

    afterAll(async () => {
      await agent?.stop();
    });

    const remaining = (from: number): string[] =>
      Array.from({ length: from + 1 }, (_, i) => `batch/img-${i}.png`).sort();

    it.each([
      { flags: ['--max-percent', '20'], purged: [9, 8], overCap: 8 },
      { flags: ['--max-files', '3'], purged: [7, 6, 5], overCap: 5 },
      { flags: ['--max-files', '5', '--max-percent', '50'], purged: [4, 3], overCap: 3 },
    ])('$flags deletes the oldest $purged.length and keeps $overCap over the cap', async (step) => {
      const { code, summary } = await purgeJson(dest, { gpu2: agent.url }, [
        '--older-than',
        '1d',
        ...step.flags,
      ]);
      expect(code, JSON.stringify(summary)).toBe(0);
      const result = summary.agents[0]!;
      expect(result.purged).toEqual(step.purged.map((i) => `output/batch/img-${i}.png`));
      expect(result.filesPurged).toBe(step.purged.length);
      const freed = step.purged.reduce((sum, i) => sum + sizes[i]!, 0);
      expect(result.bytesFreed).toBe(freed);
      expect(result.kept).toEqual({ 'over-cap': step.overCap });
      expect(summary.totals).toEqual({
        filesPurged: step.purged.length,
        bytesFreed: freed,
        kept: { 'over-cap': step.overCap },
      });
      expect(await filesUnder(out)).toEqual(remaining(Math.min(...step.purged) - 1));
      for (const i of step.purged) purgedBy.set(keys[i]!, summary.runId);
      await auditPurged(dest, purgedBy, written);
    });
  });

  describe('a reused name: purge, sync, purge', () => {
    const written = new Written();
    const purgedBy = new Map<string, string>();
    const name = 'ComfyUI_00001_.png';
    let out: string;
    let dest: string;
    let agent: Started;

    beforeAll(async () => {
      out = join(work.path, 'cycle/output');
      dest = join(work.path, 'cycle/synced');
      await mkdir(out, { recursive: true });
      agent = await startAgent([out]);
    });

    afterAll(async () => {
      await agent?.stop();
    });

    it('keeps every version ever written, byte for byte, each under its own name', async () => {
      const expected = new Map<string, string>();
      for (const version of ['v1', 'v2', 'v3']) {
        // Same size and mtime each time, and likely the freed inode too: only the bytes differ.
        const content = fakePng(64, version);
        const key = await written.put(out, name, content, OLD);
        const hash = key.slice(key.indexOf('@') + 1);
        const sync = await syncJson(dest, { gpu3: agent.url });
        expect(sync.code, sync.stderr).toBe(0);
        expect(sync.summary!.totals).toMatchObject({ filesTransferred: 1, filesUnchanged: 0, errors: 0 });
        const storedName = version === 'v1' ? name : versionedPath(name, hash);
        expect(storedName).toMatch(
          version === 'v1' ? /^ComfyUI_00001_\.png$/ : /^ComfyUI_00001_~[0-9a-f]{16}\.png$/,
        );
        expect(await readFile(join(dest, 'gpu3/output', storedName))).toEqual(content);
        expected.set(storedName, (await treeDigest(out)).get(name)!);

        const { code, summary } = await purgeJson(dest, { gpu3: agent.url }, ['--older-than', '1d']);
        expect(code, JSON.stringify(summary)).toBe(0);
        expect(summary.agents[0]).toMatchObject({
          purged: [`output/${name}`],
          filesPurged: 1,
          bytesFreed: content.length,
        });
        expect(summary.agents[0]!.kept).toEqual({});
        expect(await filesUnder(out)).toEqual([]);
        expect((await stat(out)).isDirectory()).toBe(true);
        expect(await treeDigest(join(dest, 'gpu3/output'))).toEqual(expected);
        purgedBy.set(key, summary.runId);
      }
      expect(expected.size).toBe(3);
      await auditPurged(dest, purgedBy, written);
    });
  });

  describe('refusal after a failed sync', () => {
    const written = new Written();
    const purgedBy = new Map<string, string>();
    let out4: string;
    let out6: string;
    let dest: string;
    let gpu4: Started;
    let gpu6: Started;
    let sizes: Record<string, number>;

    beforeAll(async () => {
      out4 = join(work.path, 'refuse/gpu4/output');
      out6 = join(work.path, 'refuse/gpu6/output');
      dest = join(work.path, 'refuse/synced');
      const files: [string, string, Buffer, Date][] = [
        [out4, 'a.png', fakePng(80), OLD],
        [out4, 'b.png', fakePng(90), OLD],
        [out6, 'c.png', fakePng(100), OLD],
        [out6, 'd.png', fakePng(110), OLD],
        [out6, 'e.png', fakePng(120), YOUNG()],
      ];
      sizes = {};
      for (const [root, rel, content, mtime] of files) {
        sizes[rel] = content.length;
        await written.put(root, rel, content, mtime);
      }
      [gpu4, gpu6] = await Promise.all([startAgent([out4]), startAgent([out6])]);
      const sync = await syncJson(dest, { gpu4: gpu4.url, gpu6: gpu6.url });
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.summary!.totals).toMatchObject({ filesTransferred: 5, errors: 0 });
    });

    afterAll(async () => {
      await Promise.all([gpu4?.stop(), gpu6?.stop()]);
    });

    it('refuses an agent whose last sync failed and deletes nothing there, while purging the other', async () => {
      const failed = await syncJson(dest, { gpu4: gpu4.url }, [], {
        FORGE_SYNC_TOKEN: 'wrong-token-0123456789',
      });
      expect(failed.code).toBe(1);
      expect(failed.summary!.agents[0]!.error?.code).toBe('E_AUTH');

      const { code, summary } = await purgeJson(dest, { gpu4: gpu4.url, gpu6: gpu6.url }, [
        '--older-than',
        '1d',
      ]);
      expect(code).toBe(1);
      expect(summary.ok).toBe(false);
      const [refused, purged] = summary.agents;
      expect(refused).toMatchObject({
        name: 'gpu4',
        ok: false,
        filesPurged: 0,
        bytesFreed: 0,
        purged: [],
      });
      expect(refused!.kept).toEqual({});
      expect(refused!.error?.code).toBe('E_PURGE_REFUSED');
      expect(refused!.error?.message).toContain(failed.summary!.runId);
      expect(purged).toMatchObject({
        name: 'gpu6',
        ok: true,
        filesPurged: 2,
        bytesFreed: sizes['c.png']! + sizes['d.png']!,
        purged: ['output/c.png', 'output/d.png'],
      });
      expect(purged!.kept).toEqual({ 'too-young': 1 });
      expect(purged!.error).toBeUndefined();
      expect(summary.totals).toEqual({
        filesPurged: 2,
        bytesFreed: sizes['c.png']! + sizes['d.png']!,
        kept: { 'too-young': 1 },
      });
      expect(await filesUnder(out4)).toEqual(['a.png', 'b.png']);
      expect(await filesUnder(out6)).toEqual(['e.png']);
      for (const [key] of written.versions) {
        if (key.startsWith('output/c.png@') || key.startsWith('output/d.png@'))
          purgedBy.set(key, summary.runId);
      }
      const rows = await auditPurged(dest, purgedBy, written);
      expect(rows.filter((row) => row.stored_path.startsWith('gpu4/') && row.purge_run_id !== null)).toEqual(
        [],
      );
    });

    it('refuses an agent never synced into this --dest, and deletes nothing', async () => {
      const { code, summary } = await purgeJson(join(work.path, 'refuse/elsewhere'), { gpu4: gpu4.url }, [
        '--older-than',
        '1d',
      ]);
      expect(code).toBe(1);
      expect(summary.agents[0]!.error?.code).toBe('E_PURGE_REFUSED');
      expect(summary.agents[0]!.error?.message).toContain('never been synced');
      expect(summary.totals).toEqual({ filesPurged: 0, bytesFreed: 0, kept: {} });
      expect(await filesUnder(out4)).toEqual(['a.png', 'b.png']);
    });

    it('purges the refused agent once a sync of it has succeeded', async () => {
      const sync = await syncJson(dest, { gpu4: gpu4.url });
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.summary!.totals).toMatchObject({ filesTransferred: 0, filesUnchanged: 2 });
      const { code, summary } = await purgeJson(dest, { gpu4: gpu4.url }, ['--older-than', '1d']);
      expect(code, JSON.stringify(summary)).toBe(0);
      expect(summary.agents[0]).toMatchObject({
        purged: ['output/a.png', 'output/b.png'],
        bytesFreed: sizes['a.png']! + sizes['b.png']!,
      });
      expect(await filesUnder(out4)).toEqual([]);
      for (const [key] of written.versions) {
        if (key.startsWith('output/a.png@') || key.startsWith('output/b.png@'))
          purgedBy.set(key, summary.runId);
      }
      await auditPurged(dest, purgedBy, written);
    });
  });

  describe("the agent's floor", () => {
    const written = new Written();
    let out: string;
    let dest: string;
    let agent: Started;
    let keys: Record<string, string>;
    let old: Buffer;
    let firstRun: string;

    beforeAll(async () => {
      out = join(work.path, 'floor/output');
      dest = join(work.path, 'floor/synced');
      old = fakePng(80);
      keys = {
        old: await written.put(out, 'old.png', old, OLD),
        recent: await written.put(out, 'recent.png', fakePng(90), YOUNG()),
      };
      agent = await startAgent([out], ['--min-purge-age', '1h']);
      const sync = await syncJson(dest, { gpu5: agent.url });
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.summary!.totals).toMatchObject({ filesTransferred: 2, errors: 0 });
    });

    afterAll(async () => {
      await agent?.stop();
    });

    it('keeps a file younger than --min-purge-age even when the controller asks for it', async () => {
      const { code, summary } = await purgeJson(dest, { gpu5: agent.url }, ['--older-than', '1m']);
      expect(code, JSON.stringify(summary)).toBe(0);
      expect(summary.agents[0]).toMatchObject({
        purged: ['output/old.png'],
        filesPurged: 1,
      });
      expect(summary.agents[0]!.kept).toEqual({ 'below-floor': 1 });
      expect(summary.totals.kept).toEqual({ 'below-floor': 1 });
      expect(await filesUnder(out)).toEqual(['recent.png']);
      firstRun = summary.runId;
      const rows = await auditPurged(dest, new Map([[keys.old!, firstRun]]), written);
      expect(rows.find((row) => row.container_path === 'output/recent.png')).toMatchObject({
        purged_at: null,
        purge_run_id: summary.runId,
        purge_outcome: 'kept:below-floor',
      });
    });

    it('keeps the catalog consistent when purged bytes come back under the same name', async () => {
      // A generator rerun with the same seed writes the same bytes under the reused name.
      await put(out, 'old.png', old, YOUNG());
      const sync = await syncJson(dest, { gpu5: agent.url });
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.summary!.totals).toMatchObject({ filesTransferred: 0, filesUnchanged: 2 });
      const kept = await purgeJson(dest, { gpu5: agent.url }, ['--older-than', '1m']);
      expect(kept.code, JSON.stringify(kept.summary)).toBe(0);
      expect(kept.summary.agents[0]!.purged).toEqual([]);
      expect(kept.summary.agents[0]!.kept).toEqual({ 'below-floor': 2 });
      expect(await filesUnder(out)).toEqual(['old.png', 'recent.png']);
      // The row's last purge kept the file: it must not still claim the first run's deletion.
      const rows = await auditPurged(dest, new Map(), written);
      expect(rows.find((row) => row.container_path === 'output/old.png')).toMatchObject({
        purged_at: null,
        purge_run_id: kept.summary.runId,
        purge_outcome: 'kept:below-floor',
      });

      await utimes(join(out, 'old.png'), OLD, OLD);
      const again = await purgeJson(dest, { gpu5: agent.url }, ['--older-than', '1m']);
      expect(again.code, JSON.stringify(again.summary)).toBe(0);
      expect(again.summary.agents[0]!.purged).toEqual(['output/old.png']);
      expect(again.summary.agents[0]!.kept).toEqual({ 'below-floor': 1 });
      expect(await filesUnder(out)).toEqual(['recent.png']);
      await auditPurged(dest, new Map([[keys.old!, again.summary.runId]]), written);
    });
  });

  describe('requests the agent refuses', () => {
    let out: string;
    let agent: Started;
    let manifest: Map<string, PurgeRequestFile>;
    const outsideFiles: string[] = [];

    /** What a stat of `path` says, as a purge request would name it. */
    async function identity(path: string): Promise<Omit<PurgeRequestFile, 'path'>> {
      const stats = await stat(path);
      return {
        size: stats.size,
        mtimeMs: stats.mtimeMs,
        ino: stats.ino,
        xxh64: await xxh64Of(await readFile(path)),
      };
    }

    async function purgeRequest(
      files: PurgeRequestFile[],
      dryRun = false,
      olderThanMs?: number,
    ): Promise<PurgeFileResult[]> {
      const answer = await purgeDirect(agent.url, {
        dryRun,
        files,
        ...(olderThanMs !== undefined ? { olderThanMs } : {}),
      });
      expect(answer.status, JSON.stringify(answer.error)).toBe(200);
      return answer.results;
    }

    beforeAll(async () => {
      out = join(work.path, 'hostile/output');
      outsideFiles.push(
        await put(work.path, 'hostile/secret.png', fakePng(50), OLD),
        await put(work.path, 'hostile/outside/secret2.png', fakePng(60), OLD),
        await put(work.path, 'hostile/other-root/x.png', fakePng(70), OLD),
      );
      await put(out, 'real.png', fakePng(80), OLD);
      await put(out, 'fresh.png', fakePng(90), YOUNG());
      await symlink(outsideFiles[0]!, join(out, 'link.png'));
      await symlink(join(work.path, 'hostile/outside'), join(out, 'linked-dir'));
      agent = await startAgent([out]);
      manifest = await manifestOf(agent.url);
      expect([...manifest.keys()].sort()).toEqual(['output/fresh.png', 'output/real.png']);
    });

    afterAll(async () => {
      await agent?.stop();
    });

    it('answers 401 without the token', async () => {
      const response = await fetch(`${agent.url}/v1/purge`, {
        method: 'POST',
        body: JSON.stringify({ runId: 'x', dryRun: false, files: [] }),
      });
      expect(response.status).toBe(401);
    });

    it('keeps paths outside the roots, symlinks, changed or vanished files and files below its floor', async () => {
      const [secret, secret2, x] = outsideFiles as [string, string, string];
      const real = manifest.get('output/real.png')!;
      const passwdExists = await exists('/etc/passwd');
      const passwd = await identity(passwdExists ? '/etc/passwd' : secret);
      const results = await purgeRequest([
        { path: 'output/../secret.png', ...(await identity(secret)) },
        { path: '/etc/passwd', ...passwd },
        { path: 'other-root/x.png', ...(await identity(x)) },
        { path: 'output/link.png', ...(await identity(secret)) },
        { path: 'output/linked-dir/secret2.png', ...(await identity(secret2)) },
        { ...real, ino: real.ino + 1 },
        { ...real, mtimeMs: real.mtimeMs + 1000 },
        { ...real, xxh64: real.xxh64 === '0000000000000000' ? '0000000000000001' : '0000000000000000' },
        manifest.get('output/fresh.png')!,
        { ...real, path: 'output/gone.png' },
      ]);
      expect(results.map(({ path, outcome, reason }) => ({ path, outcome, reason }))).toEqual([
        { path: 'output/../secret.png', outcome: 'kept', reason: 'unsafe' },
        { path: '/etc/passwd', outcome: 'kept', reason: 'unsafe' },
        { path: 'other-root/x.png', outcome: 'kept', reason: 'unknown-root' },
        { path: 'output/link.png', outcome: 'kept', reason: 'not-regular' },
        { path: 'output/linked-dir/secret2.png', outcome: 'kept', reason: 'unsafe' },
        { path: 'output/real.png', outcome: 'kept', reason: 'changed' },
        { path: 'output/real.png', outcome: 'kept', reason: 'changed' },
        { path: 'output/real.png', outcome: 'kept', reason: 'changed' },
        { path: 'output/fresh.png', outcome: 'kept', reason: 'below-floor' },
        { path: 'output/gone.png', outcome: 'kept', reason: 'vanished' },
      ]);
      for (const path of outsideFiles) expect(await exists(path), path).toBe(true);
      expect(await exists('/etc/passwd')).toBe(passwdExists);
      expect((await lstat(join(out, 'link.png'))).isSymbolicLink()).toBe(true);
      expect((await lstat(join(out, 'linked-dir'))).isSymbolicLink()).toBe(true);
      expect(await filesUnder(out)).toEqual(['fresh.png', 'real.png']);
    });

    it('keeps a file with other hard links: its bytes live on elsewhere, maybe outside the roots', async () => {
      const outside = join(out, '..', 'outside-twin.png');
      await writeFile(outside, fakePng(300));
      await utimes(outside, OLD, OLD);
      await link(outside, join(out, 'twin.png'));
      const results = await purgeRequest([{ path: 'output/twin.png', ...(await identity(outside)) }]);
      expect(results).toEqual([
        expect.objectContaining({ path: 'output/twin.png', outcome: 'kept', reason: 'hard-linked' }),
      ]);
      expect(await exists(join(out, 'twin.png'))).toBe(true);
      await rm(join(out, 'twin.png'));
      await rm(outside);
    });

    it('refuses a purge with the read token, or the purge token on a read route: each credential does one thing', async () => {
      const real = manifest.get('output/real.png')!;
      const asReader = await purgeDirect(agent.url, { files: [real] }, readAuth);
      expect(asReader.status).toBe(403);
      expect(asReader.error?.code).toBe('E_FORBIDDEN');
      expect(asReader.error?.message).toContain('purge token');
      const reading = await fetch(`${agent.url}/v1/manifest`, { headers: purgeAuth });
      expect(reading.status).toBe(403);
      expect(await exists(join(out, 'real.png'))).toBe(true);
    });

    it('keeps a file the purge token names with values read from its manifest, when it was never streamed and acknowledged', async () => {
      const real = manifest.get('output/real.png')!;
      for (const dryRun of [true, false]) {
        expect(await purgeRequest([real], dryRun)).toEqual([
          expect.objectContaining({ path: 'output/real.png', outcome: 'kept', reason: 'no-receipt' }),
        ]);
      }
      // Streamed whole, but no controller said it stored it: still no receipt.
      const report = await archiveReport(agent.url, [real]);
      expect(report.sent).toBe(1);
      expect(report.archiveId).toMatch(/^[0-9a-f]{32}$/);
      expect((await purgeRequest([real]))[0]).toMatchObject({ outcome: 'kept', reason: 'no-receipt' });
      // An acknowledgement needs the archive's id, which only the stream's reader learned.
      const guessed = await ack(agent.url, '0'.repeat(32), [real]);
      expect(guessed.body).toMatchObject({
        acknowledged: 0,
        refused: [{ path: real.path, reason: 'unknown-archive' }],
      });
      const wrongBytes = await ack(agent.url, report.archiveId!, [
        { path: real.path, xxh64: '0'.repeat(16) },
      ]);
      expect(wrongBytes.body).toMatchObject({ acknowledged: 0, refused: [{ reason: 'other-content' }] });
      expect((await purgeRequest([real]))[0]).toMatchObject({ outcome: 'kept', reason: 'no-receipt' });
      expect(await filesUnder(out)).toEqual(['fresh.png', 'real.png']);
    });

    it('applies the age the purge asks for by its own clock, whatever the controller believes the time is', async () => {
      const real = manifest.get('output/real.png')!;
      const report = await archiveReport(agent.url, [real]);
      expect((await ack(agent.url, report.archiveId!, [real])).body.acknowledged).toBe(1);
      // The file is two days old. A controller whose clock runs days ahead thinks it is five days
      // old and asks for files older than three days: the agent's own clock says no.
      expect(await purgeRequest([real], false, 3 * DAY)).toEqual([
        expect.objectContaining({ path: 'output/real.png', outcome: 'kept', reason: 'too-young' }),
      ]);
      expect(await exists(join(out, 'real.png'))).toBe(true);
      // And the floor holds whatever age is asked for.
      expect((await purgeRequest([manifest.get('output/fresh.png')!], false, 0))[0]).toMatchObject({
        reason: 'below-floor',
      });
    });

    it('deletes a file only when every check passes, and not in a dry run', async () => {
      const real = manifest.get('output/real.png')!;
      expect(await purgeRequest([real], true, DAY)).toEqual([
        { path: 'output/real.png', outcome: 'would-purge' },
      ]);
      expect(await exists(join(out, 'real.png'))).toBe(true);
      expect(await purgeRequest([real], false, DAY)).toEqual([
        { path: 'output/real.png', outcome: 'purged' },
      ]);
      expect(await filesUnder(out)).toEqual(['fresh.png']);
      for (const path of outsideFiles) expect(await exists(path), path).toBe(true);
      // Its journal remembers the deletion, for a controller that never heard the answer.
      expect(await purgeRequest([real], true)).toEqual([
        expect.objectContaining({
          outcome: 'kept',
          reason: 'vanished',
          purgedBy: { runId: 'direct01', at: expect.any(String) as string },
        }),
      ]);
    });
  });
});
