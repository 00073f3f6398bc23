// The files a scan found to hash, held compactly until it hashes them: a path and three numbers each.
import { join } from 'node:path';
import type { Candidate } from './folder-walk.js';
import type { FileIdentity } from './file-index.js';
import type { Root } from './roots.js';

/**
 * A cold start finds every file to hash: 200k candidate objects, each with three strings, were most of
 * a scan's memory. This keeps the manifest path (the string the index keeps anyway) and the identity
 * in number arrays; the absolute path and name are made again when the file is hashed.
 */
export class HashQueue {
  private readonly roots: Root[] = [];
  private readonly rootOf: number[] = [];
  private readonly paths: string[] = [];
  private readonly sizes: number[] = [];
  private readonly mtimes: number[] = [];
  private readonly inos: number[] = [];

  get length(): number {
    return this.paths.length;
  }

  push(candidate: Candidate, identity: FileIdentity): void {
    let root = this.roots.indexOf(candidate.root);
    if (root < 0) root = this.roots.push(candidate.root) - 1;
    this.rootOf.push(root);
    this.paths.push(candidate.path);
    this.sizes.push(identity.size);
    this.mtimes.push(identity.mtimeMs);
    this.inos.push(identity.ino);
  }

  /** The queue's positions, for a pool to take from. */
  positions(): Iterable<number> {
    return { [Symbol.iterator]: () => this.paths.keys() };
  }

  candidate(i: number): Candidate {
    const root = this.roots[this.rootOf[i]!]!;
    const path = this.paths[i]!;
    const rel = path.slice(root.name.length + 1);
    return { root, path, abs: join(root.dir, rel), name: rel.slice(rel.lastIndexOf('/') + 1) };
  }

  identity(i: number): FileIdentity {
    return { size: this.sizes[i]!, mtimeMs: this.mtimes[i]!, ino: this.inos[i]! };
  }
}
