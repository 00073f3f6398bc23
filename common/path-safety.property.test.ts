// Property tests for path safety: no accepted path leaves its folder or holds NUL; lookalike names stay apart.
import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOOKALIKES, anyPath, validPath } from '../test/helpers/arbitraries.js';
import { diffManifest } from './manifest.js';
import {
  isSafePath,
  splitRootPath,
  unsafePathReason,
  unsafeRootNameReason,
  versionedPath,
} from './path-safety.js';

const RUNS = { numRuns: 2000 };
const ROOT = '/srv/media/gpu1';

/** The rule written out plainly, to hold the implementation to. */
function safeByDefinition(path: string): boolean {
  if (path.length === 0 || path.length > 4096) return false;
  if (path.includes('\0') || path.includes('\\') || path.startsWith('/')) return false;
  if (/^[A-Za-z]:/.test(path)) return false;
  // Its UTF-8 bytes give it back: a lone surrogate would come back as U+FFFD.
  if (Buffer.from(path, 'utf8').toString('utf8') !== path) return false;
  return path
    .split('/')
    .every(
      (segment) => segment !== '' && segment !== '.' && segment !== '..' && Buffer.byteLength(segment) <= 255,
    );
}

describe('unsafePathReason, on generated paths', () => {
  it('accepts exactly the paths the rule allows', () => {
    fc.assert(
      fc.property(anyPath, (path) => {
        expect(unsafePathReason(path) === null, JSON.stringify(path)).toBe(safeByDefinition(path));
      }),
      RUNS,
    );
  });

  it('accepts every valid path', () => {
    fc.assert(
      fc.property(validPath, (path) => {
        expect(unsafePathReason(path)).toBeNull();
      }),
      RUNS,
    );
  });

  it('never accepts a path that leaves its folder, holds NUL, or is not already normal', () => {
    fc.assert(
      fc.property(anyPath, (path) => {
        if (!isSafePath(path)) return;
        expect(path).not.toContain('\0');
        const joined = posix.join(ROOT, path);
        expect(joined.startsWith(`${ROOT}/`)).toBe(true);
        expect(posix.relative(ROOT, joined)).toBe(path);
        // Normalising an accepted path changes nothing, so doing it again cannot either.
        expect(posix.normalize(path)).toBe(path);
        expect(posix.normalize(posix.normalize(path))).toBe(posix.normalize(path));
      }),
      RUNS,
    );
  });

  it('keeps `<root>/<rest>` whole: a split path joins back to itself and both parts stay safe', () => {
    fc.assert(
      fc.property(validPath, validPath, (root, rest) => {
        fc.pre(!root.includes('/') && !root.startsWith('.'));
        const parts = splitRootPath(`${root}/${rest}`);
        expect(parts).toEqual({ root, rel: rest });
        expect(unsafeRootNameReason(parts!.root)).toBeNull();
        expect(isSafePath(`${parts!.root}/${parts!.rel}`)).toBe(true);
      }),
      RUNS,
    );
  });

  it('gives every root name it accepts one segment, not a dot name', () => {
    fc.assert(
      fc.property(anyPath, (name) => {
        if (unsafeRootNameReason(name) !== null) return;
        expect(name).not.toContain('/');
        expect(name.startsWith('.')).toBe(false);
        expect(isSafePath(name)).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('lookalike names', () => {
  it.each(LOOKALIKES)('keeps %j and %j as two files, each pulled', (a, b) => {
    expect(a).not.toBe(b);
    for (const name of [a, b]) expect(unsafePathReason(`outputs/${name}`)).toBeNull();
    expect(posix.join(ROOT, 'outputs', a)).not.toBe(posix.join(ROOT, 'outputs', b));
    const entry = (path: string, xxh64: string) => ({ path, size: 1, mtimeMs: 0, xxh64 });
    const entries = [entry(`outputs/${a}`, '0000000000000001'), entry(`outputs/${b}`, '0000000000000002')];
    const diff = diffManifest(
      { length: entries.length, path: (row) => entries[row]!.path, xxh64: (row) => entries[row]!.xxh64 },
      new Map([[`outputs/${a}`, new Set(['0000000000000001'])]]),
    );
    // The one stored does not stand for its lookalike: that one is still pulled.
    expect(diff).toEqual({ toPull: [1], unchanged: 1 });
  });
});

describe('versionedPath, on generated paths', () => {
  const hash = fc.stringMatching(/^[0-9a-f]{16}$/);

  it('stays in the same folder, is deterministic, and differs from the name it versions', () => {
    fc.assert(
      fc.property(validPath, hash, (path, xxh64) => {
        const versioned = versionedPath(path, xxh64);
        expect(versioned).not.toBe(path);
        expect(posix.dirname(versioned)).toBe(posix.dirname(path));
        expect(versionedPath(path, xxh64)).toBe(versioned);
        expect(versioned).toContain(`~${xxh64}`);
        // Safe, unless the name was already within 17 bytes of the 255-byte limit.
        const base = posix.basename(path);
        if (Buffer.byteLength(base) + 17 <= 255) expect(isSafePath(versioned)).toBe(true);
      }),
      RUNS,
    );
  });
});
