// The sync helper: real `sync -f` runs through one shell, failures keep their message, calls made
// while a sync runs share the next one, and without `sh` it runs `sync` directly.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncFilesystem } from './sync-runner.js';

const REPO = resolve(import.meta.dirname, '../..');
let root: string;

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'sync-runner-test-')));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('syncFilesystem', () => {
  it('syncs the filesystem of a folder, again and again through the same helper', async () => {
    for (let i = 0; i < 5; i++) await syncFilesystem(root);
  });

  it('fails with sync’s own message for a path that does not exist, and works after it', async () => {
    const missing = join(root, 'no-such-folder');
    await expect(syncFilesystem(missing)).rejects.toThrow(
      new RegExp(`^sync -f ${missing} failed: .*No such file or directory`),
    );
    await syncFilesystem(root);
  });

  it('has calls made while a sync runs share the one sync that starts after it', async () => {
    const first = syncFilesystem(root);
    const second = syncFilesystem(root);
    const third = syncFilesystem(root);
    expect(second).toBe(first);
    await first;
    // The first has started now: a call made after that gets a sync of its own, and the next joins it.
    const fourth = syncFilesystem(root);
    const fifth = syncFilesystem(root);
    expect(fifth).toBe(fourth);
    expect(fourth).not.toBe(first);
    await Promise.all([third, fourth, fifth]);
  });

  it('fails a sync, without taking the process down, when no file descriptor is left, and works again after', () => {
    const script = `import { closeSync, openSync } from 'node:fs';
import { syncFilesystem } from ${JSON.stringify(join(REPO, 'controller/host-store/sync-runner.ts'))};
const fds = [];
try { for (;;) fds.push(openSync('/dev/null', 'r')); } catch {}
await syncFilesystem(${JSON.stringify(root)}).then(() => console.log('synced?'), (err) => console.log('refused', /EMFILE/.test(err.message) ? 'EMFILE' : err.message));
for (const fd of fds.splice(0, 20)) closeSync(fd);
await syncFilesystem(${JSON.stringify(root)});
console.log('synced');`;
    const run = spawnSync(
      'sh',
      ['-c', 'ulimit -n 256 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script],
      { cwd: REPO, encoding: 'utf8', timeout: 30_000 },
    );
    expect(run.stdout.trim().split('\n')).toEqual(['refused EMFILE', 'synced']);
    expect(run.status).toBe(0);
  });

  it('runs sync itself where there is no sh, and an idle helper never holds the process open', async () => {
    const bin = join(root, 'bin');
    await mkdir(bin, { recursive: true });
    const sync = execFileSync('sh', ['-c', 'command -v sync'], { encoding: 'utf8' }).trim();
    await symlink(sync, join(bin, 'sync'));
    const script = `import { syncFilesystem } from ${JSON.stringify(join(REPO, 'controller/host-store/sync-runner.ts'))};
await syncFilesystem(${JSON.stringify(root)});
await syncFilesystem(${JSON.stringify(root)});
console.log('synced');`;
    for (const path of [bin, process.env.PATH!]) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: REPO,
        encoding: 'utf8',
        env: { ...process.env, PATH: path },
        timeout: 30_000,
      });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe('synced');
      // A helper that held the process open would have it killed by the timeout: no status 0.
      expect(run.status).toBe(0);
    }
  });
});
