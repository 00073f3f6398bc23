// A sync killed mid-transfer leaves no partial file under a final name; the next run cleans up and completes.
// Small files are written in place under a batch journal: what a stop leaves uncatalogued goes at the next start.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, readFile, readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteClient } from '../controller/catalog/pglite-client.js';
import { fakePng, put, putLarge, sha256File, treeDigest, untilTempFileGrows } from './helpers/files.js';
import { BIN, type Started, TOKEN, startAgent, syncJson, tempDir } from './helpers/processes.js';

describe('interrupted sync', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let agent: Started;
  let source: string;

  beforeAll(async () => {
    work = await tempDir();
    source = await putLarge(join(work.path, 'output'), 'video/AnimateDiff_00001.mp4.mkv', 300 * 1024 * 1024);
    agent = await startAgent([join(work.path, 'output')]);
  });
  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it(
    'leaves only a temp file when killed, and the next run removes it and finishes',
    { timeout: 180_000 },
    async () => {
      const dest = join(work.path, 'synced');
      const tmp = join(dest, '.forge-sync/tmp');
      const finalPath = join(dest, 'gpu1/output/video/AnimateDiff_00001.mp4.mkv');
      const child = spawn(process.execPath, [BIN, 'sync', '--dest', dest, '--agent', `gpu1=${agent.url}`], {
        env: { ...process.env, FORGE_SYNC_TOKEN: TOKEN },
        stdio: 'ignore',
      });
      const exited = once(child, 'exit');
      // Wait until the transfer is under way: a temp file with some bytes in it.
      await untilTempFileGrows(tmp, child);
      child.kill('SIGKILL');
      await exited;

      await expect(access(finalPath)).rejects.toThrow();
      expect((await readdir(tmp)).length).toBeGreaterThan(0);

      const result = await syncJson(dest, { gpu1: agent.url });
      expect(result.code, result.stderr).toBe(0);
      expect(result.summary!.totals).toMatchObject({ filesTransferred: 1, errors: 0 });
      expect(await readdir(tmp)).toEqual([]);
      expect(await sha256File(finalPath)).toBe(await sha256File(source));
    },
  );

  it(
    'removes, at the next start, the small files a killed batch wrote in place but never catalogued',
    { timeout: 180_000 },
    async () => {
      const root = join(work.path, 'small');
      for (let i = 0; i < 3000; i++) {
        await put(root, `txt2img/${String(i % 10)}/${String(i).padStart(5, '0')}.png`, fakePng(8 * 1024));
      }
      const smallAgent = await startAgent([root]);
      try {
        const dest = join(work.path, 'synced-small');
        const journals = join(dest, '.forge-sync/inflight');
        const child = spawn(
          process.execPath,
          [BIN, 'sync', '--dest', dest, '--agent', `gpu1=${smallAgent.url}`, '--batch-files', '300'],
          { env: { ...process.env, FORGE_SYNC_TOKEN: TOKEN }, stdio: 'ignore' },
        );
        const exited = once(child, 'exit');
        // Kill it while a batch's journal lists a file that is already on disk.
        const deadline = Date.now() + 60_000;
        let listed: string[] = [];
        for (;;) {
          listed = [];
          for (const name of await readdir(journals).catch(() => [] as string[])) {
            const text = await readFile(join(journals, name), 'utf8').catch(() => '');
            if (text.endsWith('\n')) listed.push(...(JSON.parse(text) as { names: string[] }).names);
          }
          const present = await Promise.all(
            listed.map((name) =>
              stat(join(dest, name)).then(
                () => name,
                () => null,
              ),
            ),
          );
          if (present.some(Boolean)) break;
          expect(child.exitCode, 'sync finished before it could be interrupted').toBeNull();
          expect(Date.now()).toBeLessThan(deadline);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        child.kill('SIGKILL');
        await exited;

        // Of the listed names on disk, those the catalog does not record are what a power cut could
        // leave half-written: cut one short, as a stop before the batch's sync might leave it.
        const catalog = await openPgliteClient(join(dest, '.forge-sync/catalog'));
        const { rows } = await catalog.query<{ stored_path: string }>(
          'SELECT stored_path FROM files WHERE stored_path = ANY($1::text[])',
          [listed],
        );
        await catalog.close();
        const recorded = new Set(rows.map((row) => row.stored_path));
        const onDisk = [];
        for (const name of listed) {
          if (!recorded.has(name) && (await stat(join(dest, name)).catch(() => null))) onDisk.push(name);
        }
        expect(onDisk.length, 'the kill came after the batch was catalogued').toBeGreaterThan(0);
        await truncate(join(dest, onDisk[0]!), 10);

        const result = await syncJson(dest, { gpu1: smallAgent.url });
        expect(result.code, result.stderr).toBe(0);
        expect(result.summary!.totals.errors).toBe(0);
        // Exactly the source tree, byte for byte: no half-written file kept, none stored under a second name.
        const source = await treeDigest(root);
        const stored = await treeDigest(join(dest, 'gpu1', 'small'));
        expect(stored).toEqual(source);
        expect(await readdir(journals)).toEqual([]);
      } finally {
        await smallAgent.stop();
      }
    },
  );
});
