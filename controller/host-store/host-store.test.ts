// LocalHostStore over a real temp destination: stored paths, host-copy states, temp files, free space and the readable check.
import { mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../common/errors.js';
import { xxh64Of } from '../../common/xxh64.js';
import type { Destination } from './destination.js';
import { LocalHostStore } from './host-store.js';
import type { HostCopyState } from './host-copy.js';

const CONTENT = Buffer.from('the stored image bytes');
const SAME_SIZE_OTHER = Buffer.from('THE STORED IMAGE BYTES');

let base: string;
let root: string;
let store: LocalHostStore;

/** A destination as openDestination returns it, without the lock: only the folders matter here. */
function destinationAt(path: string): Destination {
  return {
    name: 'my-dest',
    root: path,
    tmpDir: join(path, '.forge-sync', 'tmp'),
    journalDir: join(path, '.forge-sync', 'inflight'),
    catalogDir: join(path, '.forge-sync', 'catalog'),
    durability: 'fsync',
    release: async () => undefined,
  };
}

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'host-store-test-')));
  root = join(base, 'dest');
  await mkdir(join(root, '.forge-sync', 'tmp'), { recursive: true });
  store = new LocalHostStore(destinationAt(root));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function put(storedPath: string, content: Buffer): Promise<void> {
  const path = join(root, ...storedPath.split('/'));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

describe('LocalHostStore', () => {
  it('names the destination as it was opened', () => {
    expect(store.root).toBe(root);
    expect(store.name).toBe('my-dest');
    expect(store.durabilityMode).toBe('fsync');
  });

  it.each<{ storedPath: string; parts: string[] }>([
    { storedPath: 'gpu1/output/a.png', parts: ['gpu1', 'output', 'a.png'] },
    { storedPath: 'gpu1/a b/ünï.png', parts: ['gpu1', 'a b', 'ünï.png'] },
    { storedPath: 'gpu1/deep/er/still/x.mp4', parts: ['gpu1', 'deep', 'er', 'still', 'x.mp4'] },
  ])('pathOf($storedPath) is under the root', ({ storedPath, parts }) => {
    expect(store.pathOf(storedPath)).toBe(join(root, ...parts));
  });

  it.each<{
    name: string;
    onDisk?: Buffer | 'folder' | 'symlink';
    size?: number;
    verify: boolean;
    state: HostCopyState;
  }>([
    { name: 'the same bytes, verified', onDisk: CONTENT, verify: true, state: 'ok' },
    { name: 'the right size, not verified', onDisk: SAME_SIZE_OTHER, verify: false, state: 'ok' },
    { name: 'no file', verify: true, state: 'host-copy-missing' },
    { name: 'no file, not verified', verify: false, state: 'host-copy-missing' },
    { name: 'a folder under its name', onDisk: 'folder', verify: true, state: 'host-copy-missing' },
    { name: 'a symlink to the right bytes', onDisk: 'symlink', verify: true, state: 'host-copy-missing' },
    { name: 'another size', onDisk: Buffer.from('short'), verify: true, state: 'host-copy-mismatch' },
    {
      name: 'another size, not verified',
      onDisk: Buffer.from('short'),
      verify: false,
      state: 'host-copy-mismatch',
    },
    {
      name: 'other bytes of the same size',
      onDisk: SAME_SIZE_OTHER,
      verify: true,
      state: 'host-copy-corrupt',
    },
    {
      name: 'a catalogued size that differs from the file',
      onDisk: CONTENT,
      size: CONTENT.length + 1,
      verify: true,
      state: 'host-copy-mismatch',
    },
  ])('checkCopy: $name is $state', async ({ onDisk, size = CONTENT.length, verify, state }) => {
    const storedPath = 'gpu1/output/a.png';
    if (Buffer.isBuffer(onDisk)) await put(storedPath, onDisk);
    else if (onDisk === 'folder') await mkdir(store.pathOf(storedPath), { recursive: true });
    else if (onDisk === 'symlink') {
      await put('gpu1/output/real.png', CONTENT);
      await symlink(store.pathOf('gpu1/output/real.png'), store.pathOf(storedPath));
    }
    expect(await store.checkCopy({ storedPath, size }, await xxh64Of(CONTENT), verify)).toBe(state);
  });

  it('creates temp files in the destination’s temp folder', async () => {
    const temp = await store.createTemp();
    expect(dirname(temp.path)).toBe(join(root, '.forge-sync', 'tmp'));
    expect(await readdir(join(root, '.forge-sync', 'tmp'))).toHaveLength(1);
    await temp.discard();
  });

  it('refuses work that cannot fit, naming the destination as given and what it was for', async () => {
    await expect(store.ensureFreeSpace(0, 'a batch')).resolves.toBeUndefined();
    const error: unknown = await store
      .ensureFreeSpace(2 ** 60, 'a batch of 3 files')
      .catch((err: unknown) => err);
    expect(isAppError(error) && error.code).toBe('E_DEST_FULL');
    expect((error as Error).message).toMatch(
      /^--dest my-dest: not enough free space for a batch of 3 files:/,
    );
  });

  it('gives each run its own Placer and BatchDurability', () => {
    const catalog = { findByStoredPaths: async () => new Map() };
    const a = store.beginRun(catalog);
    const b = store.beginRun(catalog);
    expect(a.placer).not.toBe(b.placer);
    expect(a.durability).not.toBe(b.durability);
  });

  describe('assertReadable', () => {
    it('passes on a readable folder', async () => {
      await expect(store.assertReadable()).resolves.toBeUndefined();
    });

    // Tests run as root, whom chmod does not stop: a root that is not a folder cannot be listed either.
    it.each<{ name: string; make: (path: string) => Promise<void>; errno: string }>([
      { name: 'a file', make: (path) => writeFile(path, 'not a folder'), errno: 'ENOTDIR' },
      { name: 'missing', make: async () => undefined, errno: 'ENOENT' },
    ])('stops the purge when the root is $name', async ({ make, errno }) => {
      const path = join(base, 'gone');
      await make(path);
      const error: unknown = await new LocalHostStore(destinationAt(path))
        .assertReadable()
        .catch((err: unknown) => err);
      expect(isAppError(error) && error.code).toBe('E_PURGE_STOPPED');
      expect((error as Error).message).toBe(
        `the destination ${path} cannot be read (${errno}); nothing purged`,
      );
      expect((error as Error).cause).toMatchObject({ code: errno });
    });
  });
});
