// Property tests for the archive receiver: generated archives land byte-exact; damaged ones fail cleanly, half-writing nothing.
import { mkdir, mkdtemp, readFile, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors.js';
import type { ManifestEntry } from '../../common/manifest.js';
import { isSafePath } from '../../common/path-safety.js';
import { xxh64Of } from '../../common/xxh64.js';
import { ChunkReader } from '../../lib/chunk-reader.js';
import { validTar } from '../../test/fixtures/tars.js';
import { LOOKALIKES, anyPath, validPath } from '../../test/helpers/arbitraries.js';
import type { StoredPathInfo } from '../catalog/catalog.js';
import { DirtyDirs } from '../host-store/durable.js';
import { type ExtractResult, extractArchive } from './receive-archive.js';
import { Placer, type PlacerCatalog } from '../host-store/place.js';
import { createTempFile } from '../host-store/temp-file.js';

const AGENT = 'gpu1';

class MemoryCatalog implements PlacerCatalog {
  async findByStoredPaths(): Promise<Map<string, StoredPathInfo>> {
    return new Map();
  }
}

interface FileSpec {
  path: string;
  body: Buffer;
}

/** Packs the files as an agent does: each with its xxh64 in a PAX record, then the report. */
function packArchive(files: readonly FileSpec[], entries: readonly ManifestEntry[]): Promise<Buffer> {
  return validTar(
    files.map((file, i) => ({ path: file.path, content: file.body, xxh64: entries[i]!.xxh64 })),
  );
}

/** Files under `dir`, relative, `.forge-sync` left out. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** Distinct valid paths, with lookalike pairs (NFC/NFD, case) side by side, and their bodies. */
const archiveFiles: fc.Arbitrary<FileSpec[]> = fc
  .tuple(
    fc.uniqueArray(validPath, { maxLength: 12 }),
    fc.subarray([...LOOKALIKES]),
    fc.array(
      fc.oneof(
        { weight: 30, arbitrary: fc.integer({ min: 0, max: 3000 }) },
        // Over 1 MiB: received into a temp file instead of memory.
        { weight: 1, arbitrary: fc.integer({ min: (1 << 20) + 1, max: (1 << 20) + 5000 }) },
      ),
      { minLength: 30, maxLength: 30 },
    ),
    fc.integer({ min: 0, max: 255 }),
  )
  .map(([paths, pairs, sizes, seed]) => {
    const all = [...paths, ...pairs.flatMap(([a, b]) => [`lookalikes/${a}`, `lookalikes/${b}`])];
    // No path may be a folder of another one.
    const unique = all.filter(
      (path, i) => all.indexOf(path) === i && !all.some((other) => other.startsWith(`${path}/`)),
    );
    return unique.map((path, i) => {
      const body = Buffer.alloc(sizes[i % sizes.length]!);
      for (let b = 0; b < body.length; b++) body[b] = (b * 31 + i * 7 + seed) & 0xff;
      return { path: `out/${path}`, body };
    });
  });

describe('extractArchive, on generated archives', () => {
  let base: string;
  let run = 0;

  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'extract-props-')));
  });

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  /** A fresh destination, the archive fed in `piece`-byte chunks, and what came of it. */
  async function receive(
    archive: Buffer,
    entries: readonly ManifestEntry[],
    piece: number,
  ): Promise<{ result: ExtractResult; dest: string; tmp: string }> {
    const dir = join(base, String(run++));
    const dest = join(dir, 'dest');
    const tmp = join(dest, '.forge-sync', 'tmp');
    const journalDir = join(dest, '.forge-sync', 'inflight');
    await mkdir(tmp, { recursive: true });
    await mkdir(journalDir, { recursive: true });
    const placer = new Placer(dest, new MemoryCatalog(), { tmpDir: tmp, journalDir });
    // As a sync does: only entries of the checked manifest are prepared for.
    const journal = await placer.prepare(
      AGENT,
      entries.filter((entry) => isSafePath(entry.path)),
    );
    const stream = new PassThrough();
    for (let at = 0; at < archive.length; at += piece) stream.write(archive.subarray(at, at + piece));
    stream.end();
    const result = await extractArchive(new ChunkReader(stream), {
      agent: AGENT,
      createTemp: () => createTempFile(tmp),
      destName: dest,
      requested: new Map(entries.map((entry) => [entry.path, entry])),
      placer,
      dirty: new DirtyDirs(),
      fsyncEachFile: false,
    });
    journal.abandon();
    return { result, dest, tmp };
  }

  async function manifestOf(files: readonly FileSpec[]): Promise<ManifestEntry[]> {
    return Promise.all(
      files.map(async (file) => ({
        path: file.path,
        size: file.body.length,
        mtimeMs: 0,
        xxh64: await xxh64Of(file.body),
      })),
    );
  }

  it('stores every file of a valid archive byte-exact under its own name, lookalikes apart', async () => {
    await fc.assert(
      fc.asyncProperty(archiveFiles, fc.integer({ min: 1, max: 9000 }), async (files, piece) => {
        const entries = await manifestOf(files);
        const { result, dest, tmp } = await receive(await packArchive(files, entries), entries, piece);
        expect(result.streamError).toBeUndefined();
        expect(result.problems).toEqual([]);
        expect(result.stored.map((file) => file.storedPath).sort()).toEqual(
          files.map((file) => `${AGENT}/${file.path}`).sort(),
        );
        for (const file of files)
          expect((await readFile(join(dest, AGENT, file.path))).equals(file.body)).toBe(true);
        expect((await filesUnder(dest)).filter((path) => !path.startsWith('.forge-sync'))).toEqual(
          files.map((file) => join(AGENT, file.path)).sort(),
        );
        expect(await filesUnder(tmp)).toEqual([]);
        await rm(dest, { recursive: true, force: true });
      }),
      { numRuns: 40 },
    );
  });

  it('rejects a damaged or cut archive with a clean error, keeping only verified files and no temp file', async () => {
    const damage = fc.oneof(
      fc.record({ cut: fc.nat() }),
      fc.record({
        flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(archiveFiles, damage, fc.integer({ min: 1, max: 9000 }), async (files, how, piece) => {
        const entries = await manifestOf(files);
        const good = await packArchive(files, entries);
        let archive: Buffer;
        // Where the end-of-archive blocks start: a cut before them loses part of the archive.
        const endMarker = good.length - 1024;
        if ('cut' in how) archive = good.subarray(0, how.cut % endMarker);
        else {
          archive = Buffer.from(good);
          for (const [where, xor] of how.flips) {
            const at = where % archive.length;
            archive[at] = archive[at]! ^ xor;
          }
        }
        const { result, dest, tmp } = await receive(archive, entries, piece);
        if ('cut' in how) expect(result.streamError, 'a cut archive must fail').toBeDefined();
        if (result.streamError) {
          expect(result.streamError).toBeInstanceOf(AppError);
          expect(result.streamError.message).not.toMatch(/\n\s+at /);
        }
        for (const problem of result.problems) expect(typeof problem.code).toBe('string');
        // Nothing but verified files: each stored copy is exactly what was sent under that name.
        const byPath = new Map(files.map((file) => [file.path, file.body]));
        for (const stored of result.stored) {
          const body = await readFile(join(dest, stored.storedPath));
          expect(body.equals(byPath.get(stored.entry.path)!), stored.storedPath).toBe(true);
        }
        expect((await filesUnder(dest)).filter((path) => !path.startsWith('.forge-sync'))).toEqual(
          result.stored.map((file) => file.storedPath).sort(),
        );
        expect(await filesUnder(tmp)).toEqual([]);
        // Every file not stored is accounted for: a problem, a skip, or the stream's failure.
        const stored = new Set(result.stored.map((file) => file.entry.path));
        const told = new Set(result.problems.map((problem) => problem.path));
        for (const file of files) {
          if (!stored.has(file.path))
            expect(told.has(file.path) || result.streamError !== undefined).toBe(true);
        }
        await rm(dest, { recursive: true, force: true });
      }),
      { numRuns: 100 },
    );
  });

  it("makes a name the destination cannot hold one file's problem, and stores the others", async () => {
    // Safe by the manifest's rule, yet no file can have this name here: over PATH_MAX in bytes
    // (16 segments of 127 two-byte characters) or under a name that is a file.
    const unnameable = fc.constantFrom(
      `out/${Array.from({ length: 16 }, () => '\u00e9'.repeat(127)).join('/')}`,
      'out/taken/child.png',
    );
    await fc.assert(
      fc.asyncProperty(archiveFiles, unnameable, fc.nat(), async (files, bad, at) => {
        // A generated file may be a folder of `bad` (out/é…é and out/é…é/é…é/…): no folder is made
        // for a path too long to hold, so that file is stored whichever comes first.
        const all = files.filter((file) => !file.path.startsWith('out/taken'));
        all.splice(at % (all.length + 1), 0, { path: bad, body: Buffer.from('cannot land') });
        // `out/taken` is a file, stored before `out/taken/child.png` arrives.
        if (bad === 'out/taken/child.png') all.unshift({ path: 'out/taken', body: Buffer.from('a file') });
        const entries = await manifestOf(all);
        const { result, dest, tmp } = await receive(await packArchive(all, entries), entries, 4096);
        expect(result.streamError).toBeUndefined();
        // Files are placed side by side: `out/taken/child.png` may land first, and `out/taken` then
        // beside the folder under its versioned name. Either way each file is stored or is a problem.
        const stored = new Map(result.stored.map((file) => [file.entry.path, file.storedPath]));
        for (const file of all) {
          const storedPath = stored.get(file.path);
          if (storedPath === undefined) {
            expect(file.path).toBe(bad);
            expect(result.problems).toEqual([
              expect.objectContaining({ path: bad, code: 'E_STORED_CONFLICT' }),
            ]);
          } else {
            expect((await readFile(join(dest, storedPath))).equals(file.body), file.path).toBe(true);
          }
        }
        if (bad.length > 1000) expect(stored.has(bad)).toBe(false);
        expect(await filesUnder(tmp)).toEqual([]);
        await rm(dest, { recursive: true, force: true });
      }),
      { numRuns: 30 },
    );
  });

  it('writes nothing outside the destination, whatever names the entries carry', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(anyPath, { minLength: 1, maxLength: 8 }), async (paths) => {
        const files = paths.map((path, i) => ({ path, body: Buffer.from(`file ${i}`) }));
        const entries = await manifestOf(files);
        let archive: Buffer;
        try {
          archive = await packArchive(files, entries);
        } catch {
          return; // a name tar itself cannot hold
        }
        const { result, dest } = await receive(archive, entries, 4096);
        const root = join(dest, '..');
        expect((await readdir(root)).sort()).toEqual(['dest']);
        for (const stored of result.stored) {
          expect(join(dest, stored.storedPath).startsWith(`${dest}/${AGENT}/`)).toBe(true);
          expect(stored.entry.path).not.toContain('\0');
        }
        await rm(root, { recursive: true, force: true });
      }),
      { numRuns: 150 },
    );
  });
});
