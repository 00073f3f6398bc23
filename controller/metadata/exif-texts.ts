// The texts an EXIF block (and an XMP packet beside it) holds that may be generation metadata: JPEG, WebP and PNG eXIf.
import { xmpUserComment } from './draw-things.js';
import type { ExifLocation } from './exif-containers.js';
import { parseExif } from './exif.js';
import { type FoundTexts, looksLikeInfotext } from './interpret.js';
import { XMP_KEY } from './tool-json.js';

/** ComfyUI WebP: `prompt:{json}` in EXIF 0x0110, `workflow:{json}` in 0x010F. */
const EXIF_KEY_VALUE = /^(prompt|workflow):/;

/**
 * Infotext (or SwarmUI's JSON) in UserComment, other JSON there for interpret to try, ComfyUI's
 * `prompt:`/`workflow:` ASCII tags, and a Draw Things XMP packet; any other comment kept raw.
 */
export function exifTexts(location: ExifLocation): FoundTexts {
  const found: FoundTexts = { problems: location.problems };
  // Most XMP is a photo editor's; only a packet with a UserComment may hold generation metadata.
  if (location.xmp !== undefined && xmpUserComment(location.xmp)) {
    found.unknown = [{ where: 'XMP exif:UserComment', text: location.xmp, key: XMP_KEY }];
  }
  if (!location.block) return found;
  const exif = parseExif(location.block);
  found.problems.push(...exif.problems);
  const comment = exif.userComment?.trim();
  if (comment && looksLikeInfotext(comment)) found.parameters = exif.userComment;
  // SwarmUI writes the same JSON it puts in a PNG's `parameters`.
  else if (comment?.startsWith('{') && comment.includes('"sui_image_params"')) found.parameters = comment;
  else if (comment?.startsWith('{')) found.json = comment;
  else if (comment) (found.unknown ??= []).push({ where: 'EXIF UserComment', text: comment });
  for (const value of exif.ascii.values()) {
    const match = EXIF_KEY_VALUE.exec(value);
    if (match) found[match[1] as 'prompt' | 'workflow'] ??= value.slice(match[0].length);
  }
  return found;
}
