// The tar encoder against two readers: this project's own and tar-stream's (an independent one).
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { TAR_END, encodeFileHeader, tarPadding } from './tar-writer.js';
import { TarReader } from './tar-reader.js';

const NAMES = [
  'out/a.png',
  `deep/${'x'.repeat(150)}/${'y'.repeat(120)}.png`,
  'outputs/txt2img/2026-12-06/00001-猫 と 犬.png',
  'sp ace/=equals=/new\nline.png',
];

function archiveOf(files: { name: string; body: Buffer; pax?: Record<string, string> }[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(
      encodeFileHeader({
        name: file.name,
        size: file.body.length,
        mode: 0o644,
        mtimeMs: 1_765_000_000_123,
        ...(file.pax ? { pax: file.pax } : {}),
      }),
      file.body,
      tarPadding(file.body.length),
    );
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

const files = NAMES.map((name, i) => ({
  name,
  body: Buffer.alloc(i * 700 + 1, i + 1),
  pax: { 'FORGESYNC.xxh64': `00000000000000${String(i).padStart(2, '0')}` },
}));

describe('encodeFileHeader', () => {
  it('writes names, sizes, bodies and PAX records that this project reads back exactly', async () => {
    const archive = archiveOf(files);
    expect(archive.length % 512).toBe(0);
    let given: Buffer | null = archive;
    const reader = new TarReader({ next: async () => [given, (given = null)][0] });
    for (const file of files) {
      const header = await reader.nextEntry();
      expect(header).toMatchObject({ name: file.name, type: 'file', size: file.body.length, mode: 0o644 });
      expect(header!.pax['FORGESYNC.xxh64']).toBe(file.pax['FORGESYNC.xxh64']);
      expect(header!.mtimeMs).toBe(1_765_000_000_000);
      const chunks: Buffer[] = [];
      for await (const chunk of reader.body()) chunks.push(chunk);
      expect(Buffer.concat(chunks)).toEqual(file.body);
    }
    expect(await reader.nextEntry()).toBeNull();
  });

  it('writes an archive that tar-stream reads the same', async () => {
    const seen: { name: string; size: number; body: Buffer; pax: Record<string, string> }[] = [];
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        seen.push({
          name: header.name,
          size: header.size ?? -1,
          body: Buffer.concat(chunks),
          pax: (header.pax ?? {}) as Record<string, string>,
        });
        next();
      });
    });
    const done = new Promise<void>((resolve, reject) =>
      extract.on('finish', () => resolve()).on('error', reject),
    );
    Readable.from([archiveOf(files)]).pipe(extract);
    await done;
    expect(seen.map(({ name, body }) => ({ name, body }))).toEqual(
      files.map(({ name, body }) => ({ name, body })),
    );
    expect(seen[2]!.pax['FORGESYNC.xxh64']).toBe('0000000000000002');
  });

  it('puts a size past the ustar field in the PAX record', async () => {
    const header = encodeFileHeader({ name: 'big.mp4', size: 9 * 2 ** 30, mode: 0o644, mtimeMs: 0 });
    let given: Buffer | null = header;
    const reader = new TarReader({ next: async () => [given, (given = null)][0] });
    expect(await reader.nextEntry()).toMatchObject({ name: 'big.mp4', size: 9 * 2 ** 30 });
  });

  it('counts a PAX record length across a change in its number of digits', () => {
    // " path=" + name + "\n" is 98 bytes for this name: with its own 2 digits, 100, which has 3.
    const name = 'n'.repeat(91);
    const block = encodeFileHeader({ name, size: 0, mode: 0o644, mtimeMs: 0 });
    const record = block.toString('utf8', 512, 512 + 101);
    expect(record).toBe(`101 path=${name}\n`);
  });
});
