// ChunkReader: a silent or trickling sender and a passed deadline fail the read; a slow reader or a steady sender does not.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChunkReader } from './chunk-reader.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `count` chunks as a well-behaved sender does: only while the stream takes more. */
function sendPolitely(
  source: PassThrough,
  count: number,
  chunk: (i: number) => Buffer,
): { accepted: () => number; done: Promise<void> } {
  let accepted = 0;
  const done = (async () => {
    for (let i = 0; i < count; i++) {
      if (!source.write(chunk(i))) await new Promise((resolve) => source.once('drain', resolve));
      accepted++;
    }
    source.end();
  })();
  return { accepted: () => accepted, done };
}

/** Reads the reader to its end; the bytes it handed out. */
async function bytesLeft(reader: ChunkReader): Promise<number> {
  let bytes = 0;
  for (let next = await reader.next(); next; next = await reader.next()) bytes += next.length;
  return bytes;
}

describe('ChunkReader', () => {
  it('fails a read that waits longer than the idle limit, and destroys the stream', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source, {
      stall: { ms: 50, minBytes: 1, error: () => new Error('silent') },
    });
    await expect(reader.next()).rejects.toThrow('silent');
    expect(source.destroyed).toBe(true);
  });

  it('leaves alone a stream whose data waits for a slow reader', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source, {
      stall: { ms: 50, minBytes: 1, error: () => new Error('silent') },
    });
    source.write(Buffer.from('abc'));
    await sleep(200);
    expect(source.destroyed).toBe(false);
    expect((await reader.next())?.toString()).toBe('abc');
    source.end();
    expect(await reader.next()).toBeNull();
  });

  it('hands out each chunk as it was written, never a copy joining the ones that waited', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source);
    const written = [Buffer.alloc(64 * 1024, 1), Buffer.alloc(20_000, 2), Buffer.alloc(16 * 1024, 3)];
    for (const chunk of written) source.write(chunk);
    source.end();
    await sleep(20); // all three wait in the reader before the first read
    for (const chunk of written) expect(await reader.next()).toBe(chunk);
    expect(await reader.next()).toBeNull();
  });

  it('joins small chunks that wait together, up to about 64 KiB, in order', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source);
    const bytes = Buffer.from(Array.from({ length: 160_000 }, (_, i) => i % 251));
    for (let at = 0; at < bytes.length; at += 100) source.write(bytes.subarray(at, at + 100));
    source.end();
    await sleep(20);
    const pieces: Buffer[] = [];
    for (let next = await reader.next(); next; next = await reader.next()) pieces.push(next);
    expect(Buffer.concat(pieces)).toEqual(bytes);
    expect(pieces.length).toBeLessThanOrEqual(4); // not 1,600 reads of 100 bytes
    expect(Math.max(...pieces.map((piece) => piece.length))).toBeLessThanOrEqual(64 * 1024 + 100);
  });

  it('pauses a sender that runs far ahead of a slow reader, and resumes it as the reader catches up', async () => {
    const source = new PassThrough({ highWaterMark: 64 * 1024 });
    const reader = new ChunkReader(source);
    const chunk = Buffer.alloc(64 * 1024, 7);
    const sender = sendPolitely(source, 64, () => chunk);
    await sleep(50);
    // Held at about half a MiB in the reader (plus the stream's own buffers), not all 4 MiB.
    expect(source.isPaused()).toBe(true);
    expect(sender.accepted()).toBeLessThan(20);
    expect(await bytesLeft(reader)).toBe(64 * chunk.length);
    await sender.done;
  });

  it('pauses a sender of tiny chunks by their number, long before their bytes add up', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source);
    const sender = sendPolitely(source, 8000, (i) => Buffer.alloc(10, i % 256));
    await sleep(50);
    // 80 KB in all, far under the byte bound: only the count of queued chunks holds the sender back.
    expect(source.isPaused()).toBe(true);
    expect(sender.accepted()).toBeLessThan(8000);
    expect(await bytesLeft(reader)).toBe(80_000);
    await sender.done;
  });

  it('keeps reading while data keeps coming, and passes every byte in order', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source, {
      stall: { ms: 80, minBytes: 1, error: () => new Error('silent') },
    });
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

  it('fails a sender that trickles fewer bytes than the limit asks, though each byte comes in time', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source, {
      stall: { ms: 100, minBytes: 8, error: () => new Error('stalled') },
    });
    const timer = setInterval(() => source.write(Buffer.from('x')), 30);
    try {
      const read = async (): Promise<number> => {
        let bytes = 0;
        for (let chunk = await reader.next(); chunk; chunk = await reader.next()) bytes += chunk.length;
        return bytes;
      };
      await expect(read()).rejects.toThrow('stalled');
      expect(source.destroyed).toBe(true);
    } finally {
      clearInterval(timer);
    }
  });

  it('fails at the deadline even while bytes keep coming', async () => {
    const source = new PassThrough();
    const reader = new ChunkReader(source, {
      stall: { ms: 1000, minBytes: 1, error: () => new Error('stalled') },
      deadline: { atMs: Date.now() + 150, error: () => new Error('too late') },
    });
    const timer = setInterval(() => source.write(Buffer.alloc(1024)), 10);
    try {
      const read = async (): Promise<void> => {
        for (let chunk = await reader.next(); chunk; chunk = await reader.next());
      };
      await expect(read()).rejects.toThrow('too late');
    } finally {
      clearInterval(timer);
    }
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
