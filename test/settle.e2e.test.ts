// A file still being written is not served until it settles; then it syncs whole.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakePng, put } from './helpers/files.js';
import { type Started, TOKEN, startProcess, syncJson, tempDir } from './helpers/processes.js';

async function manifestPaths(agent: Started): Promise<string[]> {
  const response = await fetch(`${agent.url}/v1/manifest`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return (await response.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; path: string })
    .filter((line) => line.type === 'file')
    .map((line) => line.path);
}

describe('settle window', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let agent: Started;

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    await put(out, 'done.png', fakePng());
    agent = await startProcess('agent', ['--root', out, '--settle', '1s']);
  });
  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('does not serve a video while it grows, and serves it whole once it stops', async () => {
    const video = join(out, 'video', 'AnimateDiff_00001.webm');
    await put(out, 'video/AnimateDiff_00001.webm', Buffer.from('webm-start'), new Date());
    let chunks = 0;
    const writer = setInterval(() => {
      chunks++;
      void appendFile(video, Buffer.alloc(4096, chunks));
    }, 100);
    try {
      const deadline = Date.now() + 3_000;
      let looks = 0;
      while (Date.now() < deadline) {
        const paths = await manifestPaths(agent);
        expect(paths).toContain('output/done.png');
        expect(paths).not.toContain('output/video/AnimateDiff_00001.webm');
        looks++;
      }
      expect(looks).toBeGreaterThan(3);
    } finally {
      clearInterval(writer);
    }
    await appendFile(video, Buffer.from('webm-end'));
    const final = await readFile(video);

    const deadline = Date.now() + 15_000;
    while (!(await manifestPaths(agent)).includes('output/video/AnimateDiff_00001.webm')) {
      expect(Date.now()).toBeLessThan(deadline);
    }
    const dest = join(work.path, 'synced');
    const result = await syncJson(dest, { gpu1: agent.url });
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(join(dest, 'gpu1/output/video/AnimateDiff_00001.webm'))).toEqual(final);
  });

  it('reports files waiting to settle as pending', async () => {
    const root = join(work.path, 'slow');
    await put(root, 'old.png', fakePng());
    await writeFile(join(root, 'fresh.png'), fakePng());
    const slow = await startProcess('agent', ['--root', root, '--settle', '10m']);
    try {
      const result = await syncJson(join(work.path, 'synced-2'), { gpu1: slow.url });
      expect(result.code, result.stderr).toBe(0);
      expect(result.summary!.totals).toMatchObject({ filesTransferred: 1, filesPending: 1 });
    } finally {
      await slow.stop();
    }
  });
});
