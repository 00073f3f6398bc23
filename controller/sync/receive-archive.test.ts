// The archive receiver reads an answer to its end: a connection left half-read is never given back to the pool.
import { mkdir, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkReader } from '../../lib/chunk-reader.js';
import { fileSpec, validTar } from '../../test/fixtures/tars.js';
import type { StoredPathInfo } from '../catalog/catalog.js';
import { DirtyDirs } from '../host-store/durable.js';
import { Placer } from '../host-store/place.js';
import { createTempFile } from '../host-store/temp-file.js';
import { extractArchive } from './receive-archive.js';

describe('extractArchive, at the end of the answer', () => {
  let base: string;
  let run = 0;

  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'receive-end-')));
  });

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  /** Receives one file from `stream`, into which the test writes the archive and what follows it. */
  async function receiveFrom(stream: PassThrough, body: Buffer) {
    const dest = join(base, String(run++));
    const tmp = join(dest, '.forge-sync', 'tmp');
    const journalDir = join(dest, '.forge-sync', 'inflight');
    await mkdir(tmp, { recursive: true });
    await mkdir(journalDir, { recursive: true });
    const catalog = { findByStoredPaths: async () => new Map<string, StoredPathInfo>() };
    const placer = new Placer(dest, catalog, { tmpDir: tmp, journalDir });
    const spec = await fileSpec('out/a.png', body);
    const entry = { path: spec.path, size: body.length, mtimeMs: 0, xxh64: spec.xxh64 };
    const journal = await placer.prepare('gpu1', [entry]);
    const archive = await validTar([spec]);
    const result = extractArchive(new ChunkReader(stream), {
      agent: 'gpu1',
      createTemp: () => createTempFile(tmp),
      destName: dest,
      requested: new Map([[entry.path, entry]]),
      placer,
      dirty: new DirtyDirs(),
      fsyncEachFile: false,
    });
    return { archive, result, dest, done: () => journal.abandon() };
  }

  it('reads past the end marker until the answer ends, so its connection is free again', async () => {
    const stream = new PassThrough();
    const body = Buffer.from('a picture');
    const { archive, result, dest, done } = await receiveFrom(stream, body);
    stream.write(archive);
    // The answer's own end comes a moment after the archive's last block, as it does over HTTP.
    let settled = false;
    void result.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    stream.end();
    const received = await result;
    done();
    expect(received.streamError).toBeUndefined();
    expect(received.stored.map((file) => file.entry.path)).toEqual(['out/a.png']);
    expect(await readFile(join(dest, 'gpu1', 'out', 'a.png'))).toEqual(body);
    expect(stream.readableEnded).toBe(true);
  });

  it('drops the connection, keeping every file, when more than a trailer follows the end marker', async () => {
    const stream = new PassThrough();
    const { archive, result, done } = await receiveFrom(stream, Buffer.from('another'));
    stream.write(archive);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A sender that goes on past its archive without ending is cut off after a trailer's worth.
    stream.write(Buffer.alloc(1 << 20));
    const received = await result;
    done();
    expect(received.streamError).toBeUndefined();
    expect(received.stored).toHaveLength(1);
    expect(stream.destroyed).toBe(true);
  });
});
