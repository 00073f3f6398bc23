// ArchiveOut and EntrySlab over a real HTTP response: entries from one slab leave without being copied, and byte-exact.
import { once } from 'node:events';
import { type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EntrySlab } from './entry-slab.js';
import { ArchiveOut } from './tar-output.js';

let server: Server | undefined;

afterEach(async () => {
  server?.close();
  server = undefined;
});

/**
 * Serves one answer written by `write` through ArchiveOut, and returns the body the client got and
 * the buffers handed to the response's `write`.
 */
async function serve(
  write: (archive: ArchiveOut) => Promise<void>,
): Promise<{ body: Buffer; writes: Buffer[] }> {
  const writes: Buffer[] = [];
  server = createServer((_req, res: ServerResponse) => {
    const original = res.write.bind(res) as (chunk: Buffer) => boolean;
    res.write = ((chunk: Buffer) => {
      writes.push(chunk);
      return original(chunk);
    }) as typeof res.write;
    res.writeHead(200);
    void write(new ArchiveOut(res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const req = request({ host: '127.0.0.1', port, path: '/' });
  req.end();
  const [res] = (await once(req, 'response')) as [NodeJS.ReadableStream];
  const parts: Buffer[] = [];
  for await (const part of res) parts.push(part as Buffer);
  return { body: Buffer.concat(parts), writes };
}

const filled = (region: Buffer, byte: number): Buffer => region.fill(byte);

describe('EntrySlab', () => {
  it('hands out regions one after another in one slab, then starts another', () => {
    const slab = new EntrySlab();
    const a = slab.take(1000);
    const b = slab.take(3000);
    expect(b.buffer === a.buffer).toBe(true);
    expect(b.byteOffset).toBe(a.byteOffset + a.length);
    // A 1 MiB slab holds four entries of 250 KiB after these 4000 bytes, not a fifth.
    const fits = Array.from({ length: 4 }, () => slab.take(250 << 10));
    expect(fits.every((region) => region.buffer === a.buffer)).toBe(true);
    const next = slab.take(250 << 10);
    expect(next.buffer === a.buffer).toBe(false);
    expect(next.byteOffset).toBe(0);
  });

  it('gives an entry over a quarter of a slab memory of its own, and goes on in the slab after it', () => {
    const slab = new EntrySlab();
    const small = slab.take(100);
    const big = slab.take((256 << 10) + 1);
    expect(big.buffer === small.buffer).toBe(false);
    expect(big.length).toBe((256 << 10) + 1);
    const after = slab.take(100);
    expect(after.buffer === small.buffer).toBe(true);
    expect(after.byteOffset).toBe(small.byteOffset + 100);
  });
});

describe('ArchiveOut', () => {
  it('sends entries taken in turn from one slab as one view of the slab, not a joined copy', async () => {
    let first: Buffer | undefined;
    const { body, writes } = await serve(async (archive) => {
      const slab = new EntrySlab();
      first = filled(slab.take(1536), 1);
      await archive.body(first);
      await archive.body(filled(slab.take(20_992), 2));
      await archive.body(filled(slab.take(512), 3));
      await archive.finish();
    });
    const expected = Buffer.concat([
      Buffer.alloc(1536, 1),
      Buffer.alloc(20_992, 2),
      Buffer.alloc(512, 3),
      Buffer.alloc(1024), // the end of the archive
    ]);
    expect(body.equals(expected)).toBe(true);
    // The three entries went out as one write of the slab's own memory.
    const entries = writes.find((chunk) => chunk.length === 1536 + 20_992 + 512);
    expect(entries?.buffer === first!.buffer).toBe(true);
    expect(entries?.byteOffset).toBe(first!.byteOffset);
  });

  it('keeps apart what is not adjacent: a region left unsent, and bytes from elsewhere', async () => {
    const { body } = await serve(async (archive) => {
      const slab = new EntrySlab();
      const sent = filled(slab.take(600), 1);
      filled(slab.take(700), 9); // a file skipped after it was read: never queued
      const later = filled(slab.take(800), 2);
      await archive.body(sent);
      await archive.body(later);
      await archive.body(Buffer.alloc(900, 3));
      await archive.finish();
    });
    const expected = Buffer.concat([
      Buffer.alloc(600, 1),
      Buffer.alloc(800, 2),
      Buffer.alloc(900, 3),
      Buffer.alloc(1024),
    ]);
    expect(body.equals(expected)).toBe(true);
  });
});
