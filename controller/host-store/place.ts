// Giving verified files their final names without ever overwriting a different stored file.
import { randomUUID } from 'node:crypto';
import { constants, mkdirSync, realpathSync, unlinkSync } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { AppError, type Problem } from '../../common/errors.js';
import { versionedPath } from '../../common/path-safety.js';
import { hashHandle } from '../../lib/file-chunks.js';
import type { Catalog, StoredPathInfo } from '../catalog/catalog.js';
import { writeDurably } from './batch-journal.js';
import { type DirtyDirs, fsyncDir } from './durable.js';
import {
  deepestExisting,
  isFreeName,
  linkNoClobber,
  unnameable,
  withinNameLimits,
  writeNewFile,
} from './no-clobber.js';

export interface PlaceRequest {
  agent: string;
  containerPath: string;
  xxh64: string;
  size: number;
  /** The verified, fsynced temp file. It is gone when placeFile returns, whatever the outcome. */
  tempPath: string;
}

/** A verified file still in memory (a small one): written straight to its final name when it can be. */
export interface PlaceBytesRequest {
  agent: string;
  containerPath: string;
  xxh64: string;
  size: number;
  body: Buffer;
}

/** The one question Placer asks the catalog. */
export type PlacerCatalog = Pick<Catalog, 'findByStoredPaths'>;

export interface PlacerDirs {
  /** Temp files, on the destination's filesystem. */
  tmpDir: string;
  /** The batches' lists of names created in place. */
  journalDir: string;
}

/**
 * The primary names a batch may create in place, written down (and on disk) before any of them is
 * created. Closed once the batch's records are committed; a list left behind by a stop is read by
 * `recoverInflight` at the next start, which removes what the catalog does not name.
 */
