// Unit tests for DirtyDirs: which folders a placed file makes dirty, and flushing them.
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchDurability, DirtyDirs, probeDurability } from './durable.js';

/** The folders marked so far; `dirs` is private, and reading it is the only way to see what add() did. */
function marked(dirty: DirtyDirs): string[] {
  return [...(dirty as unknown as { dirs: Set<string> }).dirs].sort();
}

describe('DirtyDirs.add', () => {
  it.each<{ name: string; file: string; createdFrom?: string; dirs: string[] }>([
    { name: 'no folder created: only the file’s folder', file: '/d/a/b/f.png', dirs: ['/d/a/b'] },
    {
      name: 'the file’s own folder was created: it and its parent',
      file: '/d/a/b/f.png',
      createdFrom: '/d/a/b',
      dirs: ['/d/a', '/d/a/b'],
    },
    {
      name: 'a chain was created: every created folder and the parent of the first',
      file: '/d/a/b/c/f.png',
      createdFrom: '/d/a',
      dirs: ['/d', '/d/a', '/d/a/b', '/d/a/b/c'],
    },
    {
      name: 'created right below the filesystem root',
      file: '/a/b/f.png',
      createdFrom: '/a',
      dirs: ['/', '/a', '/a/b'],
    },
    {
      name: 'a sibling with a longer name is not marked',
      file: '/dest/agent/x/f.png',
      createdFrom: '/dest/agent',
      dirs: ['/dest', '/dest/agent', '/dest/agent/x'],
    },
  ])('$name', ({ file, createdFrom, dirs }) => {
    const dirty = new DirtyDirs();
    dirty.add(file, createdFrom);
    expect(marked(dirty)).toEqual(dirs);
  });

  it('marks each folder once however many files land in it', () => {
    const dirty = new DirtyDirs();
    dirty.add('/d/a/f1.png', '/d/a');
    dirty.add('/d/a/f2.png');
    dirty.add('/d/b/f3.png', '/d/b');
    expect(marked(dirty)).toEqual(['/d', '/d/a', '/d/b']);
  });
});

describe('DirtyDirs.flush', () => {
  it('fsyncs the marked folders and forgets them', async () => {
    const root = await realpath(await mkdtemp(join(tmpdir(), 'durable-test-')));
    try {
      const file = join(root, 'a', 'b', 'f.png');
      const createdFrom = await mkdir(join(root, 'a', 'b'), { recursive: true });
      await writeFile(file, 'x');
      const dirty = new DirtyDirs();
      dirty.add(file, createdFrom);
      expect(marked(dirty)).toEqual([root, join(root, 'a'), join(root, 'a', 'b')]);
      await dirty.flush();
      expect(marked(dirty)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('fails when a marked folder is gone', async () => {
    const dirty = new DirtyDirs();
    dirty.add(join(tmpdir(), 'durable-test-missing-folder', 'f.png'));
    await expect(dirty.flush()).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('BatchDurability', () => {
  it('finds `sync -f` here and commits a batch with one filesystem sync', async () => {
    const root = await realpath(await mkdtemp(join(tmpdir(), 'durable-test-')));
    try {
      expect(await probeDurability()).toBe('syncfs');
      const file = join(root, 'f.png');
      await writeFile(file, 'x');
      const dirty = new DirtyDirs();
      dirty.add(file);
      const durability = new BatchDurability('syncfs', root);
      expect(durability.fsyncEachFile).toBe(false);
      await durability.commit(dirty, [file], false);
      expect(marked(dirty)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('finds no sync command on a PATH without one', async () => {
    const path = process.env.PATH;
    try {
      process.env.PATH = join(tmpdir(), 'durable-test-no-such-bin');
      expect(await probeDurability()).toBe('fsync');
    } finally {
      process.env.PATH = path;
    }
  });

  it('falls back to fsync per file and folder when the filesystem sync fails, for this batch and the next', async () => {
    const root = await realpath(await mkdtemp(join(tmpdir(), 'durable-test-')));
    try {
      const file = join(root, 'f.png');
      await writeFile(file, 'x');
      // `sync -f` of a folder that is not there fails, as a sync that cannot do -f does.
      const durability = new BatchDurability('syncfs', join(root, 'not-there'));
      const dirty = new DirtyDirs();
      dirty.add(file);
      await durability.commit(dirty, [file], false);
      expect(durability.fsyncEachFile).toBe(true);
      expect(marked(dirty)).toEqual([]);
      // In fsync mode a folder that cannot be synced fails the batch: nothing of it is catalogued.
      const missing = new DirtyDirs();
      missing.add(join(root, 'gone', 'f.png'));
      await expect(durability.commit(missing, [], true)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('fsyncs each file of a batch written before another batch fell back, and only those', async () => {
    const root = await realpath(await mkdtemp(join(tmpdir(), 'durable-test-')));
    try {
      const durability = new BatchDurability('syncfs', join(root, 'not-there'));
      // Batch 2 is written while the mode is still syncfs: no fsync as its files are written.
      const writtenUnsynced = !durability.fsyncEachFile;
      expect(writtenUnsynced).toBe(true);
      // Batch 1's commit then finds the filesystem sync failing.
      await durability.commit(new DirtyDirs(), [], false);
      expect(durability.fsyncEachFile).toBe(true);
      // Batch 2's commit fsyncs its files itself (a file that is gone shows the attempt) ...
      const gone = join(root, 'gone.png');
      await expect(durability.commit(new DirtyDirs(), [gone], false)).rejects.toMatchObject({
        code: 'ENOENT',
      });
      // ... where a batch written in fsync mode, its files synced as written, is not read again.
      await durability.commit(new DirtyDirs(), [gone], true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
