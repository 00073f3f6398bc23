// Links a file to the one beside it that carries its metadata: a VideoHelperSuite video to its first-frame PNG, a Forge image to its .txt sidecar.

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

const IMAGE = /^(.+)\.(png|jpe?g|webp|avif)$/i;

/**
 * The `.txt` sidecar Forge/A1111 writes beside an image when "save text information" is on:
 * `00000-123.png` goes with `00000-123.txt`. Undefined for a path that is not an image.
 */
export function sidecarTextFor(imagePath: string): string | undefined {
  const match = IMAGE.exec(imagePath);
  return match && !match[1]!.endsWith('/') ? `${match[1]}.txt` : undefined;
}
