// Walks a PNG's chunks by their 8-byte headers and collects the text chunks, wherever they sit.
import { promisify } from 'node:util';
import { inflate } from 'node:zlib';
import { startsWith } from '../../common/media/bytes.js';
import { WindowedReader } from '../../common/media/read-at.js';
import { PNG_SIGNATURE } from '../../common/media/signatures.js';
import type { ByteSource } from './byte-source.js';

const inflateAsync = promisify(inflate);

/** Largest text chunk read, before and after inflating; ComfyUI workflows are rarely over a few MB. */
export const MAX_TEXT_BYTES = 32 << 20;
/** A file with more chunks than this is hostile or broken; the walk stops there. */
const MAX_CHUNKS = 1_000_000;

const TEXT_TYPES = new Set(['tEXt', 'zTXt', 'iTXt', 'comf']);

/** One text chunk: its text, or why it could not be decoded. */
export interface PngText {
  type: 'tEXt' | 'zTXt' | 'iTXt' | 'comf';
  keyword: string;
  text?: string;
  problem?: string;
}

/** The IHDR fields the pixel readers need. */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey and alpha, 6 RGBA. */
  colorType: number;
  interlaced: boolean;
}

export interface PngTextScan {
  texts: PngText[];
  /** From IHDR, when the file has a well-formed one first. */
  header?: PngHeader;
  /** Offset of the first IDAT chunk; the image data runs on through the IDAT chunks after it. */
  idatOffset?: number;
  /** Whether an `acTL` chunk (animated PNG) comes before the image data. */
  animated?: boolean;
  /** The first `eXIf` chunk's data (a TIFF block): kohya sample images and some savers put infotext there. */
  exif?: Buffer;
  /** Structural trouble (truncation, oversized chunks); the texts found before it are still returned. */
  problems: string[];
}

/**
 * Collects tEXt, zTXt, iTXt and ComfyUI's `comf` chunks before and after IDAT, and notes IHDR, where
 * the image data starts and whether the image is animated. Only chunk headers, IHDR and text chunk
 * bodies are read; pixel data is skipped by seeking. Never throws for a malformed file.
 */
export async function readPngTexts(source: ByteSource): Promise<PngTextScan> {
  const reader = new WindowedReader(source);
  const scan: PngTextScan = { texts: [], problems: [] };
  if (!startsWith(await reader.read(0, PNG_SIGNATURE.length), PNG_SIGNATURE)) {
    scan.problems.push('not a PNG: the 8-byte signature does not match');
    return scan;
  }
  let position = PNG_SIGNATURE.length;
  for (let count = 0; ; count++) {
    if (count >= MAX_CHUNKS) {
      scan.problems.push(`PNG has more than ${MAX_CHUNKS} chunks; stopped reading at offset ${position}`);
      break;
    }
    const header = await reader.read(position, 8);
    if (header.length < 8) {
      scan.problems.push(`PNG ends at offset ${source.size} without an IEND chunk: the file is truncated`);
      break;
    }
    const length = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    if (type === 'IEND') break;
    const end = position + 12 + length;
    if (length > 0x7fffffff || end > source.size) {
      scan.problems.push(
        `PNG chunk ${JSON.stringify(type)} at offset ${position} declares ${length} bytes but the file ` +
          `ends at ${source.size}: the file is truncated or still being written`,
      );
      break;
    }
    if (type === 'IHDR' && count === 0 && length === 13) {
      scan.header = parseHeader(await reader.read(position + 8, 13));
    } else if (type === 'IDAT') {
      scan.idatOffset ??= position;
    } else if (type === 'acTL' && scan.idatOffset === undefined) {
      scan.animated = true;
    } else if (type === 'eXIf' && scan.exif === undefined) {
      if (length > MAX_TEXT_BYTES)
        scan.problems.push(`PNG eXIf chunk at offset ${position} is over the limit; skipped`);
      else scan.exif = await reader.read(position + 8, length);
    } else if (TEXT_TYPES.has(type)) {
      if (length > MAX_TEXT_BYTES) {
        scan.problems.push(
          `PNG ${type} chunk at offset ${position} is ${length} bytes, over the limit; skipped`,
        );
      } else {
        const data = await reader.read(position + 8, length);
        scan.texts.push(await decodeTextChunk(type as PngText['type'], data));
      }
    }
    position = end;
  }
  return scan;
}

function parseHeader(data: Buffer): PngHeader {
  return {
    width: data.readUInt32BE(0),
    height: data.readUInt32BE(4),
    bitDepth: data[8]!,
    colorType: data[9]!,
    interlaced: data[12] === 1,
  };
}

/** Decodes one text chunk's data (the bytes between its header and CRC). */
export async function decodeTextChunk(type: PngText['type'], data: Buffer): Promise<PngText> {
  const nul = data.indexOf(0);
  if (nul < 0) {
    return { type, keyword: '', problem: `${type} chunk has no NUL after its keyword` };
  }
  const keyword = data.toString('latin1', 0, nul);
  const named = (problem: string): PngText => ({ type, keyword, problem: `${type} ${keyword}: ${problem}` });
  try {
    switch (type) {
      case 'tEXt':
      case 'comf':
        return { type, keyword, text: decodeLatin1Text(data.subarray(nul + 1)) };
      case 'zTXt':
        if (data.length < nul + 2 || data[nul + 1] !== 0) return named('unknown compression method');
        return { type, keyword, text: decodeLatin1Text(await inflateText(data.subarray(nul + 2))) };
      case 'iTXt': {
        const compressed = data[nul + 1];
        const languageEnd = data.indexOf(0, nul + 3);
        const translatedEnd = languageEnd < 0 ? -1 : data.indexOf(0, languageEnd + 1);
        if (compressed === undefined || translatedEnd < 0) return named('header is cut short');
        const body = data.subarray(translatedEnd + 1);
        const bytes = compressed === 1 ? await inflateText(body) : body;
        return { type, keyword, text: bytes.toString('utf8') };
      }
    }
  } catch (err) {
    return named(`compressed text does not inflate (${err instanceof Error ? err.message : String(err)})`);
  }
}

function inflateText(bytes: Buffer): Promise<Buffer> {
  return inflateAsync(bytes, { maxOutputLength: MAX_TEXT_BYTES });
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * tEXt and zTXt are latin-1 by the spec, but some tools put UTF-8 there. Text with high bytes that
 * decodes as valid UTF-8 is taken as UTF-8 (real latin-1 text almost never is valid UTF-8).
 */
export function decodeLatin1Text(bytes: Buffer): string {
  if (bytes.some((byte) => byte >= 0x80)) {
    try {
      return utf8Strict.decode(bytes);
    } catch {
      // genuinely latin-1
    }
  }
  return bytes.toString('latin1');
}
