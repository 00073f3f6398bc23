// The files a scan found to hash, held compactly until it hashes them: a path and three numbers each.
import { join } from 'node:path';
import type { Candidate } from './folder-walk.js';
import type { FileIdentity } from './file-index.js';
import { float64Column, uint32Column } from '../lib/paged-column.js';
import { TextPages, Utf8Scratch } from '../lib/path-table.js';
import type { Root } from './roots.js';

/**
 * A cold start finds every file to hash: 200k candidate objects, each with three strings, were most of
 * a scan's memory. This keeps the manifest path's bytes in pages and the identity in paged number
 * columns, off the JS heap; the path, absolute path and name are made again when the file is hashed.
 */
export class HashQueue {
  private readonly roots: Root[] = [];
  private readonly rootOf = uint32Column();
  private readonly text = new TextPages();
  private readonly at = float64Column();
  private readonly lengths = uint32Column();
  private readonly sizes = float64Column();
  private readonly mtimes = float64Column();
  private readonly inos = float64Column();
  private readonly scratch = new Utf8Scratch();
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(candidate: Candidate, identity: FileIdentity): void {
    let root = this.roots.indexOf(candidate.root);
    if (root < 0) root = this.roots.push(candidate.root) - 1;
    const i = this.count++;
    for (const column of [this.at, this.sizes, this.mtimes, this.inos]) column.ensure(i);
    for (const column of [this.rootOf, this.lengths]) column.ensure(i);
    const { bytes, length } = this.scratch.of(candidate.path);
    this.at.set(i, this.text.put(bytes, 0, length));
    this.lengths.set(i, length);
    this.rootOf.set(i, root);
    this.sizes.set(i, identity.size);
    this.mtimes.set(i, identity.mtimeMs);
    this.inos.set(i, identity.ino);
  }

  /**
   * Hands out each entry once, in order, letting go of the pages behind it as it goes: the queue's
   * memory shrinks as the index it feeds grows.
   */
  *take(): IterableIterator<{ candidate: Candidate; identity: FileIdentity }> {
    for (let i = 0; i < this.count; i++) {
      yield { candidate: this.candidate(i), identity: this.identity(i) };
      this.dropBefore(i + 1);
    }
  }

  /** Lets go of the pages wholly before entry `i`. */
  private dropBefore(i: number): void {
    this.at.dropBefore(i);
    this.sizes.dropBefore(i);
    this.mtimes.dropBefore(i);
    this.inos.dropBefore(i);
    this.rootOf.dropBefore(i);
    this.lengths.dropBefore(i);
    if (i < this.count) this.text.dropBefore(this.at.get(i));
  }

  private candidate(i: number): Candidate {
    const root = this.roots[this.rootOf.get(i)]!;
    const path = this.text.text(this.at.get(i), this.lengths.get(i));
    const rel = path.slice(root.name.length + 1);
    return { root, path, abs: join(root.dir, rel), name: rel.slice(rel.lastIndexOf('/') + 1) };
  }

  private identity(i: number): FileIdentity {
    return { size: this.sizes.get(i), mtimeMs: this.mtimes.get(i), ino: this.inos.get(i) };
  }
}
