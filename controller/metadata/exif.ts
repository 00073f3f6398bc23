// Reads the few EXIF text tags image generators use: UserComment (A1111) and IFD0 ASCII tags (ComfyUI WebP).

/** EXIF tags this module reads. */
export const ExifTags = {
  ImageDescription: 0x010e,
  Make: 0x010f,
  Model: 0x0110,
  ExifIfdPointer: 0x8769,
  UserComment: 0x9286,
} as const;

export interface ExifTexts {
  /** UserComment decoded to text, trailing NULs removed. */
  userComment?: string;
  /** IFD0 ASCII tags by tag number, decoded, trailing NULs removed. */
  ascii: Map<number, string>;
  /** Why parts of the EXIF block could not be read; what could be read is still returned. */
  problems: string[];
}

const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');
/** Bytes per value of each TIFF field type. */
const TYPE_SIZES: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
};
const MAX_IFD_ENTRIES = 1000;

interface IfdEntry {
  tag: number;
  type: number;
  value: Buffer;
}

/**
 * Parses an EXIF block: a TIFF structure, optionally preceded by `Exif\0\0` (as in JPEG APP1 and in
 * some WebP EXIF chunks). Reads IFD0 and the Exif sub-IFD; never throws.
 */
export function parseExif(block: Buffer): ExifTexts {
  const tiff = block.subarray(0, 6).equals(EXIF_HEADER) ? block.subarray(6) : block;
  const result: ExifTexts = { ascii: new Map(), problems: [] };
  const order = tiff.toString('latin1', 0, 2);
  if (tiff.length < 8 || (order !== 'II' && order !== 'MM')) {
    result.problems.push('EXIF block does not start with a TIFF header (II or MM)');
    return result;
  }
  const le = order === 'II';
  const u16 = (offset: number) => (le ? tiff.readUInt16LE(offset) : tiff.readUInt16BE(offset));
  const u32 = (offset: number) => (le ? tiff.readUInt32LE(offset) : tiff.readUInt32BE(offset));
  if (u16(2) !== 42) {
    result.problems.push('EXIF TIFF header has a wrong magic number');
    return result;
  }

  const readIfd = (offset: number, name: string): IfdEntry[] => {
    if (offset < 8 || offset + 2 > tiff.length) {
      result.problems.push(`EXIF ${name} offset ${offset} is outside the block`);
      return [];
    }
    const count = u16(offset);
    if (count > MAX_IFD_ENTRIES || offset + 2 + count * 12 > tiff.length) {
      result.problems.push(`EXIF ${name} claims ${count} entries, more than the block holds`);
      return [];
    }
    const entries: IfdEntry[] = [];
    for (let i = 0; i < count; i++) {
      const at = offset + 2 + i * 12;
      const tag = u16(at);
      const type = u16(at + 2);
      const size = (TYPE_SIZES[type] ?? 0) * u32(at + 4);
      if (size <= 4) {
        entries.push({ tag, type, value: tiff.subarray(at + 8, at + 8 + size) });
        continue;
      }
      const valueOffset = u32(at + 8);
      if (valueOffset + size > tiff.length) {
        result.problems.push(`EXIF tag 0x${tag.toString(16)} points past the end of the block`);
        continue;
      }
      entries.push({ tag, type, value: tiff.subarray(valueOffset, valueOffset + size) });
    }
    return entries;
  };

  const ifd0 = readIfd(u32(4), 'IFD0');
  let userComment = ifd0.find((entry) => entry.tag === ExifTags.UserComment);
  for (const entry of ifd0) {
    if (entry.type === 2) result.ascii.set(entry.tag, stripNuls(decodeText(entry.value)));
  }
  const pointer = ifd0.find((entry) => entry.tag === ExifTags.ExifIfdPointer && entry.value.length === 4);
  if (pointer) {
    const exifIfd = readIfd(le ? pointer.value.readUInt32LE(0) : pointer.value.readUInt32BE(0), 'Exif IFD');
    userComment = exifIfd.find((entry) => entry.tag === ExifTags.UserComment) ?? userComment;
  }
  if (userComment) result.userComment = decodeUserComment(userComment.value, le);
  return result;
}

/**
 * UserComment is an 8-byte charset prefix and the text. `UNICODE\0` is UTF-16: A1111 (piexif) writes
 * it big-endian, while tools such as exiftool follow the TIFF byte order, so a BOM decides, then the
 * position of the zero bytes (Latin text in UTF-16 has one zero byte per character), then the TIFF
 * byte order.
 */
export function decodeUserComment(value: Buffer, littleEndianTiff: boolean): string {
  const prefix = value.toString('latin1', 0, 8);
  const body = value.subarray(8);
  if (prefix === 'UNICODE\0') return stripNuls(decodeUtf16(body, littleEndianTiff));
  if (prefix === 'ASCII\0\0\0' || prefix === '\0\0\0\0\0\0\0\0' || prefix === 'JIS\0\0\0\0\0') {
    return stripNuls(decodeText(body));
  }
  return stripNuls(decodeText(value));
}

function decodeUtf16(bytes: Buffer, littleEndianDefault: boolean): string {
  let body = bytes.subarray(0, bytes.length & ~1);
  let le = littleEndianDefault;
  if (body[0] === 0xfe && body[1] === 0xff) {
    le = false;
    body = body.subarray(2);
  } else if (body[0] === 0xff && body[1] === 0xfe) {
    le = true;
    body = body.subarray(2);
  } else {
    let zerosEven = 0;
    let zerosOdd = 0;
    for (let i = 0; i < body.length; i++) {
      if (body[i] === 0) {
        if (i % 2 === 0) zerosEven++;
        else zerosOdd++;
      }
    }
    if (zerosEven !== zerosOdd) le = zerosOdd > zerosEven;
  }
  if (le) return body.toString('utf16le');
  return Buffer.from(body).swap16().toString('utf16le');
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** ASCII tags are meant to be 7-bit; accept UTF-8, and fall back to latin-1. */
function decodeText(bytes: Buffer): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

function stripNuls(text: string): string {
  return text.replace(/\0+$/, '');
}
