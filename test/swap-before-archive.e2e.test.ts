// Files rewritten, truncated, or swapped for a symlink or a FIFO between the manifest and the archive of a
// real sync: the archive request is held in a proxy while the test swaps them. The agent skips them, the
// controller stores no wrong bytes, nothing wedges, and what is left is synced on the next pass.
import { execFileSync } from 'node:child_process';
import { open, readFile, rm, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_AGO, fakePng, put } from './helpers/files.js';
import { FaultProxy } from './helpers/fault-proxy.js';
import { catalogRows, expectNothingLost } from './helpers/nothing-lost.js';
import { TOKEN, type Started, startAgent, syncJson, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

describe('files swapped between manifest and archive', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let agent: Started;
  const written = new Map<string, Buffer>();
  const secret = fakePng(300);

  beforeAll(async () => {
    work = await tempDir('fms-swap-');
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    for (const name of [
      'keep-1.png',
      'keep-2.png',
      'rewritten.png',
      'truncated.png',
      'link.png',
      'fifo.png',
    ]) {
      written.set(name, fakePng(4000));
    }
    // Over 1 MiB, the agent sends a file under its index's hash and hashes it as it goes; a small one
    // it reads and hashes whole first.
    written.set('in-place.png', fakePng(1536 << 10));
    written.set('in-place-small.png', fakePng(4000));
    for (const [rel, bytes] of written) await put(out, rel, bytes, HOUR_AGO());
    await writeFile(join(work.path, 'secret.png'), secret);
    agent = await startAgent([out]);
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('skips each swapped file, stores only what was listed, and keeps answering', async () => {
    const proxy = await FaultProxy.start(agent.url, {
      kind: 'stall',
      direction: 'up',
      when: /^POST \/v1\/archive /m,
    });
    try {
      const syncing = syncJson(dest, { gpu1: proxy.url }, ['--streams', '1', '--log-level', 'fatal']);
      // The manifest is read and the archive asked for; the agent has not seen the request yet.
      await waitUntil('the archive request', () => (proxy.heldBytes > 0 ? true : undefined), { everyMs: 20 });

      const fresh = fakePng(4000);
      await writeFile(join(out, 'rewritten.png'), fresh);
      written.set('rewritten.png', fresh);
      await truncate(join(out, 'truncated.png'), 2000);
      written.set('truncated.png', await readFile(join(out, 'truncated.png')));
      await rm(join(out, 'link.png'));
      await symlink(join(work.path, 'secret.png'), join(out, 'link.png'));
      written.delete('link.png');
      await rm(join(out, 'fifo.png'));
      execFileSync('mkfifo', [join(out, 'fifo.png')]);
      written.delete('fifo.png');
      // Same inode, same size, same mtime, other bytes (a rewrite that restores its time, `touch -r`).
      for (const name of ['in-place.png', 'in-place-small.png']) {
        const before = await stat(join(out, name));
        const other = fakePng(before.size - 20);
        const handle = await open(join(out, name), 'r+');
        await handle.write(other, 0, other.length, 0);
        await handle.close();
        await utimes(join(out, name), before.atime, before.mtime);
        written.set(name, other);
      }

      proxy.release();
      const result = await syncing;
      expect(result.summary, result.stderr).toBeDefined();
      const entry = result.summary!.agents[0]!;
      expect(entry.error, JSON.stringify(entry)).toBeUndefined();
      expect(entry.filesTransferred, JSON.stringify(entry)).toBe(2);
      // The symlink and the FIFO are refused by name; the rewritten, cut and in-place rewritten files
      // are left for a later pass. The in-place ones left no stat change to see: their bytes were refused by hash.
      expect(
        entry.problems
          .map(({ path, message }) => ({ path, message }))
          .sort((a, b) => a.path.localeCompare(b.path)),
      ).toEqual([
        { path: 'output/fifo.png', message: expect.stringMatching(/not a regular file/) as string },
        { path: 'output/link.png', message: expect.stringMatching(/symlink/) as string },
      ]);
      expect(entry.filesPending).toBe(4);
    } finally {
      await proxy.close();
    }

    const rows = await catalogRows(dest);
    expect(rows.map((row) => row.container_path).sort()).toEqual(['output/keep-1.png', 'output/keep-2.png']);
    // Nothing on the host but the two listed files, byte for byte: no secret, no new or cut bytes.
    await expectNothingLost(dest, [{ agent: 'gpu1', rootDir: out, rootName: 'output', written }]);

    // Nothing wedged: the FIFO is still there, and the manifest answers at once.
    const manifest = await fetch(`${agent.url}/v1/manifest`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: AbortSignal.timeout(5000),
    });
    expect(manifest.status).toBe(200);
    const listed = (await manifest.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; path?: string })
      .filter((line) => line.type === 'file')
      .map((line) => line.path);
    expect(listed).not.toContain('output/link.png');
    expect(listed).not.toContain('output/fifo.png');
  });

  it('syncs the rewritten files on the next pass, and never the symlink, the FIFO or cut bytes', async () => {
    // The full manifest above was a fresh look at the disk: the files rewritten in place were hashed
    // again, since the archive dropped their stale hashes, and are offered with their new bytes.
    const result = await syncJson(dest, { gpu1: agent.url }, ['--log-level', 'fatal']);
    expect(result.summary, result.stderr).toBeDefined();
    const entry = result.summary!.agents[0]!;
    expect(entry.error, JSON.stringify(entry)).toBeUndefined();
    const rows = await catalogRows(dest);
    const stored = rows.map((row) => row.container_path).sort();
    expect(stored).toContain('output/rewritten.png');
    expect(stored).not.toContain('output/link.png');
    expect(stored).not.toContain('output/fifo.png');
    expect(stored).not.toContain('output/truncated.png');
    await expectNothingLost(dest, [{ agent: 'gpu1', rootDir: out, rootName: 'output', written }]);
    for (const name of ['rewritten.png', 'in-place.png', 'in-place-small.png']) {
      expect(stored).toContain(`output/${name}`);
      expect((await readFile(join(dest, 'gpu1/output', name))).equals(written.get(name)!), name).toBe(true);
    }
    expect(entry).toMatchObject({ ok: true, errors: 0, filesTransferred: 3 });
  });
});
