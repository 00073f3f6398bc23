// Tells media formats apart by their first bytes, since names and extensions can lie.
import { latin1 } from './bytes.js';
import { isEbml, isJpeg, isPng, webpFileLength } from './signatures.js';

/** `heif` covers AVIF and HEIC; the audio formats are told apart for their kind only. */
export type MediaFormat =
  'png' | 'jpeg' | 'webp' | 'gif' | 'heif' | 'mp4' | 'matroska' | 'flac' | 'ogg' | 'mp3' | 'unknown';

/** How many leading bytes sniffFormat needs. */
export const SNIFF_BYTES = 16;

/** ISO media brands that are still images (AVIF, HEIF). */
const IMAGE_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'hevc', 'mif1', 'msf1']);
/** Top-level QuickTime atoms that can open a .mov written without `ftyp`. */
const QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip']);

/** The format the first bytes (SNIFF_BYTES of them, or fewer for a short file) declare. */
export function sniffFormat(head: Uint8Array): MediaFormat {
  if (isPng(head)) return 'png';
  if (isJpeg(head)) return 'jpeg';
  if (webpFileLength(head) !== undefined) return 'webp';
  if (head.length >= 6 && /^GIF8[79]a$/.test(latin1(head, 0, 6))) return 'gif';
  if (isEbml(head)) return 'matroska';
  if (head.length >= 4 && latin1(head, 0, 4) === 'fLaC') return 'flac';
  if (head.length >= 4 && latin1(head, 0, 4) === 'OggS') return 'ogg';
  // An ID3 tag, or an MPEG audio frame sync (11 bits set) of layer III.
  if (head.length >= 3 && latin1(head, 0, 3) === 'ID3') return 'mp3';
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe6) === 0xe2) return 'mp3';
  if (head.length >= 8) {
    const atom = latin1(head, 4, 8);
    if (atom === 'ftyp') {
      return head.length >= 12 && IMAGE_BRANDS.has(latin1(head, 8, 12)) ? 'heif' : 'mp4';
    }
    if (QUICKTIME_ATOMS.has(atom)) return 'mp4';
  }
  return 'unknown';
}
