// TarReader against archives written by tar-stream and by hand: names, PAX records, bodies, and every kind of damage.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildTar } from '../test/fixtures/tars.js';
import { ChunkReader } from './chunk-reader.js';
import { TarFormatError, type TarHeader, TarReader } from './tar-reader.js';

/** Feeds `bytes` in pieces of `piece` bytes, so headers and bodies straddle chunks. */
function readerOver(bytes: Buffer, piece = bytes.length): TarReader {
  const stream = new PassThrough();
  for (let at = 0; at < bytes.length; at += piece) stream.write(bytes.subarray(at, at + piece));
  stream.end();
  return new TarReader(new ChunkReader(stream));
}

async function readAll(reader: TarReader): Promise<{ header: TarHeader; body: string }[]> {
  const out: { header: TarHeader; body: string }[] = [];
  for (let header = await reader.nextEntry(); header; header = await reader.nextEntry()) {
    const parts: Buffer[] = [];
    for await (const chunk of reader.body()) parts.push(chunk);
    out.push({ header, body: Buffer.concat(parts).toString() });
  }
  return out;
}

describe('TarReader', () => {
  it('reads files, PAX records and long names, whatever the chunking', async () => {
    const long = `output/${'deep/'.repeat(40)}image.png`;
    const archive = await buildTar([
      {
        header: { name: 'output/a.png', pax: { 'FORGESYNC.xxh64': '0123456789abcdef' } },
        body: Buffer.from('hello'),
      },
      { header: { name: long }, body: Buffer.alloc(1000, 'x') },
      { header: { name: 'output/empty.txt' }, body: Buffer.alloc(0) },
      { header: { name: 'output/ünïcode 画像.png' }, body: Buffer.from('é') },
    ]);
    for (const piece of [archive.length, 512, 100, 7, 1]) {
      const entries = await readAll(readerOver(archive, piece));
      expect(entries.map((entry) => entry.header.name)).toEqual([
        'output/a.png',
        long,
        'output/empty.txt',
        'output/ünïcode 画像.png',
      ]);
      expect(entries[0]!.header.pax['FORGESYNC.xxh64']).toBe('0123456789abcdef');
      expect(entries[0]!.body).toBe('hello');
      expect(entries[1]!.body).toBe('x'.repeat(1000));
      expect(entries[2]!.header.size).toBe(0);
      expect(entries[3]!.body).toBe('é');
    }
  });

  it('names link, symlink, folder and fifo entries by type and gives them no body', async () => {
    const archive = await buildTar([
      { header: { name: 'l', type: 'symlink', linkname: '/etc/passwd' } },
      { header: { name: 'h', type: 'link', linkname: '/etc/passwd' } },
      { header: { name: 'd', type: 'directory' } },
      { header: { name: 'f', type: 'fifo' } },
      { header: { name: 'after.png' }, body: Buffer.from('ok') },
    ]);
    const entries = await readAll(readerOver(archive, 300));
    expect(entries.map((entry) => [entry.header.name, entry.header.type, entry.body])).toEqual([
      ['l', 'symlink', ''],
      ['h', 'link', ''],
      ['d', 'directory', ''],
      ['f', 'fifo', ''],
      ['after.png', 'file', 'ok'],
    ]);
  });

  it('skips an unread body when asked for the next entry', async () => {
    const archive = await buildTar([
      { header: { name: 'big' }, body: Buffer.alloc(5000, 1) },
      { header: { name: 'next' }, body: Buffer.from('n') },
    ]);
    const reader = readerOver(archive, 1024);
    expect((await reader.nextEntry())?.name).toBe('big');
    const next = await reader.nextEntry();
    expect(next?.name).toBe('next');
    expect(await reader.nextEntry()).toBeNull();
  });

  it('refuses a header whose checksum is wrong', async () => {
    const archive = await buildTar([{ header: { name: 'a' }, body: Buffer.from('x') }]);
    archive[0] = 'b'.charCodeAt(0);
    await expect(readAll(readerOver(archive))).rejects.toBeInstanceOf(TarFormatError);
  });

  it('fails an archive cut in a header, in a body and in padding', async () => {
    const archive = await buildTar([{ header: { name: 'a' }, body: Buffer.alloc(600, 2) }]);
    for (const cut of [300, 700, 1100]) {
      await expect(readAll(readerOver(archive.subarray(0, cut)))).rejects.toThrow(TarFormatError);
    }
  });

  it('refuses a malformed size field and an absurd PAX header', async () => {
    const archive = await buildTar([{ header: { name: 'a' }, body: Buffer.from('x') }]);
    const bad = Buffer.from(archive);
    bad.write('9z9z9z9z9z9\0', 124, 'latin1');
    fixChecksum(bad);
    await expect(readAll(readerOver(bad))).rejects.toThrow(/malformed size/);

    const paxed = await buildTar([{ header: { name: 'a', pax: { k: 'v' } }, body: Buffer.from('x') }]);
    const broken = Buffer.from(paxed);
    broken.write('99 ', 512, 'latin1'); // the record claims more bytes than the header holds
    await expect(readAll(readerOver(broken))).rejects.toThrow(TarFormatError);
  });

  it('ends an endless run of extended headers before any entry', async () => {
    const paxed = await buildTar([{ header: { name: 'a', pax: { k: 'v' } }, body: Buffer.from('x') }]);
    const extended = paxed.subarray(0, 1024); // one PAX header block and its record block
    let served = 0;
    const endless = new TarReader({
      next: () => {
        served += extended.length;
        return Promise.resolve(extended);
      },
    });
    await expect(endless.nextEntry()).rejects.toThrow(/extended tar headers of an entry are too large/);
    expect(served).toBeLessThanOrEqual((1 << 20) + 1024);
  });

  it('keeps a __proto__ PAX record as data, not as a prototype', async () => {
    const archive = await buildTar([
      { header: { name: 'a', pax: { __proto__x: 'v' } }, body: Buffer.from('x') },
    ]);
    const patched = Buffer.from(archive.toString('latin1').replace('__proto__x=v', '__proto__=vv'), 'latin1');
    const [entry] = await readAll(readerOver(patched));
    expect(Object.getPrototypeOf(entry!.header.pax)).toBeNull();
    expect(entry!.header.pax.__proto__).toBe('vv');
  });

  it('reads a GNU base-256 size', async () => {
    const archive = await buildTar([{ header: { name: 'a' }, body: Buffer.from('abc') }]);
    const patched = Buffer.from(archive);
    patched.fill(0, 124, 136);
    patched[124] = 0x80;
    patched[135] = 3;
    fixChecksum(patched);
    const [entry] = await readAll(readerOver(patched));
    expect(entry!.header.size).toBe(3);
    expect(entry!.body).toBe('abc');
  });
});

function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}
