// Unit tests for Placer: free, taken, adopted and conflicting names, and symlinked folders, in a real temp --dest.
import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../common/errors.js';
import { versionedPath } from '../../common/path-safety.js';
import { createXxh64 } from '../../common/xxh64.js';
import type { StoredPathInfo } from '../catalog/catalog.js';
import { DirtyDirs } from './durable.js';
import { Placer, type PlacerCatalog, type PlaceRequest } from './place.js';

/** A catalog held in a map: enough for Placer, which only asks what is stored at a path. */
class MemoryCatalog implements PlacerCatalog {
  readonly byStoredPath = new Map<string, StoredPathInfo>();
  lookups: string[] = [];

  async findByStoredPaths(storedPaths: readonly string[]): Promise<Map<string, StoredPathInfo>> {
    this.lookups.push(...storedPaths);
    const found = new Map<string, StoredPathInfo>();
    for (const path of storedPaths) {
      const info = this.byStoredPath.get(path);
      if (info) found.set(path, info);
    }
    return found;
  }
}

async function xxh64Of(content: Buffer): Promise<string> {
  const hasher = await createXxh64();
  hasher.update(content);
  return hasher.hex();
}

/** The folders marked so far; `dirs` is private, and reading it is the only way to see what place() marked. */
function marked(dirty: DirtyDirs): string[] {
  return [...(dirty as unknown as { dirs: Set<string> }).dirs].sort();
}

const AGENT = 'forge';
const CONTAINER_PATH = 'outputs/txt2img/00001-123.png';
const PRIMARY = `${AGENT}/${CONTAINER_PATH}`;
const NEW = Buffer.from('the new image bytes');
const OTHER = Buffer.from('some other image bytes');
const OTHER_SAME_SIZE = Buffer.from('THE NEW IMAGE BYTES');

let base: string;
let journalDir: string;
let dest: string;
let tmp: string;
let outside: string;
let catalog: MemoryCatalog;
let placer: Placer;
let tempCounter = 0;

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'place-test-')));
  dest = join(base, 'dest');
  tmp = join(dest, '.forge-sync', 'tmp');
  outside = join(base, 'outside');
  await mkdir(tmp, { recursive: true });
  await mkdir(outside);
  catalog = new MemoryCatalog();
  journalDir = join(dest, '.forge-sync', 'inflight');
  await mkdir(journalDir);
  placer = new Placer(dest, catalog, { tmpDir: tmp, journalDir });
});

/** The catalog says another version (another hash) of the file is stored under its primary name. */
function catalogueOtherVersion(size: number): void {
  catalog.byStoredPath.set(PRIMARY, {
    agent: AGENT,
    containerPath: CONTAINER_PATH,
    xxh64: 'ffffffffffffffff',
    size,
  });
}

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function request(content: Buffer, containerPath = CONTAINER_PATH): Promise<PlaceRequest> {
  const tempPath = join(tmp, `incoming-${tempCounter++}`);
  await writeFile(tempPath, content);
  return { agent: AGENT, containerPath, xxh64: await xxh64Of(content), size: content.length, tempPath };
}

/** Writes a file under dest at a stored (POSIX, relative) path. */
async function putStored(storedPath: string, content: Buffer): Promise<string> {
  const path = join(dest, ...storedPath.split('/'));
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  return path;
}

const atDest = (storedPath: string) => join(dest, ...storedPath.split('/'));

