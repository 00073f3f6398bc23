// Finds the EXIF block and XMP packet in a JPEG (APP1 segments) or a WebP (RIFF `EXIF` and `XMP ` chunks) without reading image data.
import { WindowedReader } from '../../common/media/read-at.js';
import { WEBP_HEADER_BYTES, webpFileLength } from '../../common/media/signatures.js';
import type { ByteSource } from './byte-source.js';

/** Largest EXIF block read from a WebP; ComfyUI puts whole workflows there. JPEG APP1 is capped at 64 KiB anyway. */
export const MAX_EXIF_BYTES = 32 << 20;
const MAX_SEGMENTS = 100_000;

export interface ExifLocation {
  /** The EXIF block (TIFF data, perhaps after `Exif\0\0`), when there is one. */
  block?: Buffer;
  /** The XMP packet (Draw Things keeps its parameters there), when there is one. */
  xmp?: string;
  problems: string[];
}

const XMP_HEADER = 'http://ns.adobe.com/xap/1.0/\0';

/** Walks JPEG marker segments up to the start of scan, returning the first APP1 `Exif` segment and XMP packet. */
export async function findJpegExif(source: ByteSource): Promise<ExifLocation> {
  const reader = new WindowedReader(source);
  const problems: string[] = [];
  const found: ExifLocation = { problems };
  let position = 2;
  for (let count = 0; count < MAX_SEGMENTS; count++) {
    const header = await reader.read(position, 4);
    if (header.length < 2) {
      problems.push(`JPEG ends at offset ${source.size} before its image data: the file is truncated`);
      break;
    }
    if (header[0] !== 0xff) {
      problems.push(`JPEG has no segment marker at offset ${position}; the file is corrupt`);
      break;
    }
    const marker = header[1]!;
    if (marker === 0xff) {
      position += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      position += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // metadata segments all come before the scan
    if (header.length < 4) {
      problems.push(`JPEG segment at offset ${position} is cut short: the file is truncated`);
      break;
    }
    const length = header.readUInt16BE(2);
    if (length < 2 || position + 2 + length > source.size) {
      problems.push(`JPEG segment at offset ${position} declares ${length} bytes, past the end of the file`);
      break;
    }
    if (marker === 0xe1) {
      const data = await reader.read(position + 4, length - 2);
      if (data.toString('latin1', 0, 6) === 'Exif\0\0') found.block ??= data;
      else if (data.toString('latin1', 0, XMP_HEADER.length) === XMP_HEADER) {
        found.xmp ??= data.toString('utf8', XMP_HEADER.length);
      }
      if (found.block && found.xmp !== undefined) break;
    }
    position += 2 + length;
  }
  return found;
}

/** Walks a WebP's RIFF chunks by header and returns its `EXIF` and `XMP ` chunks. */
export async function findWebpExif(source: ByteSource): Promise<ExifLocation> {
  const reader = new WindowedReader(source);
  const problems: string[] = [];
  const found: ExifLocation = { problems };
  const declared = webpFileLength(await reader.read(0, WEBP_HEADER_BYTES));
  if (declared === undefined) return { problems: ['not a WebP: no RIFF/WEBP header'] };
  const end = Math.min(source.size, declared);
  let position = WEBP_HEADER_BYTES;
  for (let count = 0; position + 8 <= end && count < MAX_SEGMENTS; count++) {
    const header = await reader.read(position, 8);
    const fourcc = header.toString('latin1', 0, 4);
    const size = header.readUInt32LE(4);
    if (position + 8 + size > source.size) {
      problems.push(
        `WebP chunk ${JSON.stringify(fourcc)} at offset ${position} declares ${size} bytes but the file ` +
          `ends at ${source.size}: the file is truncated or still being written`,
      );
      break;
    }
    if (fourcc === 'EXIF' || fourcc === 'XMP ') {
      if (size > MAX_EXIF_BYTES) {
        problems.push(`WebP ${fourcc.trim()} chunk is ${size} bytes, over the limit; skipped`);
      } else if (fourcc === 'EXIF') {
        found.block ??= await reader.read(position + 8, size);
      } else {
        found.xmp ??= (await reader.read(position + 8, size)).toString('utf8');
      }
    }
    position += 8 + size + (size & 1);
  }
  return found;
}
