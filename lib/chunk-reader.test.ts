// ChunkReader: a silent sender fails the read; a slow reader or a steady sender does not.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChunkReader } from './chunk-reader.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ChunkReader', () => {
  it('fails a read that waits longer than the idle limit, and destroys the stream', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source, { ms: 50, error: () => new Error('silent') });
    await expect(reader.next()).rejects.toThrow('silent');
    expect(source.destroyed).toBe(true);
  });

  it('leaves alone a stream whose data waits for a slow reader', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source, { ms: 50, error: () => new Error('silent') });
    source.write(Buffer.from('abc'));
    await sleep(200);
    expect(source.destroyed).toBe(false);
    expect((await reader.next())?.toString()).toBe('abc');
    source.end();
    expect(await reader.next()).toBeNull();
  });

  it('keeps reading while data keeps coming, and passes every byte in order', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source, { ms: 80, error: () => new Error('silent') });
    void (async () => {
      for (let i = 0; i < 8; i++) {
        source.write(Buffer.from(String(i)));
        await sleep(30);
      }
      source.end();
    })();
    const received: Buffer[] = [];
    for (let chunk = await reader.next(); chunk; chunk = await reader.next()) received.push(chunk);
    expect(Buffer.concat(received).toString()).toBe('01234567');
  });

  it('reports a stream error, and a stream closed before its end', async () => {
    const failing = new PassThrough();
    const reader = new ChunkReader(failing);
    failing.destroy(new Error('reset'));
    await expect(reader.next()).rejects.toThrow('reset');

    const closed = new PassThrough();
    const cut = new ChunkReader(closed);
    closed.write(Buffer.from('x'));
    expect((await cut.next())?.toString()).toBe('x');
    closed.destroy();
    await expect(cut.next()).rejects.toThrow(/closed before|destroyed/);
  });
});
