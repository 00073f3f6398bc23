// A sync killed mid-transfer leaves no partial file under a final name; the next run cleans up and completes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putLarge, sha256File } from './helpers/files.js';
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
      const deadline = Date.now() + 60_000;
      for (;;) {
        const parts = await readdir(tmp).catch(() => [] as string[]);
        const sizes = await Promise.all(
          parts.map((name) =>
            stat(join(tmp, name)).then(
              (s) => s.size,
              () => 0,
            ),
          ),
        );
        if (sizes.some((size) => size > 1024 * 1024)) break;
        expect(child.exitCode, 'sync finished before it could be interrupted').toBeNull();
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
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
});
