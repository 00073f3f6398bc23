// Property tests for locate: a manifest path the agent serves always names a file inside its root, lookalikes apart.
import { normalize, relative, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOOKALIKES, anyPath } from '../test/helpers/arbitraries.js';
import { type Root, locate } from './roots.js';

const ROOTS: Root[] = [
  { name: 'outputs', dir: '/srv/forge/outputs' },
  { name: 'output', dir: '/srv/comfy/output' },
];

const rootedPath = fc.oneof(
  anyPath.map((path) => `outputs/${path}`),
  anyPath.map((path) => `output/${path}`),
  anyPath,
);

describe('locate, on generated paths', () => {
  it('names only files inside the root, already normal, with nothing lost on the way', () => {
    fc.assert(
      fc.property(rootedPath, (path) => {
        const found = locate(ROOTS, path);
        if ('error' in found) return;
        expect(found.abs.startsWith(`${found.root.dir}${sep}`)).toBe(true);
        expect(normalize(found.abs)).toBe(found.abs);
        expect(relative(found.root.dir, found.abs)).toBe(found.rel);
        expect(`${found.root.name}/${found.rel}`).toBe(path);
        expect(found.abs).not.toContain('\0');
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses every path with a `..`, `.` or empty segment, NUL, or a leading slash', () => {
    fc.assert(
      fc.property(rootedPath, (path) => {
        const bad =
          path.includes('\0') ||
          path.startsWith('/') ||
          path.split('/').some((segment) => segment === '..' || segment === '.' || segment === '');
        if (bad) expect(locate(ROOTS, path)).toMatchObject({ error: 'unsafe' });
      }),
      { numRuns: 3000 },
    );
  });

  it.each(LOOKALIKES)('keeps %j and %j two files', (a, b) => {
    const first = locate(ROOTS, `outputs/${a}`);
    const second = locate(ROOTS, `outputs/${b}`);
    expect('abs' in first && 'abs' in second && first.abs !== second.abs).toBe(true);
  });
});
