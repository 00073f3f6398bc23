// Walking a root for candidate files: folder by folder, handed on in small batches, never as one list.
import { type Dir, opendirSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { PathFilter } from './filters.js';
import type { Root } from './roots.js';
import { isIgnoredName } from './settle.js';

/** A file a walk found: its manifest path, absolute path and name. */
export interface Candidate {
  root: Root;
  path: string;
  abs: string;
  name: string;
}

/** Candidates handed on at once, at most: a folder of 200k files is not held as one array. */
const BATCH = 256;

export interface WalkOptions {
  filter: PathFilter;
  logger: Logger;
  /** Called for every folder the walk enters, before it is listed. */
  onFolder?: (root: Root, rel: string) => void;
}

/**
 * Yields batches of candidate files below `rel` (a regular file's type from its folder entry;
 * symlinks are not followed, hidden and temporary names skipped). Only the folders still to visit
 * are held, and one batch. A folder that cannot be read is skipped for this walk, with a warning.
 */
export async function* walkFolders(
  root: Root,
  rel: string,
  options: WalkOptions,
): AsyncGenerator<Candidate[]> {
  const stack: { abs: string; rel: string }[] = [{ abs: rel ? join(root.dir, rel) : root.dir, rel }];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    options.onFolder?.(root, dir.rel);
    let handle: Dir;
    try {
      handle = opendirSync(dir.abs, { bufferSize: 256 });
    } catch (err) {
      options.logger.warn({ err, dir: dir.abs }, 'cannot read folder; skipping it this scan');
      continue;
    }
    let batch: Candidate[] = [];
    try {
      // Read with synchronous calls, a native buffer of entries at a time: a promise per entry
      // cost more than the listing itself.
      for (let dirent = handle.readSync(); dirent; dirent = handle.readSync()) {
        if (isIgnoredName(dirent.name)) continue;
        const childRel = dir.rel ? `${dir.rel}/${dirent.name}` : dirent.name;
        if (dirent.isDirectory()) stack.push({ abs: join(dir.abs, dirent.name), rel: childRel });
        else if (dirent.isFile() && options.filter(childRel)) {
          batch.push({
            root,
            path: `${root.name}/${childRel}`,
            abs: join(dir.abs, dirent.name),
            name: dirent.name,
          });
          if (batch.length >= BATCH) {
            yield batch;
            batch = [];
            // The listing and a scan's checks of a batch make no I/O wait: requests get their turn here.
            await nextTurn();
          }
        }
      }
    } catch (err) {
      // A folder that vanishes or fails while it is read: what was listed stays, the rest waits a scan.
      options.logger.warn({ err, dir: dir.abs }, 'cannot finish reading folder; skipping the rest this scan');
    } finally {
      // Also when the walk's reader stops early (a yield that never resumes ends here on return()).
      handle.closeSync();
    }
    if (batch.length > 0) {
      yield batch;
      await nextTurn();
    }
  }
}
