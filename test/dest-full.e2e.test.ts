// A real `forge-sync sync` into a small tmpfs that fills up: one line naming --dest, no stack, nothing
// half-written or half-built, and the sync after space is freed stores every file byte for byte.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmdirSync } from 'node:fs';
import { mkdir, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_CONTENT_TYPE } from '../common/protocol.js';
import { fakePng, treeDigest } from './helpers/files.js';
import { syncJson, tempDir } from './helpers/processes.js';
import { type FileSpec, fileSpec, validTar } from './fixtures/tars.js';
import { ScriptedAgent } from './helpers/scripted-agent.js';

const TMPFS_MB = 128;

/** Whether this process may mount a tmpfs (root, or a container that allows it). */
function canMount(): string | null {
  const probe = join(tmpdir(), `fms-mount-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
  } finally {
    rmdirSync(probe);
  }
}

const mountRefused = canMount();
if (mountRefused && process.env.CI === 'true') {
  throw new Error(`the disk-full tests need to mount a tmpfs, and CI runs as root: ${mountRefused}`);
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(mountRefused !== null)(
  `sync into a destination that fills up${mountRefused ? ` (skipped: cannot mount a tmpfs: ${mountRefused})` : ''}`,
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let mnt: string;
    let dest: string;
    let filler: string;
    let agent: ScriptedAgent;
    let files: FileSpec[];
    let archives = 0;
    /** Run when the agent is asked for an archive, before it answers (the batch was checked by then). */
    let onArchive: () => Promise<void> = () => Promise.resolve();

    /** Fills the tmpfs until only `leaveMb` MiB stay free. */
    async function fillLeaving(leaveMb: number): Promise<void> {
      const stats = await statfs(mnt);
      const free = stats.bavail * stats.bsize;
      await writeFile(filler, Buffer.alloc(Math.max(0, free - leaveMb * 2 ** 20)));
    }

    async function sync(): Promise<Awaited<ReturnType<typeof syncJson>>> {
      return syncJson(dest, { fake: agent.url });
    }

    /** The result's stderr: its CLI lines, and no stack trace or wrong blame anywhere in it. */
    function checkStderr(stderr: string): string[] {
      expect(stderr).not.toMatch(/^\s+at /m);
      expect(stderr).not.toContain('"stack"');
      expect(stderr).not.toMatch(/E_PROTOCOL|E_INTERNAL|agent restarted/);
      return stderr.split('\n').filter((line) => line.startsWith('forge-sync:'));
    }

    /** Every file under a final name is whole: the agent's bytes, never a part of them. */
    async function checkNothingPartial(): Promise<void> {
      const expected = new Map(files.map((file) => [file.path, sha256(file.content)]));
      const stored = await treeDigest(join(dest, 'fake')).catch(() => new Map<string, string>());
      for (const [path, digest] of stored) expect(digest, path).toBe(expected.get(path));
      const tmp = await readdir(join(dest, '.forge-sync/tmp')).catch(() => []);
      expect(tmp).toEqual([]);
    }

    beforeAll(async () => {
      work = await tempDir('fms-full-');
      mnt = join(work.path, 'mnt');
      await mkdir(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m`, 'tmpfs', mnt]);
      dest = join(mnt, 'dest');
      filler = join(mnt, 'filler');
      files = await Promise.all([
        ...Array.from({ length: 4 }, (_, i) => fileSpec(`output/video-${i}.mp4`, randomBytes(6 << 20))),
        ...Array.from({ length: 20 }, (_, i) => fileSpec(`output/img-${i}.png`, fakePng(30_000, `s${i}`))),
      ]);
      agent = await new ScriptedAgent(files).start();
      agent.archive = (res, _req, requested) => {
        archives++;
        void onArchive()
          .then(() => validTar(requested.map((file) => files.find((spec) => spec.path === file.path)!)))
          .then((body) => {
            res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
            res.end(body);
          });
      };
    });

    afterAll(async () => {
      await agent?.close();
      if (mnt) execFileSync('umount', ['-l', mnt]);
      await work?.[Symbol.asyncDispose]();
    });

    it('refuses to create the catalog where it would not fit, and leaves none half-built', async () => {
      await fillLeaving(50);
      const result = await sync();
      expect(result.code, result.stderr).not.toBe(0);
      const lines = checkStderr(result.stderr);
      expect(lines).toEqual([
        expect.stringMatching(/^forge-sync: --dest .*dest: not enough free space for creating the catalog/),
      ]);
      const state = await readdir(join(dest, '.forge-sync'));
      expect(state.filter((name) => name.startsWith('catalog'))).toEqual([]);
      expect(archives).toBe(0);
    });

    it('names --dest when the disk fills in the middle of a batch, and leaves no partial file', async () => {
      await rm(filler);
      // The batch fits when it is checked; then something else takes the space before it arrives.
      onArchive = () => fillLeaving(3);
      const result = await sync();
      onArchive = () => Promise.resolve();
      expect(result.code, result.stderr).not.toBe(0);
      const lines = checkStderr(result.stderr);
      expect(lines).toEqual([
        expect.stringMatching(
          /^forge-sync: --dest .*dest: no space left on the device \(while (storing fake\/output\/|recording \d+ files of fake)/,
        ),
      ]);
      expect(result.summary!.agents[0]!.error?.code).toBe('E_DEST_FULL');
      await checkNothingPartial();
    });

    it('refuses a batch that would not fit before asking the agent for it', async () => {
      await rm(filler);
      await fillLeaving(40);
      const before = archives;
      const result = await sync();
      expect(result.code, result.stderr).not.toBe(0);
      const lines = checkStderr(result.stderr);
      expect(lines).toEqual([
        expect.stringMatching(/^forge-sync: --dest .*dest: not enough free space for the next batch of fake/),
      ]);
      expect(result.summary!.agents[0]!.error?.code).toBe('E_DEST_FULL');
      expect(archives).toBe(before);
      await checkNothingPartial();
    });

    it('stores every file byte for byte once space is freed', async () => {
      await rm(filler);
      const result = await sync();
      expect(result.code, result.stderr).toBe(0);
      const expected = new Map(files.map((file) => [file.path, sha256(file.content)]));
      expect(await treeDigest(join(dest, 'fake'))).toEqual(expected);
      expect(await readdir(join(dest, '.forge-sync/tmp'))).toEqual([]);
    });
  },
);
