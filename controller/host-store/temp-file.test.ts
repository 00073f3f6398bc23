// Temp files in a real folder: writes of many chunks land in order, read back through source(), and discard always cleans up.
import { mkdtemp, readFile, readdir, realpath, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempFile } from './temp-file.js';

let dir: string;

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'temp-file-test-')));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `count` chunks of `size` bytes, each filled with its own byte, so an order mistake shows. */
const chunksOf = (count: number, size: number, from = 0): Buffer[] =>
  Array.from({ length: count }, (_, i) => Buffer.alloc(size, (from + i) & 0xff));

describe('createTempFile', () => {
  it('creates an empty .part file in the folder, a new name each time', async () => {
    const a = await createTempFile(dir);
    const b = await createTempFile(dir);
    expect(dirname(a.path)).toBe(dir);
    expect(basename(a.path)).toMatch(/^[0-9a-f-]{36}\.part$/);
    expect(a.path).not.toBe(b.path);
    expect((await readdir(dir)).sort()).toEqual([basename(a.path), basename(b.path)].sort());
    expect(await readFile(a.path)).toEqual(Buffer.alloc(0));
    await a.discard();
    await b.discard();
  });

  it('fails when the folder does not exist', async () => {
    await expect(createTempFile(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('TempFile.write', () => {
  it.each<{ name: string; calls: Buffer[][] }>([
    { name: 'one chunk', calls: [[Buffer.from('hello')]] },
    { name: 'no chunks at all', calls: [[]] },
    { name: 'empty chunks among others', calls: [[Buffer.alloc(0), Buffer.from('ab'), Buffer.alloc(0)]] },
    { name: 'many small chunks in one call', calls: [chunksOf(300, 17)] },
    // More than IOV_MAX (1024) buffers in one writev, and more bytes than one write usually takes.
    { name: 'over a thousand chunks in one call', calls: [chunksOf(1500, 1000)] },
    {
      name: 'large chunks over several calls',
      calls: [chunksOf(3, 1 << 20), chunksOf(2, 777_777, 3), chunksOf(1, 5, 9)],
    },
  ])('writes $name in order, after what came before', async ({ calls }) => {
    const temp = await createTempFile(dir);
    for (const chunks of calls) await temp.write(chunks);
    await temp.sync();
    await temp.close();
    expect((await readFile(temp.path)).equals(Buffer.concat(calls.flat()))).toBe(true);
    await temp.discard();
  });

  it('fails once the file is closed', async () => {
    const temp = await createTempFile(dir);
    await temp.close();
    await expect(temp.write([Buffer.from('late')])).rejects.toThrow();
    await temp.discard();
  });
});

describe('TempFile.source', () => {
  // The metadata readers read a large file's body back through source(): a write-only temp file
  // failed them with EBADF.
  it('reads back the first `size` bytes written, at any position', async () => {
    const temp = await createTempFile(dir);
    const chunks = chunksOf(10, 100);
    await temp.write(chunks);
    const whole = Buffer.concat(chunks);
    const source = temp.source(whole.length);
    expect(source.size).toBe(1000);
    expect(await source.read(0, 1000)).toEqual(whole);
    expect(await source.read(150, 100)).toEqual(whole.subarray(150, 250));
    // Past the end: fewer bytes, or none, never an error.
    expect(await source.read(950, 100)).toEqual(whole.subarray(950));
    expect(await source.read(1000, 10)).toEqual(Buffer.alloc(0));
    // A shorter size hides what comes after it.
    expect(await temp.source(300).read(250, 100)).toEqual(whole.subarray(250, 300));
    await temp.discard();
  });
});

describe('TempFile.discard', () => {
  it.each<{ name: string; before: (temp: Awaited<ReturnType<typeof createTempFile>>) => Promise<void> }>([
    { name: 'an open file', before: async () => undefined },
    { name: 'a written file', before: (temp) => temp.write([Buffer.from('partial')]) },
    { name: 'a closed file', before: (temp) => temp.close() },
    { name: 'a file already removed', before: (temp) => unlink(temp.path) },
    { name: 'a file already discarded', before: (temp) => temp.discard() },
  ])('removes $name and never throws', async ({ before }) => {
    const temp = await createTempFile(dir);
    await before(temp);
    await expect(temp.discard()).resolves.toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });
});
