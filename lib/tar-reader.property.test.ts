// Property tests for TarReader: archives of generated entries read back exactly, in any chunking; damage is a TarFormatError.
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTar } from '../test/fixtures/tars.js';
import { validPath } from '../test/helpers/arbitraries.js';
import { ChunkReader } from './chunk-reader.js';
import { TarFormatError, TarReader } from './tar-reader.js';

interface Entry {
  name: string;
  body: Buffer;
  pax: Record<string, string>;
}

function pack(entries: readonly Entry[]): Promise<Buffer> {
  return buildTar(entries.map(({ name, body, pax }) => ({ header: { name, mode: 0o644, pax }, body })));
}

/** Every entry and its body, read with the archive cut into `piece`-byte chunks. */
async function readAll(bytes: Buffer, piece: number): Promise<Entry[]> {
  const stream = new PassThrough();
  for (let at = 0; at < bytes.length; at += piece) stream.write(bytes.subarray(at, at + piece));
  stream.end();
  const reader = new TarReader(new ChunkReader(stream));
  const out: Entry[] = [];
  for (let header = await reader.nextEntry(); header; header = await reader.nextEntry()) {
    const parts: Buffer[] = [];
    for await (const chunk of reader.body()) parts.push(Buffer.from(chunk));
    expect(Buffer.concat(parts).length).toBe(header.size);
    out.push({ name: header.name, body: Buffer.concat(parts), pax: { ...header.pax } });
  }
  return out;
}

const entry: fc.Arbitrary<Entry> = fc.record({
  // Long names (over 100 bytes) go into PAX `path` records, as the agent's do.
  name: fc.oneof(
    validPath,
    validPath.map((path) => `${'deep/'.repeat(30)}${path}`),
  ),
  body: fc.oneof(
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((bytes) => Buffer.from(bytes)) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 0, max: 200_000 }).map((size) => Buffer.alloc(size, size & 0xff)),
    },
  ),
  pax: fc
    .option(fc.stringMatching(/^[0-9a-f]{16}$/), { nil: undefined })
    .map((hash) => (hash ? { 'FORGESYNC.xxh64': hash } : ({} as Record<string, string>))),
});

describe('TarReader, on generated archives', () => {
  it('reads back every name, body and PAX record exactly, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 10 }),
        fc.integer({ min: 1, max: 5000 }),
        async (entries, piece) => {
          const read = await readAll(await pack(entries), piece);
          expect(read.map((e) => e.name)).toEqual(entries.map((e) => e.name));
          for (const [i, e] of read.entries()) {
            expect(e.body.equals(entries[i]!.body)).toBe(true);
            expect(e.pax).toMatchObject(entries[i]!.pax);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('fails a cut or damaged archive only with a TarFormatError, and a cut one always', async () => {
    const damage = fc.oneof(
      fc.record({ cut: fc.nat() }),
      fc.record({
        flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { minLength: 1, maxLength: 6 }),
        damage,
        fc.integer({ min: 1, max: 5000 }),
        async (entries, how, piece) => {
          const good = await pack(entries);
          let bytes: Buffer;
          // tar-stream ends with two zero blocks: cutting before the first loses part of the archive.
          if ('cut' in how) bytes = good.subarray(0, how.cut % (good.length - 1024));
          else {
            bytes = Buffer.from(good);
            for (const [where, xor] of how.flips) {
              const at = where % bytes.length;
              bytes[at] = bytes[at]! ^ xor;
            }
          }
          let failure: unknown;
          try {
            await readAll(bytes, piece);
          } catch (err) {
            failure = err;
          }
          if (failure !== undefined) expect(failure).toBeInstanceOf(TarFormatError);
          if ('cut' in how) expect(failure, 'a cut archive must fail').toBeInstanceOf(TarFormatError);
        },
      ),
      { numRuns: 300 },
    );
  });
});