describe('Placer.place', () => {
  it('stores at the primary name when it is free', async () => {
    const req = await request(NEW);
    const dirty = new DirtyDirs();
    expect(await placer.place(req, dirty)).toEqual({ ok: true, storedPath: PRIMARY, fresh: true });
    expect(await readFile(atDest(PRIMARY))).toEqual(NEW);
    expect(await readdir(tmp)).toEqual([]);
    // Every folder created on the way down, and --dest itself, must be fsynced.
    expect(marked(dirty)).toEqual([
      dest,
      join(dest, AGENT),
      join(dest, AGENT, 'outputs'),
      join(dest, AGENT, 'outputs', 'txt2img'),
    ]);
  });

  it('marks the folders it created again for a later file (another batch) placed there', async () => {
    const first = new DirtyDirs();
    await placer.place(await request(NEW), first);
    const dirty = new DirtyDirs();
    const outcome = await placer.place(await request(OTHER, 'outputs/txt2img/00002-456.png'), dirty);
    expect(outcome).toEqual({ ok: true, storedPath: `${AGENT}/outputs/txt2img/00002-456.png`, fresh: true });
    // Until a batch that put a file there has fsynced the new folders' parents, another batch must too.
    expect(marked(dirty)).toEqual(marked(first));
    expect(marked(dirty)).toContain(join(dest, AGENT, 'outputs', 'txt2img'));
    expect(marked(dirty)).toContain(dest);
  });

  it('marks only the file’s folder in a folder that existed before the run', async () => {
    await mkdir(join(dest, AGENT, 'outputs', 'txt2img'), { recursive: true });
    const dirty = new DirtyDirs();
    await placer.place(await request(NEW), dirty);
    expect(marked(dirty)).toEqual([join(dest, AGENT, 'outputs', 'txt2img')]);
  });

  it.each([
    ['different size', OTHER],
    ['same size, different bytes', OTHER_SAME_SIZE],
  ])(
    'stores at the versioned name when the primary holds other content (%s, not catalogued)',
    async (_label, old) => {
      await putStored(PRIMARY, old);
      const req = await request(NEW);
      const versioned = versionedPath(PRIMARY, req.xxh64);
      expect(versioned).toBe(`${AGENT}/outputs/txt2img/00001-123~${req.xxh64}.png`);
      expect(await placer.place(req, new DirtyDirs())).toEqual({
        ok: true,
        storedPath: versioned,
        fresh: true,
      });
      expect(await readFile(atDest(PRIMARY))).toEqual(old);
      expect(await readFile(atDest(versioned))).toEqual(NEW);
      expect(await readdir(tmp)).toEqual([]);
    },
  );

  it('trusts the catalog about the primary name: a catalogued other hash sends it to the versioned name', async () => {
    // Same bytes on disk, but the catalog says another version lives there; the catalog wins.
    await putStored(PRIMARY, NEW);
    const req = await request(NEW);
    catalogueOtherVersion(NEW.length);
    const outcome = await placer.place(req, new DirtyDirs());
    expect(outcome).toEqual({ ok: true, storedPath: versionedPath(PRIMARY, req.xxh64), fresh: true });
    expect(catalog.lookups).toEqual([PRIMARY, versionedPath(PRIMARY, req.xxh64)]);
  });

  it('asks the catalog once per batch when prepared, and still honours what it said', async () => {
    const req = await request(NEW);
    catalogueOtherVersion(NEW.length);
    const others = ['output/b.png', 'output/c.png'].map((path) => ({
      path,
      xxh64: req.xxh64,
      size: NEW.length,
    }));
    await placer.prepare(AGENT, [{ path: CONTAINER_PATH, xxh64: req.xxh64, size: NEW.length }, ...others]);
    expect(catalog.lookups).toHaveLength(6); // two names per file, in one query
    const outcome = await placer.place(req, new DirtyDirs());
    expect(outcome).toEqual({ ok: true, storedPath: versionedPath(PRIMARY, req.xxh64), fresh: true });
    expect(catalog.lookups).toHaveLength(6); // placing asked nothing more
  });

  it('never gives a catalogued name to other content, even when its file was deleted from the host', async () => {
    const req = await request(NEW);
    catalogueOtherVersion(7);
    const outcome = await placer.place(req, new DirtyDirs());
    expect(outcome).toEqual({ ok: true, storedPath: versionedPath(PRIMARY, req.xxh64), fresh: true });
    await expect(readFile(atDest(PRIMARY))).rejects.toThrow();
  });

  it('adopts a catalogued copy of the same content at the primary name', async () => {
    const existing = await putStored(PRIMARY, NEW);
    const req = await request(NEW);
    catalog.byStoredPath.set(PRIMARY, {
      agent: AGENT,
      containerPath: CONTAINER_PATH,
      xxh64: req.xxh64,
      size: NEW.length,
    });
    const inode = (await stat(existing)).ino;
    expect(await placer.place(req, new DirtyDirs())).toEqual({ ok: true, storedPath: PRIMARY, fresh: false });
    expect((await stat(existing)).ino).toBe(inode);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('adopts an uncatalogued copy of the same content at the primary name and removes the temp file', async () => {
    const existing = await putStored(PRIMARY, NEW);
    const inode = (await stat(existing)).ino;
    const req = await request(NEW);
    const dirty = new DirtyDirs();
    expect(await placer.place(req, dirty)).toEqual({ ok: true, storedPath: PRIMARY, fresh: false });
    expect((await stat(existing)).ino).toBe(inode);
    expect(await readFile(existing)).toEqual(NEW);
    expect(await readdir(tmp)).toEqual([]);
    expect(await readdir(join(dest, AGENT, 'outputs', 'txt2img'))).toEqual(['00001-123.png']);
    expect(marked(dirty)).toEqual([]);
  });

  it('adopts the versioned copy a retried transfer already made', async () => {
    await putStored(PRIMARY, OTHER);
    const req = await request(NEW);
    const versioned = versionedPath(PRIMARY, req.xxh64);
    await putStored(versioned, NEW);
    expect(await placer.place(req, new DirtyDirs())).toEqual({
      ok: true,
      storedPath: versioned,
      fresh: false,
    });
    expect(await readdir(tmp)).toEqual([]);
  });

  it('reports E_STORED_CONFLICT and overwrites nothing when both names hold other content', async () => {
    const req = await request(NEW);
    const versioned = versionedPath(PRIMARY, req.xxh64);
    await putStored(PRIMARY, OTHER);
    await putStored(versioned, OTHER_SAME_SIZE);
    expect(await placer.place(req, new DirtyDirs())).toEqual({
      ok: false,
      problem: {
        code: 'E_STORED_CONFLICT',
        path: CONTAINER_PATH,
        message: `both ${PRIMARY} and its versioned name hold other content; nothing was overwritten`,
      },
    });
    expect(await readFile(atDest(PRIMARY))).toEqual(OTHER);
    expect(await readFile(atDest(versioned))).toEqual(OTHER_SAME_SIZE);
    expect((await readdir(join(dest, AGENT, 'outputs', 'txt2img'))).sort()).toEqual(
      ['00001-123.png', `00001-123~${req.xxh64}.png`].sort(),
    );
    expect(await readdir(tmp)).toEqual([]);
  });

  it('never follows a symlink at the primary name', async () => {
    const target = join(outside, 'target.png');
    await writeFile(target, NEW);
    await mkdir(join(dest, AGENT, 'outputs', 'txt2img'), { recursive: true });
    await symlink(target, atDest(PRIMARY));
    const req = await request(NEW);
    const outcome = await placer.place(req, new DirtyDirs());
    expect(outcome).toEqual({ ok: true, storedPath: versionedPath(PRIMARY, req.xxh64), fresh: true });
    expect((await lstat(atDest(PRIMARY))).isSymbolicLink()).toBe(true);
    expect(await readFile(target)).toEqual(NEW);
    expect(await readdir(outside)).toEqual(['target.png']);
  });

  it('stores once when two transfers of the same content race for one name', async () => {
    const outcomes = await Promise.all([
      placer.place(await request(NEW), new DirtyDirs()),
      placer.place(await request(NEW), new DirtyDirs()),
    ]);
    expect(outcomes.filter((o) => o.ok && o.fresh)).toHaveLength(1);
    expect(outcomes.filter((o) => o.ok && !o.fresh)).toHaveLength(1);
    expect(outcomes.every((o) => o.ok && o.storedPath === PRIMARY)).toBe(true);
    expect(await readdir(join(dest, AGENT, 'outputs', 'txt2img'))).toEqual(['00001-123.png']);
    expect(await readdir(tmp)).toEqual([]);
  });

  it.each([
    ['the folder the file goes in', `${AGENT}/outputs/txt2img`, CONTAINER_PATH],
    ['a folder above it', `${AGENT}/outputs`, CONTAINER_PATH],
    ['the agent folder, with folders still to create below it', AGENT, 'outputs/new/deeper/x.png'],
  ])(
    'refuses with E_UNSAFE_PATH when %s is a symlink out of --dest, writing nothing outside',
    async (_label, linkAt, containerPath) => {
      const linkPath = atDest(linkAt);
      await mkdir(join(linkPath, '..'), { recursive: true });
      await symlink(outside, linkPath);
      const req = await request(NEW, containerPath);
      let caught: unknown;
      try {
        await placer.place(req, new DirtyDirs());
      } catch (err) {
        caught = err;
      }
      expect(isAppError(caught, 'E_UNSAFE_PATH')).toBe(true);
      expect(await readdir(outside, { recursive: true })).toEqual([]);
      expect(await readdir(tmp)).toEqual([]);
    },
  );
});

describe('Placer.placeBytes and the batch journal', () => {
  const bytes = async (content: Buffer, containerPath = CONTAINER_PATH) => ({
    agent: AGENT,
    containerPath,
    xxh64: await xxh64Of(content),
    size: content.length,
    body: content,
  });
  const journals = async (): Promise<{ names: string[] }[]> =>
    Promise.all(
      (await readdir(journalDir)).map(
        async (name) => JSON.parse(await readFile(join(journalDir, name), 'utf8')) as { names: string[] },
      ),
    );

  it('lists the free names on disk before any is created, writes them in place, and drops the list on close', async () => {
    const req = await bytes(NEW);
    const taken = 'outputs/txt2img/00002-456.png';
    await putStored(`${AGENT}/${taken}`, OTHER);
    catalogueOtherVersion(1);
    const journal = await placer.prepare(AGENT, [
      { path: CONTAINER_PATH, xxh64: req.xxh64, size: NEW.length },
      { path: taken, xxh64: req.xxh64, size: NEW.length },
      { path: 'outputs/txt2img/00003-789.png', xxh64: req.xxh64, size: NEW.length },
    ]);
    // The primary name the catalog gives to other content is not in it, but the versioned name its
    // file will take is; the name on disk the catalog does not know is not either: that file goes
    // the careful way, which looks at the bytes there.
    expect(await journals()).toEqual([
      { names: [versionedPath(PRIMARY, req.xxh64), `${AGENT}/outputs/txt2img/00003-789.png`] },
    ]);
    const fresh = await bytes(NEW, 'outputs/txt2img/00003-789.png');
    const dirty = new DirtyDirs();
    expect(await placer.placeBytes(fresh, dirty, false)).toEqual({
      ok: true,
      storedPath: `${AGENT}/outputs/txt2img/00003-789.png`,
      fresh: true,
    });
    expect(await readFile(atDest(`${AGENT}/outputs/txt2img/00003-789.png`))).toEqual(NEW);
    expect(marked(dirty)).toContain(join(dest, AGENT, 'outputs', 'txt2img'));
    // The name on disk with other content is never replaced: the file goes to its versioned name.
    expect(await placer.placeBytes(await bytes(NEW, taken), new DirtyDirs(), false)).toEqual({
      ok: true,
      storedPath: versionedPath(`${AGENT}/${taken}`, req.xxh64),
      fresh: true,
    });
    expect(await readFile(atDest(`${AGENT}/${taken}`))).toEqual(OTHER);
    // A reused name the catalog gives to other content: written straight to its versioned name.
    // With no temp folder to go through, only the write in place can succeed.
    await rm(tmp, { recursive: true });
    await writeFile(tmp, 'not a folder');
    expect(await placer.placeBytes(req, new DirtyDirs(), false)).toEqual({
      ok: true,
      storedPath: versionedPath(PRIMARY, req.xxh64),
      fresh: true,
    });
    await rm(tmp);
    await mkdir(tmp);
    expect(await readFile(atDest(versionedPath(PRIMARY, req.xxh64)))).toEqual(NEW);
    await journal.close();
    expect(await readdir(journalDir)).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it.each([
    ['listed by prepare, from memory', true],
    ['through a temp file', false],
  ])(
    "makes a path longer than the system allows one file's problem, and no folder for it (%s)",
    async (_label, prepared) => {
      // Each name fits (254 bytes), the folders alone fit in PATH_MAX, the whole path does not.
      const containerPath = Array.from({ length: 16 }, () => '\u00e9'.repeat(127)).join('/');
      const req = await bytes(NEW, containerPath);
      const journal = prepared
        ? await placer.prepare(AGENT, [{ path: containerPath, xxh64: req.xxh64, size: NEW.length }])
        : undefined;
      expect(await placer.placeBytes(req, new DirtyDirs(), false)).toEqual({
        ok: false,
        problem: expect.objectContaining({
          code: 'E_STORED_CONFLICT',
          path: containerPath,
          message: expect.stringContaining('(ENAMETOOLONG: the name is too long there'),
        }),
      });
      await journal?.close();
      expect(await readdir(dest)).toEqual(['.forge-sync']);
      expect(await readdir(tmp)).toEqual([]);
    },
  );

  it('takes the careful way when the name appeared after prepare, and never overwrites it', async () => {
    const req = await bytes(NEW);
    const journal = await placer.prepare(AGENT, [
      { path: CONTAINER_PATH, xxh64: req.xxh64, size: NEW.length },
    ]);
    await putStored(PRIMARY, OTHER_SAME_SIZE);
    expect(await placer.placeBytes(req, new DirtyDirs(), true)).toEqual({
      ok: true,
      storedPath: versionedPath(PRIMARY, req.xxh64),
      fresh: true,
    });
    expect(await readFile(atDest(PRIMARY))).toEqual(OTHER_SAME_SIZE);
    await journal.close();
  });
});
