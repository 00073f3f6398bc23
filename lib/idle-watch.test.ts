// watchIdle: a silent sender fails the stream; a slow reader or a steady sender does not.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { watchIdle } from './idle-watch.js';

describe('watchIdle', () => {
  it('fails a stream whose sender goes silent, and ends the sender too', async () => {
    const source = new PassThrough();
    const stream = watchIdle(source, 50, () => new Error('silent'));
    stream.resume();
    const [err] = (await once(stream, 'error')) as [Error];
    expect(err.message).toBe('silent');
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.destroyed).toBe(true);
  });

  it('leaves alone a stream whose data waits for a slow reader', async () => {
    const source = new PassThrough();
    const stream = watchIdle(source, 50, () => new Error('silent'));
    source.write(Buffer.alloc(10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stream.destroyed).toBe(false);
    expect(stream.read()).toEqual(Buffer.alloc(10));
    stream.destroy();
  });

  it('keeps a stream alive while data keeps coming, and passes every byte', async () => {
    const source = new PassThrough();
    const stream = watchIdle(source, 80, () => new Error('silent'));
    const received: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    for (let i = 0; i < 8; i++) {
      source.write(Buffer.from(String(i)));
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    source.end();
    await once(stream, 'end');
    expect(Buffer.concat(received).toString()).toBe('01234567');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(stream.errored).toBeNull();
  });
});