export interface BatchJournal {
  close(): Promise<void>;
  /** The batch failed: its names go back to the careful path, its list stays for the next start. */
  abandon(): void;
}

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
  /** Names that were free, and are listed in a batch journal: small files are written there directly. */
  private readonly inPlace = new Set<string>();

  constructor(
    private readonly destRoot: string,
    private readonly catalog: PlacerCatalog,
    private readonly dirs: PlacerDirs,
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
  async prepare(
    agent: string,
    files: readonly { path: string; xxh64: string; size: number }[],
  ): Promise<BatchJournal> {
    const names = files.flatMap((file) => candidateNames(agent, file.path, file.xxh64));
    const found = await this.catalog.findByStoredPaths(names);
    for (const name of names) this.known.set(name, found.get(name) ?? null);
    // A name that neither the catalog nor the disk has can be created in place: one create instead
    // of a temp file, a link and an unlink, the costliest part of storing small files. The list
    // reaches the disk first, so whatever a stop leaves half-written there is known and removed.
    // That is the primary name when the catalog has none there, else the versioned one when the
    // catalog gives the primary to other content (a name reused, as after a purge) and has none
    // at the versioned name: the name `place` would pick.
    const free: string[] = [];
    for (const file of files) {
      const [primary, versioned] = candidateNames(agent, file.path, file.xxh64);
      const atPrimary = found.get(primary);
      const otherContent = atPrimary && (atPrimary.xxh64 !== file.xxh64 || atPrimary.size !== file.size);
      const name = !atPrimary ? primary : otherContent && !found.has(versioned) ? versioned : undefined;
      if (name && !this.inPlace.has(name) && isFreeName(join(this.destRoot, ...name.split('/')))) {
        free.push(name);
      }
    }
    if (free.length === 0) return { close: () => Promise.resolve(), abandon: () => undefined };
    const path = join(this.dirs.journalDir, `${randomUUID()}.json`);
    await writeDurably(path, `${JSON.stringify({ names: free })}\n`);
    await fsyncDir(this.dirs.journalDir);
    for (const name of free) this.inPlace.add(name);
    const forget = (): void => {
      for (const name of free) this.inPlace.delete(name);
    };
    return {
      close: async () => {
        forget();
        await unlink(path);
      },
      abandon: forget,
    };
  }

  /**
   * Stores a verified file held in memory: at its primary name directly when `prepare` found it free
   * and listed it, else through a temp file and `place`. `fsyncEachFile` as in extract.ts.
   */
  async placeBytes(
    request: PlaceBytesRequest,
    dirty: DirtyDirs,
    fsyncEachFile: boolean,
  ): Promise<PlaceOutcome> {
    const names = candidateNames(request.agent, request.containerPath, request.xxh64);
    const chosen = names.find((name) => this.inPlace.has(name));
    if (chosen !== undefined) {
      this.inPlace.delete(chosen);
      const finalPath = join(this.destRoot, ...chosen.split('/'));
      // A name this disk cannot hold is left to the careful way, which reports it for this file alone.
      const createdFrom = !withinNameLimits(finalPath)
        ? null
        : await this.ensureDir(dirname(finalPath)).catch((err: unknown) => {
            if (unnameable(err)) return null;
            throw err;
          });
      if (createdFrom !== null && (await writeNewFile(finalPath, request.body, fsyncEachFile))) {
        dirty.add(finalPath, createdFrom);
        for (const name of names) this.known.delete(name);
        return { ok: true, storedPath: chosen, fresh: true };
      }
      // Something took the name since prepare looked: the careful way, which never replaces it.
    }
    const tempPath = join(this.dirs.tmpDir, `${randomUUID()}.part`);
    if (!(await writeNewFile(tempPath, request.body, fsyncEachFile))) {
      throw new AppError('E_IO', `${tempPath} exists already`);
    }
    return this.place({ ...request, tempPath }, dirty);
  }

  async place(request: PlaceRequest, dirty: DirtyDirs): Promise<PlaceOutcome> {
    const names = candidateNames(request.agent, request.containerPath, request.xxh64);
    const primary = names[0];
    let unusable: string | undefined;
    try {
      for (const storedPath of names) {
        // A name the catalog gives to other content stays theirs, even if its file was deleted.
        const known = await this.lookup(storedPath);
        if (known && (known.xxh64 !== request.xxh64 || known.size !== request.size)) continue;
        const finalPath = join(this.destRoot, ...storedPath.split('/'));
        if (!withinNameLimits(finalPath)) {
          unusable ??= 'ENAMETOOLONG';
          continue;
        }
        try {
          const createdFrom = await this.ensureDir(dirname(finalPath));
          if (await linkNoClobber(request.tempPath, finalPath)) {
            dirty.add(finalPath, createdFrom);
            return { ok: true, storedPath, fresh: true };
          }
          if (await this.holdsSameContent(known, finalPath, request)) {
            return { ok: true, storedPath, fresh: false };
          }
        } catch (err) {
          // Too long for this disk, or under a name that is a file: this file's problem, not the batch's.
          if (!unnameable(err)) throw err;
          unusable ??= (err as NodeJS.ErrnoException).code;
        }
      }
      if (unusable) {
        return {
          ok: false,
          problem: {
            code: 'E_STORED_CONFLICT',
            path: request.containerPath,
            message: `${primary} cannot be stored under --dest (${unusable}: the name is too long there, or a folder on its way is a file); nothing was written`,
          },
        };
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
    // Synchronous calls, one cheap syscall each: through the thread pool, the four calls for each
    // folder cost a daemon's pass over 200 files in 28 folders 15-20 ms of waiting.
    // Check the part that exists first: mkdir would follow a symlinked folder and create the rest outside.
    const existing = deepestExisting(dir);
    if ((existing + sep).startsWith(this.destRoot + sep)) this.assertInsideDest(existing, dir);
    const createdFrom = mkdirSync(dir, { recursive: true });
    this.assertInsideDest(dir, dir);
    this.safeDirs.add(dir);
    if (createdFrom) this.createdFrom.set(dir, createdFrom);
    return createdFrom;
  }

  private assertInsideDest(path: string, dir: string): void {
    const real = realpathSync.native(path);
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
