// Tells media formats apart by their first bytes, since names and extensions can lie.
import { PNG_SIGNATURE } from './png-chunks.js';

/** `heif` covers AVIF and HEIC, whose metadata this module does not read; the audio formats are told apart for their kind only. */
export type MediaFormat =
  'png' | 'jpeg' | 'webp' | 'gif' | 'heif' | 'mp4' | 'matroska' | 'flac' | 'ogg' | 'mp3' | 'unknown';

/** How many leading bytes sniffFormat needs. */
export const SNIFF_BYTES = 16;

/** ISO media brands that are still images (AVIF, HEIF). */
const IMAGE_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'hevc', 'mif1', 'msf1']);
/** Top-level QuickTime atoms that can open a .mov written without `ftyp`. */
const QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip']);

export function sniffFormat(head: Buffer): MediaFormat {
  if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (
    head.length >= 12 &&
    head.toString('latin1', 0, 4) === 'RIFF' &&
    head.toString('latin1', 8, 12) === 'WEBP'
  ) {
    return 'webp';
  }
  if (head.length >= 6 && /^GIF8[79]a$/.test(head.toString('latin1', 0, 6))) return 'gif';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'matroska';
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'fLaC') return 'flac';
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'OggS') return 'ogg';
  // An ID3 tag, or an MPEG audio frame sync (11 bits set) of layer III.
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'ID3') return 'mp3';
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe6) === 0xe2) return 'mp3';
  if (head.length >= 8) {
    const atom = head.toString('latin1', 4, 8);
    if (atom === 'ftyp') {
      return head.length >= 12 && IMAGE_BRANDS.has(head.toString('latin1', 8, 12)) ? 'heif' : 'mp4';
    }
    if (QUICKTIME_ATOMS.has(atom)) return 'mp4';
  }
  return 'unknown';
}
