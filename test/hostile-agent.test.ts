// A fake agent on 127.0.0.1 sends hostile and cut-short tars to a real `forge-sync sync`: nothing escapes --dest.
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_CONTENT_TYPE } from '../common/protocol.js';
import {
  type FileSpec,
  type HostileTar,
  fileSpec,
  hostileTar,
  truncatedTar,
  validTar,
} from './fixtures/tars.js';
import { fakePng, treeDigest } from './helpers/files.js';
import { syncJson, tempDir } from './helpers/processes.js';
import { ScriptedAgent, sendTar } from './helpers/scripted-agent.js';

/** Every entry below `dir` (not following symlinks) as "path type size", sorted; `skip` is left out. */
async function listTree(dir: string, skip?: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const dirent of await readdir(current, { withFileTypes: true })) {
      const path = join(current, dirent.name);
      if (path === skip) continue;
      const stats = await lstat(path);
      const type = stats.isSymbolicLink() ? 'symlink' : stats.isDirectory() ? 'dir' : 'file';
      out.push(`${relative(dir, path)} ${type} ${stats.isFile() ? stats.size : '-'}`);
      if (dirent.isDirectory()) await walk(path);
    }
  };
  await walk(dir);
  return out.sort();
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

const byCodeAndPath = (items: { code: string; path: string }[]): string[] =>
  items.map(({ code, path }) => `${code} ${path}`).sort();

describe('sync against a hostile agent', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let dest: string;
  let agent: ScriptedAgent;
  let hostile: HostileTar;
  let files: FileSpec[];
  let byPath: Map<string, FileSpec>;

  beforeAll(async () => {
    work = await tempDir('fms-hostile-');
    // --dest sits two levels down, so every "../" trick a naive join would follow lands inside `work`.
    dest = join(work.path, 'a', 'b', 'dest');
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(join(work.path, 'a', 'sentinel.txt'), 'untouched');
    hostile = await hostileTar(work.path);
    files = hostile.files;
    byPath = new Map(files.map((file) => [file.path, file]));
    agent = await new ScriptedAgent(files).start();
  });

  afterAll(async () => {
    await agent?.close();
    await work?.[Symbol.asyncDispose]();
  });

  it('stores only the honest entries, reports every hostile one, and writes nothing outside --dest', async () => {
    const good = byPath.get('output/good.png')!;
    const through = byPath.get('output/sub/through.png')!;
    agent.archive = (res) => sendTar(res, hostile.tar);

    const parent = dirname(work.path);
    const parentBefore = await readdir(parent);
    const workBefore = await listTree(work.path, dest);
    const result = await syncJson(dest, { fake: agent.url });

    expect(result.code, result.stderr).not.toBe(0);
    const summary = result.summary!;
    expect(summary.ok).toBe(false);
    const [fake] = summary.agents;
    expect(fake!.error, 'the archive was complete; only entries were refused').toBeUndefined();
    expect(fake!.filesTransferred).toBe(2);
    // Each hostile entry refused with its own code (test/fixtures/tars.ts names them entry by entry).
    // A requested file whose entry was refused counts once: not also as missing from the archive.
    expect(byCodeAndPath(fake!.problems)).toEqual(byCodeAndPath(hostile.refused));
    expect(fake!.errors).toBe(fake!.problems.length);

    // The first good.png won; its evil duplicate did not replace it.
    expect(await readFile(join(dest, 'fake/output/good.png'))).toEqual(good.content);
    expect(await readFile(join(dest, 'fake/output/sub/through.png'))).toEqual(through.content);
    expect((await lstat(join(dest, 'fake/output/sub'))).isDirectory()).toBe(true);
    const stored = (await listTree(dest)).filter((line) => !line.startsWith('.forge-sync'));
    expect(stored).toEqual(
      [
        'fake dir -',
        'fake/output dir -',
        `fake/output/good.png file ${good.content.length}`,
        'fake/output/sub dir -',
        `fake/output/sub/through.png file ${through.content.length}`,
      ].sort(),
    );
    expect(await listTree(dest)).not.toContainEqual(expect.stringMatching(/ symlink /));
    expect(await readdir(join(dest, '.forge-sync/tmp'))).toEqual([]);

    expect(await listTree(work.path, dest)).toEqual(workBefore);
    const appeared = (await readdir(parent)).filter((name) => !parentBefore.includes(name));
    expect(appeared).not.toContain('x');
    expect(appeared).not.toContain('escape.png');
    expect(await exists('/etc/x')).toBe(false);
    for (const base of [dest, join(dest, 'fake'), join(dest, 'fake/output'), process.cwd()]) {
      expect(await exists(resolve(base, '../x')), base).toBe(false);
      expect(await exists(resolve(base, '../../escape.png')), base).toBe(false);
    }
  });

  it('stores the remaining files once the agent sends an honest archive', async () => {
    let requested: string[] = [];
    agent.archive = async (res, _req, files) => {
      requested = files.map((file) => file.path);
      sendTar(res, await validTar(files.map((file) => byPath.get(file.path)!)));
    };
    const result = await syncJson(dest, { fake: agent.url });

    expect(result.code, result.stderr).toBe(0);
    expect(requested.sort()).toEqual(
      [
        'output/dir.png',
        'output/hard.png',
        'output/link.png',
        'output/wrong-content.png',
        'output/wrong-size.png',
      ].sort(),
    );
    expect(result.summary!.totals).toMatchObject({ filesTransferred: 5, filesUnchanged: 2, errors: 0 });
    const expected = new Map(
      files.map((file) => [file.path, createHash('sha256').update(file.content).digest('hex')]),
    );
    expect(await treeDigest(join(dest, 'fake'))).toEqual(expected);
    expect(await readdir(join(dest, '.forge-sync/tmp'))).toEqual([]);
  });

  it('passes the pending count by reason through to sync --json, dropping malformed reasons', async () => {
    agent.pendingReasons = { settling: 20, 'incomplete-png': 4, 'Not A Reason!': 1 };
    const result = await syncJson(dest, { fake: agent.url });
    agent.pendingReasons = undefined;
    expect(result.code, result.stderr).toBe(0);
    expect(result.summary!.agents[0]).toMatchObject({
      filesPending: 25,
      pendingReasons: { settling: 20, 'incomplete-png': 4 },
    });
    expect(Object.keys(result.summary!.agents[0]!.pendingReasons!)).toEqual(['settling', 'incomplete-png']);
  });
});

