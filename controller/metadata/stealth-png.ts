// Stealth PNG info: parameters hidden in the lowest bit of each pixel's alpha (or red, green, blue) value.
import { Readable, pipeline } from 'node:stream';
import { promisify } from 'node:util';
import { createInflate, gunzip } from 'node:zlib';
import { errorMessage } from '../../common/errors.js';
import type { ByteSource } from './byte-source.js';
import { MAX_TEXT_BYTES, type PngHeader } from './png-chunks.js';

const gunzipAsync = promisify(gunzip);

/**
 * The four signatures of A1111's stealth_pnginfo extension (NovelAI writes `stealth_pngcomp` too).
 * `png…` hide one bit per pixel in alpha, `rgb…` three in red, green and blue; `…comp` is gzip.
 */
export type StealthSignature = 'stealth_pnginfo' | 'stealth_pngcomp' | 'stealth_rgbinfo' | 'stealth_rgbcomp';

export interface StealthText {
  signature: StealthSignature;
  /** The hidden text, when it could be read. */
  text?: string;
  problem?: string;
}

/** Bits of the signature (15 bytes) and of the payload length after it (32 bits, big-endian). */
const SIGNATURE_BITS = 120;
const HEAD_BITS = SIGNATURE_BITS + 32;
/**
 * Most bytes inflated to find the hidden text: 256 MiB is an 8192×8192 RGBA image. The bits run
 * down the columns, so a payload wider than one column needs every row, hence the whole image.
 */
export const MAX_STEALTH_INFLATED_BYTES = 256 << 20;
/** Image data read from the file per read; with no read-ahead, the most read past what is needed. */
const READ_BYTES = 64 << 10;

/**
 * Looks for stealth info in an 8-bit, non-interlaced RGBA PNG (`stealth_png*` in alpha, and also
 * `stealth_rgb*`) or RGB PNG (`stealth_rgb*` only), as A1111's extension writes and reads it: the
 * bits of each pixel in turn, column by column (x outer, y inner), most significant bit first; a
 * 15-byte signature, the payload length in bits, the payload. Where both could match, the RGB
 * signature wins, as in the extension's reader. Returns null when the image has no signature.
 *
 * Bounded: only the first pixels of each row are unfiltered, and the image data is inflated only
 * as far as the rows that hold the bits (the first 152 rows to rule a signature out), never past
 * MAX_STEALTH_INFLATED_BYTES. Never throws.
 */
export async function readStealthText(
  source: ByteSource,
  header: PngHeader,
  idatOffset: number,
): Promise<StealthText | null> {
  const channels = header.colorType === 6 ? 4 : header.colorType === 2 ? 3 : 0;
  if (
    channels === 0 ||
    header.bitDepth !== 8 ||
    header.interlaced ||
    header.width === 0 ||
    header.height === 0
  ) {
    return null;
  }
  const image: PixelGrid = { ...header, channels, idatOffset, source };
  let head: Bits;
  try {
    // 152 pixels hold the alpha signature and length, and more than the RGB ones need.
    head = await readColumnBits(image, Math.min(HEAD_BITS, header.width * header.height));
  } catch {
    return null; // image data too broken to hold a signature; a viewer would not show it either
  }
  const rgbSignature = signatureIn(head.rgb);
  const alphaSignature = channels === 4 ? signatureIn(head.alpha) : undefined;
  const signature = rgbSignature?.startsWith('stealth_rgb')
    ? rgbSignature
    : alphaSignature?.startsWith('stealth_png')
      ? alphaSignature
      : undefined;
  if (!signature) return null;
  const rgb = signature.startsWith('stealth_rgb');
  const headBits = rgb ? head.rgb : head.alpha;
  if (headBits.length < HEAD_BITS / 8) {
    return {
      signature,
      problem: `${signature} signature found, but the image is too small to hold a length`,
    };
  }
  const lengthBits = headBits.readUInt32BE(SIGNATURE_BITS / 8);
  const capacity = header.width * header.height * (rgb ? 3 : 1) - HEAD_BITS;
  if (lengthBits > capacity || lengthBits > MAX_TEXT_BYTES * 8) {
    return {
      signature,
      problem: `${signature} declares ${lengthBits} bits of text, more than the image holds or than is read`,
    };
  }
  let payload: Buffer;
  try {
    const bits = await readColumnBits(image, Math.ceil((HEAD_BITS + lengthBits) / (rgb ? 3 : 1)));
    payload = (rgb ? bits.rgb : bits.alpha).subarray(HEAD_BITS / 8, (HEAD_BITS + lengthBits) / 8);
  } catch (err) {
    return { signature, problem: `${signature} found, but its text could not be read: ${errorMessage(err)}` };
  }
  if (!signature.endsWith('comp')) return { signature, text: payload.toString('utf8') };
  try {
    const text = await gunzipAsync(payload, { maxOutputLength: MAX_TEXT_BYTES });
    return { signature, text: text.toString('utf8') };
  } catch (err) {
    return { signature, problem: `${signature} text does not gunzip (${errorMessage(err)})` };
  }
}

function signatureIn(bits: Buffer): StealthSignature | undefined {
  if (bits.length < SIGNATURE_BITS / 8) return undefined;
  const text = bits.toString('latin1', 0, SIGNATURE_BITS / 8);
  return /^stealth_(png|rgb)(info|comp)$/.test(text) ? (text as StealthSignature) : undefined;
}

