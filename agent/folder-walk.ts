// Walking a root for candidate files: folder by folder, handed on in small batches, never as one list.
import { opendir } from 'node:fs/promises';
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
    let handle;
    try {
      handle = await opendir(dir.abs, { bufferSize: 128 });
    } catch (err) {
      options.logger.warn({ err, dir: dir.abs }, 'cannot read folder; skipping it this scan');
      continue;
    }
    let batch: Candidate[] = [];
    try {
      for await (const dirent of handle) {
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
          }
        }
      }
    } catch (err) {
      // A folder that vanishes or fails while it is read: what was listed stays, the rest waits a scan.
      options.logger.warn({ err, dir: dir.abs }, 'cannot finish reading folder; skipping the rest this scan');
    }
    if (batch.length > 0) yield batch;
  }
}
