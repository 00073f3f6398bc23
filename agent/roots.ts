// The folders an agent serves, each under a name that prefixes its manifest paths.
import { basename, resolve, sep } from 'node:path';
import { realpath, stat } from 'node:fs/promises';
import { AppError } from '../common/errors.js';
import { splitRootPath, unsafePathReason, unsafeRootNameReason } from '../common/path-safety.js';

export interface Root {
  name: string;
  /** Absolute, symlink-free path of the folder. */
  dir: string;
}

/** Parses `--root DIR` or `--root NAME=DIR` without touching the disk. */
export function parseRootSpec(spec: string): { name: string; dir: string } {
  const eq = spec.indexOf('=');
  const named = eq > 0 && !spec.slice(0, eq).includes('/');
  const dir = resolve(named ? spec.slice(eq + 1) : spec);
  const name = named ? spec.slice(0, eq) : basename(dir);
  const reason = unsafeRootNameReason(name);
  if (reason)
    throw new AppError('E_USAGE', `--root ${spec}: bad root name "${name}": ${reason}; use --root NAME=DIR`);
  return { name, dir };
}

/** Checks that every root is an existing folder and that names are unique; resolves symlinks once. */
export async function resolveRoots(specs: readonly string[]): Promise<Root[]> {
  if (specs.length === 0)
    throw new AppError('E_USAGE', 'no root given: pass --root DIR (or FORGE_SYNC_ROOT)');
  const roots: Root[] = [];
  for (const spec of specs) {
    const { name, dir } = parseRootSpec(spec);
    if (roots.some((root) => root.name === name)) {
      throw new AppError(
        'E_USAGE',
        `--root ${spec}: the root name "${name}" is used twice; use --root NAME=DIR`,
      );
    }
    let real: string;
    try {
      real = await realpath(dir);
      if (!(await stat(real)).isDirectory()) throw new Error('not a folder');
    } catch {
      throw new AppError('E_USAGE', `--root ${spec}: ${dir} is not an existing folder`);
    }
    roots.push({ name, dir: real });
  }
  return roots;
}

/**
 * The absolute path a manifest path names, or an error saying why it names none.
 * The result is always inside its root folder.
 */
export function locate(
  roots: readonly Root[],
  path: string,
): { root: Root; abs: string; rel: string } | { error: 'unsafe' | 'unknown-root'; message: string } {
  const reason = unsafePathReason(path);
  if (reason) return { error: 'unsafe', message: reason };
  const parts = splitRootPath(path);
  const root = parts && roots.find((candidate) => candidate.name === parts.root);
  if (!parts || !root)
    return { error: 'unknown-root', message: 'the path does not start with a served root name' };
  return { root, abs: root.dir + sep + parts.rel.split('/').join(sep), rel: parts.rel };
}
