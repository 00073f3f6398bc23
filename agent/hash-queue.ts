// The files a scan found to hash, held compactly until it hashes them: a path and three numbers each.
import { join } from 'node:path';
import { compactString } from './compact-string.js';
import type { Candidate } from './folder-walk.js';
import type { FileIdentity } from './file-index.js';
import { float64Column, uint32Column } from './paged-column.js';
import type { Root } from './roots.js';

/**
 * A cold start finds every file to hash: 200k candidate objects, each with three strings, were most of
 * a scan's memory. This keeps the manifest path, flat (the index keeps an equal one anyway), and the
 * identity in paged number columns; the absolute path and name are made again when the file is hashed.
 */
export class HashQueue {
  private readonly roots: Root[] = [];
  private readonly rootOf = uint32Column();
  private readonly paths: string[] = [];
  private readonly sizes = float64Column();
  private readonly mtimes = float64Column();
  private readonly inos = float64Column();

  get length(): number {
    return this.paths.length;
  }

  push(candidate: Candidate, identity: FileIdentity): void {
    let root = this.roots.indexOf(candidate.root);
    if (root < 0) root = this.roots.push(candidate.root) - 1;
    const i = this.paths.push(compactString(candidate.path)) - 1;
    for (const column of [this.sizes, this.mtimes, this.inos]) column.ensure(i);
    this.rootOf.ensure(i);
    this.rootOf.set(i, root);
    this.sizes.set(i, identity.size);
    this.mtimes.set(i, identity.mtimeMs);
    this.inos.set(i, identity.ino);
  }

  /** The queue's positions, for a pool to take from. */
  positions(): Iterable<number> {
    return { [Symbol.iterator]: () => this.paths.keys() };
  }

  candidate(i: number): Candidate {
    const root = this.roots[this.rootOf.get(i)]!;
    const path = this.paths[i]!;
    const rel = path.slice(root.name.length + 1);
    return { root, path, abs: join(root.dir, rel), name: rel.slice(rel.lastIndexOf('/') + 1) };
  }

  identity(i: number): FileIdentity {
    return { size: this.sizes.get(i), mtimeMs: this.mtimes.get(i), ino: this.inos.get(i) };
  }
}
