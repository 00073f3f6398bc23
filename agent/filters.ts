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
  const options = { basename: true, nocase: true, dot: false };
  const included = picomatch(include.length > 0 ? [...include] : DEFAULT_INCLUDE, options);
  const excluded = exclude.length > 0 ? picomatch([...exclude], options) : () => false;
  return (relPath) => included(relPath) && !excluded(relPath);
}
