// The host filesystem as the sync and purge pipelines see it: one interface, with the local destination folder behind it.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../common/errors.js';
import type { StoredCopy } from '../../common/purge-plan.js';
import { ensureFreeSpace } from './dest-space.js';
import type { Destination } from './destination.js';
import { BatchDurability, type DurabilityMode } from './durable.js';
import { type HostCopyState, checkHostCopy } from './host-copy.js';
import { Placer, type PlacerCatalog } from './place.js';
import { type TempFile, createTempFile } from './temp-file.js';

/** What one sync run writes with: a Placer for names and a BatchDurability for fsyncs. Both belong to that run. */
export interface HostRun {
  placer: Placer;
  durability: BatchDurability;
}

/**
 * Where copies live on the host. The pipelines (controller/sync, controller/purge) reach the disk
 * only through this, so they hold no file-system code of their own. One instance per open
 * destination, owned by whoever opened it (openStore); its methods are called from one event loop,
 * concurrently for different files, and need no locking of their own (Placer orders the names).
 */
export interface HostStore {
  /** Absolute path of --dest, with symlinks resolved. */
  readonly root: string;
  /** --dest as given, for messages that name it. */
  readonly name: string;
  /** How batches are made durable here. */
  readonly durabilityMode: DurabilityMode;
  /** The absolute host path of a copy stored at `storedPath` (relative, POSIX style). */
  pathOf(storedPath: string): string;
  /** A Placer and a BatchDurability for one sync run. */
  beginRun(catalog: PlacerCatalog): HostRun;
  /** Throws E_DEST_FULL, naming --dest and `doing`, when `bytes` more would not fit with a margin. */
  ensureFreeSpace(bytes: number, doing: string): Promise<void>;
  /** A new temp file on the destination's filesystem. */
  createTemp(): Promise<TempFile>;
  /** Whether the stored copy is there, of the right size and (with `verify`) the right bytes. */
  checkCopy(copy: StoredCopy, xxh64: string, verify: boolean): Promise<HostCopyState>;
  /** Throws E_PURGE_STOPPED when the destination cannot be read at all. */
  assertReadable(): Promise<void>;
}

/** The destination folder on this machine's disk. */
export class LocalHostStore implements HostStore {
  readonly root: string;
  readonly name: string;
  readonly durabilityMode: DurabilityMode;

  constructor(private readonly destination: Destination) {
    this.root = destination.root;
    this.name = destination.name;
    this.durabilityMode = destination.durability;
  }

  pathOf(storedPath: string): string {
    return join(this.root, ...storedPath.split('/'));
  }

  beginRun(catalog: PlacerCatalog): HostRun {
    return {
      placer: new Placer(this.root, catalog, this.destination),
      durability: new BatchDurability(this.durabilityMode, this.root),
    };
  }

  ensureFreeSpace(bytes: number, doing: string): Promise<void> {
    return ensureFreeSpace(this.root, this.name, bytes, doing);
  }

  createTemp(): Promise<TempFile> {
    return createTempFile(this.destination.tmpDir);
  }

  checkCopy(copy: StoredCopy, xxh64: string, verify: boolean): Promise<HostCopyState> {
    return checkHostCopy(this.root, copy, xxh64, verify);
  }

  async assertReadable(): Promise<void> {
    try {
      await readdir(this.root);
    } catch (err) {
      throw new AppError(
        'E_PURGE_STOPPED',
        `the destination ${this.root} cannot be read (${(err as NodeJS.ErrnoException).code}); nothing purged`,
        { cause: err },
      );
    }
  }
}
