// Unit tests for the in-memory ReadAt and the windowed reader that batches small header reads.
import { describe, expect, it } from 'vitest';
import { bytesReadAt, type ReadAt, WindowedReader } from './read-at.js';

/** A ReadAt over `bytes` that records each read it serves. */
function counted(bytes: Uint8Array): ReadAt & { reads: [number, number][] } {
  const inner = bytesReadAt(bytes);
  const reads: [number, number][] = [];
  return {
    size: inner.size,
    reads,
    read(position, length) {
      reads.push([position, length]);
      return inner.read(position, length);
    },
  };
}

describe('bytesReadAt', () => {
  it.each<[string, number, number, number[]]>([
    ['inside', 1, 2, [2, 3]],
    ['running past the end', 3, 10, [4]],
    ['wholly past the end', 9, 2, []],
  ])('a read %s', async (_name, position, length, want) => {
    expect([...(await bytesReadAt(Uint8Array.of(1, 2, 3, 4)).read(position, length))]).toEqual(want);
  });

  it('keeps Buffers as Buffers', async () => {
    expect(Buffer.isBuffer(await bytesReadAt(Buffer.from('abcd')).read(1, 2))).toBe(true);
  });
});

describe('WindowedReader', () => {
  const bytes = Uint8Array.from({ length: 3 * WindowedReader.WINDOW }, (_, i) => i & 0xff);

  it('serves small reads inside one window from a single read', async () => {
    const source = counted(bytes);
    const reader = new WindowedReader(source);
    expect([...(await reader.read(10, 4))]).toEqual([10, 11, 12, 13]);
    expect([...(await reader.read(100, 2))]).toEqual([100, 101]);
    expect(source.reads).toEqual([[10, WindowedReader.WINDOW]]);
  });

  it('reads a new window past the current one, and large reads straight through', async () => {
    const source = counted(bytes);
    const reader = new WindowedReader(source);
    await reader.read(0, 8);
    await reader.read(WindowedReader.WINDOW + 5, 8);
    await reader.read(0, WindowedReader.WINDOW + 1);
    expect(source.reads).toEqual([
      [0, WindowedReader.WINDOW],
      [WindowedReader.WINDOW + 5, WindowedReader.WINDOW],
      [0, WindowedReader.WINDOW + 1],
    ]);
    expect(reader.size).toBe(bytes.length);
  });
});
