// RetainedBytes: a small file kept whole (a view when it came in one chunk), a large one by its edges.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RETAIN_EDGE_BYTES, RETAIN_WHOLE_BYTES, RetainedBytes } from './retained.js';

describe('RetainedBytes', () => {
  it('keeps a small file that came in one chunk as a view of it, without a copy', async () => {
    const network = randomBytes(4096);
    const file = network.subarray(100, 2100);
    const kept = new RetainedBytes(file.length);
    kept.add(file);
    expect(kept.head.buffer).toBe(network.buffer);
    expect(kept.head).toEqual(file);
    expect(await kept.source().read(10, 20)).toEqual(file.subarray(10, 30));
  });

  it('copies a small file that came in pieces into one buffer', async () => {
    const file = randomBytes(3000);
    const kept = new RetainedBytes(file.length);
    kept.add(file.subarray(0, 1000));
    kept.add(file.subarray(1000));
    expect(kept.head.buffer).not.toBe(file.buffer);
    expect(kept.head).toEqual(file);
    expect(await kept.source().read(900, 200)).toEqual(file.subarray(900, 1100));
  });

  it('keeps the head and tail of a large file and sends other reads to the fallback', async () => {
    const size = RETAIN_WHOLE_BYTES + 3 * RETAIN_EDGE_BYTES;
    const file = randomBytes(size);
    const kept = new RetainedBytes(size);
    for (let at = 0; at < size; at += 65_536) kept.add(file.subarray(at, at + 65_536));
    const fallback = {
      size,
      read: (position: number, length: number) => Promise.resolve(file.subarray(position, position + length)),
    };
    const source = kept.source({ ...fallback, read: () => Promise.reject(new Error('not kept')) });
    expect(await source.read(0, 100)).toEqual(file.subarray(0, 100));
    expect(await source.read(size - 100, 100)).toEqual(file.subarray(size - 100));
    await expect(source.read(RETAIN_EDGE_BYTES + 10, 10)).rejects.toThrow('not kept');
    expect(await kept.source(fallback).read(RETAIN_EDGE_BYTES + 10, 10)).toEqual(
      file.subarray(RETAIN_EDGE_BYTES + 10, RETAIN_EDGE_BYTES + 20),
    );
  });
});
