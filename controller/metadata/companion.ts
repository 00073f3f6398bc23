// Links a VideoHelperSuite video to the first-frame PNG written beside it, which carries the metadata.

const VIDEO = /^(.*?)(-audio)?\.(mp4|webm|mkv|mov|m4v|avi|gif)$/i;

/**
 * The name of the PNG VideoHelperSuite saves with a video: `AnimateDiff_00001.mp4` and
 * `AnimateDiff_00001-audio.mp4` both go with `AnimateDiff_00001.png`, in the same folder. Returns
 * undefined for a path that is not a video. Whether the PNG exists is for the caller to check.
 */
export function companionImageFor(videoPath: string): string | undefined {
  const slash = Math.max(videoPath.lastIndexOf('/'), videoPath.lastIndexOf('\\'));
  const dir = videoPath.slice(0, slash + 1);
  const match = VIDEO.exec(videoPath.slice(slash + 1));
  if (!match || match[1] === '') return undefined;
  return `${dir}${match[1]}.png`;
}