interface PixelGrid {
  width: number;
  height: number;
  channels: number;
  idatOffset: number;
  source: ByteSource;
}

/** Lowest bits of the first pixels in column order, packed most significant bit first. */
interface Bits {
  /** One bit per pixel, from alpha (empty without alpha). */
  alpha: Buffer;
  /** Three bits per pixel, from red, green and blue. */
  rgb: Buffer;
}

/**
 * The lowest bits of the first `pixels` pixels in column order. Reads the rows that hold them,
 * unfiltering only the columns they are in (PNG filters look left and up, never right).
 */
async function readColumnBits(image: PixelGrid, pixels: number): Promise<Bits> {
  const { width, height, channels } = image;
  const columns = Math.ceil(pixels / height);
  const rows = columns > 1 ? height : pixels;
  const rowBytes = 1 + width * channels;
  if (rows * rowBytes > MAX_STEALTH_INFLATED_BYTES) {
    throw new Error(`the image data to inflate is over ${MAX_STEALTH_INFLATED_BYTES >> 20} MiB`);
  }
  const prefix = columns * channels;
  const bits: Bits = {
    alpha: Buffer.alloc(channels === 4 ? Math.ceil(pixels / 8) : 0),
    rgb: Buffer.alloc(Math.ceil((pixels * 3) / 8)),
  };
  let previous = Buffer.alloc(prefix);
  let current = Buffer.alloc(prefix);
  let row = 0;
  let column = 0; // byte position in the current row, its filter byte included
  let filter = 0;
  const takeRow = () => {
    unfilter(filter, current, previous, channels, row);
    for (let x = 0; x < columns; x++) {
      const pixel = x * height + row;
      if (pixel >= pixels) continue;
      const at = x * channels;
      if (channels === 4) setBit(bits.alpha, pixel, current[at + 3]!);
      for (let c = 0; c < 3; c++) setBit(bits.rgb, pixel * 3 + c, current[at + c]!);
    }
    [previous, current] = [current, previous];
    row++;
    column = 0;
  };
  // No read-ahead beyond one piece: reading stops soon after the last row needed.
  const inflated = pipeline(
    Readable.from(imageData(image), { highWaterMark: 1 }),
    createInflate(),
    () => undefined,
  );
  try {
    for await (const chunk of inflated as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length && row < rows;) {
        if (column === 0) {
          filter = chunk[i++]!;
          column = 1;
        } else if (column <= prefix) {
          const n = Math.min(prefix + 1 - column, chunk.length - i);
          chunk.copy(current, column - 1, i, i + n);
          i += n;
          column += n;
        } else {
          const n = Math.min(rowBytes - column, chunk.length - i);
          i += n;
          column += n;
        }
        if (column === rowBytes) takeRow();
      }
      if (row >= rows) return bits;
    }
  } finally {
    inflated.destroy();
  }
  throw new Error(`the image data ends after ${row} of ${height} rows`);
}

function setBit(bits: Buffer, index: number, value: number): void {
  if (value & 1) bits[index >> 3]! |= 0x80 >> (index & 7);
}

/** Reverses a PNG row filter over the first bytes of a row, in place; `previous` is the row above, unfiltered. */
function unfilter(filter: number, row: Buffer, previous: Buffer, bpp: number, y: number): void {
  const up = y === 0 ? undefined : previous;
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp]! : 0;
    const b = up ? up[i]! : 0;
    const c = up && i >= bpp ? up[i - bpp]! : 0;
    switch (filter) {
      case 0:
        break;
      case 1:
        row[i] = row[i]! + a;
        break;
      case 2:
        row[i] = row[i]! + b;
        break;
      case 3:
        row[i] = row[i]! + ((a + b) >> 1);
        break;
      case 4: {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        row[i] = row[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        break;
      }
      default:
        throw new Error(`row ${y} has filter type ${filter}, which PNG does not define`);
    }
  }
}

/**
 * The zlib stream of the image: the data of the IDAT chunks that follow each other from
 * `idatOffset`, read and handed on READ_BYTES at a time however small the chunks are.
 */
async function* imageData(image: PixelGrid): AsyncGenerator<Buffer> {
  const { source } = image;
  let window: Buffer = Buffer.alloc(0);
  let windowStart = image.idatOffset;
  const read = async (at: number, length: number): Promise<Buffer> => {
    if (at < windowStart || at + length > windowStart + window.length) {
      window = await source.read(at, Math.max(length, READ_BYTES));
      windowStart = at;
    }
    return window.subarray(at - windowStart, at - windowStart + length);
  };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let position = image.idatOffset; // the next chunk header
  chunks: for (;;) {
    const header = await read(position, 8);
    if (header.length < 8 || header.toString('latin1', 4, 8) !== 'IDAT') break;
    const end = Math.min(position + 8 + header.readUInt32BE(0), source.size);
    for (let at = position + 8; at < end;) {
      const piece = await read(at, Math.min(READ_BYTES, end - at));
      if (piece.length === 0) break chunks;
      pending.push(piece);
      pendingBytes += piece.length;
      at += piece.length;
      if (pendingBytes >= READ_BYTES) {
        yield Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
    position = end + 4;
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}
