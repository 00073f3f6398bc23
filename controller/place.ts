// Moving a verified temp file to its final name without ever overwriting a different stored file.
import { constants, linkSync, unlinkSync } from 'node:fs';
import { lstat, mkdir, open, realpath, rename } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { AppError, type Problem } from '../common/errors.js';
import { versionedPath } from '../common/path-safety.js';
import { hashHandle } from '../lib/file-chunks.js';
import type { Catalog, StoredPathInfo } from './catalog/catalog.js';
import type { DirtyDirs } from './durable.js';

export interface PlaceRequest {
  agent: string;
  containerPath: string;
  xxh64: string;
  size: number;
  /** The verified, fsynced temp file. It is gone when placeFile returns, whatever the outcome. */
  tempPath: string;
}

/** The one question Placer asks the catalog. */
export type PlacerCatalog = Pick<Catalog, 'findByStoredPaths'>;

export type PlaceOutcome = { ok: true; storedPath: string; fresh: boolean } | { ok: false; problem: Problem };

/**
 * Puts verified files under `<dest>/<agent>/<container path>`. One instance serves one sync run; it
 * may be called concurrently for different files.
 */
export class Placer {
  private readonly safeDirs = new Set<string>();
  private readonly createdFrom = new Map<string, string>();
  /** The catalog's word on the names of files about to arrive: looked up a batch at a time. */
  private readonly known = new Map<string, StoredPathInfo | null>();

  constructor(
    private readonly destRoot: string,
    private readonly catalog: PlacerCatalog,
  ) {}

  /**
   * The primary name is taken when free. When it holds other content (a reused or replaced name),
   * the file goes to `name~<xxh64>.ext`, which is the same for the same content, so retries land on
   * the copy already made. A name holding the same content is adopted, not written twice.
   * `link()` fails when the name exists, so nothing is ever overwritten, even in a race.
   */
  /**
   * Asks the catalog, in one query, about every name these files could take, so placing them asks
   * nothing more. What it learns is kept until each file is placed.
   */
  async prepare(agent: string, files: readonly { path: string; xxh64: string }[]): Promise<void> {
    const names = files.flatMap((file) => candidateNames(agent, file.path, file.xxh64));
    const found = await this.catalog.findByStoredPaths(names);
    for (const name of names) this.known.set(name, found.get(name) ?? null);
  }

  async place(request: PlaceRequest, dirty: DirtyDirs): Promise<PlaceOutcome> {
    const names = candidateNames(request.agent, request.containerPath, request.xxh64);
    const primary = names[0];
    try {
      for (const storedPath of names) {
        // A name the catalog gives to other content stays theirs, even if its file was deleted.
        const known = await this.lookup(storedPath);
        if (known && (known.xxh64 !== request.xxh64 || known.size !== request.size)) continue;
        const finalPath = join(this.destRoot, ...storedPath.split('/'));
        const createdFrom = await this.ensureDir(dirname(finalPath));
        if (await linkNoClobber(request.tempPath, finalPath)) {
          dirty.add(finalPath, createdFrom);
          return { ok: true, storedPath, fresh: true };
        }
        if (await this.holdsSameContent(known, finalPath, request)) {
          return { ok: true, storedPath, fresh: false };
        }
      }
      return {
        ok: false,
        problem: {
          code: 'E_STORED_CONFLICT',
          path: request.containerPath,
          message: `both ${primary} and its versioned name hold other content; nothing was overwritten`,
        },
      };
    } finally {
      for (const name of names) this.known.delete(name);
      try {
        unlinkSync(request.tempPath);
      } catch {
        // gone already (renamed into place)
      }
    }
  }

  private async lookup(storedPath: string): Promise<StoredPathInfo | null> {
    const known = this.known.get(storedPath);
    if (known !== undefined) return known;
    return (await this.catalog.findByStoredPaths([storedPath])).get(storedPath) ?? null;
  }

  /**
   * Creates the folder and checks that it really is inside --dest (no symlinked folder on the way).
   * Returns the first folder this run created on the way to it, so every batch that puts a file
   * there also fsyncs the new folders' parents before it records anything.
   */
  private async ensureDir(dir: string): Promise<string | undefined> {
    if (this.safeDirs.has(dir)) return this.createdFrom.get(dir);
    // Check the part that exists first: mkdir would follow a symlinked folder and create the rest outside.
    const existing = await deepestExisting(dir);
    if ((existing + sep).startsWith(this.destRoot + sep)) await this.assertInsideDest(existing, dir);
    const createdFrom = await mkdir(dir, { recursive: true });
    await this.assertInsideDest(dir, dir);
    this.safeDirs.add(dir);
    if (createdFrom) this.createdFrom.set(dir, createdFrom);
    return createdFrom;
  }

  private async assertInsideDest(path: string, dir: string): Promise<void> {
    const real = await realpath(path);
    if (real !== path || !(real + sep).startsWith(this.destRoot + sep)) {
      throw new AppError(
        'E_UNSAFE_PATH',
        `${dir} leads outside --dest through a symlink; refusing to write there`,
      );
    }
  }

  /** Whether the file already at `finalPath` has the request's content; `known` is the catalog's word on it. */
  private async holdsSameContent(
    known: StoredPathInfo | null,
    finalPath: string,
    request: PlaceRequest,
  ): Promise<boolean> {
    if (known) return known.xxh64 === request.xxh64 && known.size === request.size;
    // On disk but not catalogued: a run stopped between placing and recording. Look at the bytes.
    const stats = await lstat(finalPath);
    if (!stats.isFile() || stats.size !== request.size) return false;
    const handle = await open(finalPath, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return (await hashHandle(handle, request.size)).xxh64 === request.xxh64;
    } finally {
      await handle.close();
    }
  }
}

/** The names a file may be stored under, in order: its own, then the one its content names. */
function candidateNames(agent: string, containerPath: string, xxh64: string): [string, string] {
  const primary = `${agent}/${containerPath}`;
  return [primary, versionedPath(primary, xxh64)];
}

/** `dir` itself or its nearest ancestor that exists. */
async function deepestExisting(dir: string): Promise<string> {
  for (let path = dir; ; path = dirname(path)) {
    try {
      await lstat(path);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) throw err;
    }
  }
}

/**
 * Gives the temp file its final name; false when that name exists. Never replaces anything. The
 * link is synchronous: a name in a folder, one syscall, cheaper than a round trip through the
 * thread pool (see writeSmallFile in extract.ts).
 */
async function linkNoClobber(tempPath: string, finalPath: string): Promise<boolean> {
  try {
    linkSync(tempPath, finalPath);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
  }
  // A filesystem without hard links: check, then rename. Only another writer racing us in the
  // same instant could slip between the two, and the controller's lock rules that out.
  try {
    await lstat(finalPath);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await rename(tempPath, finalPath);
  return true;
}
