// Rules for the relative POSIX paths that cross the wire: what a safe manifest path is, and stored names.
import { AppError } from './errors.js';

const MAX_PATH_LENGTH = 4096;
const MAX_SEGMENT_BYTES = 255;

/** A UTF-16 surrogate not in a pair (the `u` flag matches a pair as one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why `path` is not a safe manifest path, or null when it is. A safe path is relative, POSIX style,
 * has no empty, `.` or `..` segment, no backslash, no NUL and no lone surrogate, so joining it under
 * a folder can never leave that folder, and its UTF-8 bytes name it alone.
 */
export function unsafePathReason(path: string): string | null {
  if (typeof path !== 'string' || path.length === 0) return 'empty path';
  if (path.length > MAX_PATH_LENGTH) return 'path too long';
  if (path.includes('\0')) return 'NUL byte in path';
  // A lone UTF-16 surrogate names no file: JSON can carry one, a file system never lists one, and
  // as UTF-8 it would become U+FFFD, another name.
  if (LONE_SURROGATE.test(path)) return 'not well-formed Unicode (a lone surrogate)';
  if (path.includes('\\')) return 'backslash in path';
  if (path.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'drive-letter path';
  for (const segment of path.split('/')) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return `"${segment}" segment`;
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return 'path segment too long';
  }
  return null;
}

export function isSafePath(path: string): boolean {
  return unsafePathReason(path) === null;
}

/** Throws E_UNSAFE_PATH naming the path and the rule it breaks. */
export function assertSafePath(path: string): void {
  const reason = unsafePathReason(path);
  if (reason) throw new AppError('E_UNSAFE_PATH', `unsafe path ${JSON.stringify(path)}: ${reason}`);
}

/** A root name is one safe segment that does not start with a dot (dot names are reserved). */
export function unsafeRootNameReason(name: string): string | null {
  if (name.includes('/')) return 'a root name is a single folder name, without "/"';
  if (name.startsWith('.')) return 'a root name may not start with "."';
  return unsafePathReason(name);
}

/** Splits `<root>/<rest>` into its parts; null when there is no rest. */
export function splitRootPath(path: string): { root: string; rel: string } | null {
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) return null;
  return { root: path.slice(0, slash), rel: path.slice(slash + 1) };
}

/**
 * The distinct, deterministic name under which another version of a stored file is kept:
 * `dir/ComfyUI_00001_.png` with hash `h` becomes `dir/ComfyUI_00001_~h.png`. The same content
 * always gets the same name, so a retried transfer lands on the copy it already made.
 */
export function versionedPath(path: string, xxh64: string): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const base = path.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return `${dir}${base}~${xxh64}`;
  return `${dir}${base.slice(0, dot)}~${xxh64}${base.slice(dot)}`;
}
