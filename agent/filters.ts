// Which files are candidates: include and exclude globs over the path relative to its root.
import picomatch from 'picomatch';

/** The media Forge and ComfyUI write, plus Forge's .txt sidecars. */
export const DEFAULT_INCLUDE = ['*.{png,jpg,jpeg,webp,gif,avif,mp4,webm,mov,mkv,flac,mp3,opus,txt}'];

export type PathFilter = (relPath: string) => boolean;

/**
 * A glob without "/" matches the file name at any depth (`*.png`); one with "/" matches the whole
 * path below the root (`txt2img-images/**`). Matching ignores case. A file must match an include
 * and no exclude.
 */
export function createFilter(include: readonly string[], exclude: readonly string[]): PathFilter {
  const included = globMatcher(include.length > 0 ? include : DEFAULT_INCLUDE);
  const excluded = exclude.length > 0 ? globMatcher(exclude) : () => false;
  return (relPath) => included(relPath) && !excluded(relPath);
}

// picomatch's `basename` option matches every pattern against the file name, even one with "/",
// so name globs and path globs need separate matchers.
function globMatcher(globs: readonly string[]): PathFilter {
  const options = { nocase: true, dot: false };
  const byName = globs.filter((glob) => !glob.includes('/'));
  const byPath = globs.filter((glob) => glob.includes('/'));
  const matchers: PathFilter[] = [];
  if (byName.length > 0) matchers.push(picomatch(byName, { ...options, basename: true }));
  if (byPath.length > 0) matchers.push(picomatch(byPath, options));
  return (relPath) => matchers.some((match) => match(relPath));
}