describe('sync against an agent that dies mid-archive', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let dest: string;
  let agent: ScriptedAgent;
  let small: FileSpec;
  let big: FileSpec;

  beforeAll(async () => {
    work = await tempDir('fms-cut-');
    dest = join(work.path, 'dest');
    small = await fileSpec('output/small.png', fakePng(1000));
    big = await fileSpec('output/video/big.mkv', randomBytes(8 << 20));
    agent = await new ScriptedAgent([small, big]).start();
  });

  afterAll(async () => {
    await agent?.close();
    await work?.[Symbol.asyncDispose]();
  });

  it('keeps what was complete, leaves no partial file and fails with E_PROTOCOL', async () => {
    // The big entry is nearly all of the tar, so its middle is the tar's middle.
    const cut = await truncatedTar([small, big], 0.5);
    let cutSent = false;
    agent.archive = (res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      res.write(cut, () => {
        cutSent = true;
        res.socket?.destroy();
      });
    };

    const result = await syncJson(dest, { fake: agent.url });

    expect(cutSent).toBe(true);
    expect(result.code, result.stderr).not.toBe(0);
    const [fake] = result.summary!.agents;
    expect(fake!.error?.code, JSON.stringify(fake)).toBe('E_PROTOCOL');
    expect(await readFile(join(dest, 'fake/output/small.png'))).toEqual(small.content);
    expect(await exists(join(dest, 'fake', big.path))).toBe(false);
    const stored = (await listTree(dest)).filter(
      (line) => !line.startsWith('.forge-sync') && line.includes(' file '),
    );
    expect(stored).toEqual([`fake/${small.path} file ${small.content.length}`]);
    expect(await readdir(join(dest, '.forge-sync/tmp'))).toEqual([]);
  });
});
