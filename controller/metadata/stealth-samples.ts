// Test-only builder of RGB and RGBA PNGs with stealth info hidden in their pixels, as A1111's extension and NovelAI write it.
import { deflateSync, gzipSync } from 'node:zlib';
import type { StealthSignature } from './stealth-png.js';
import { PNG_SIGNATURE_BYTES, IEND, pngChunk } from './test-samples.js';

export interface StealthSample {
  width: number;
  height: number;
  /** 4 for RGBA (colour type 6), 3 for RGB (colour type 2). */
  channels: 3 | 4;
  /** What to hide and how; nothing is hidden without it. */
  hide?: { signature: StealthSignature; text: string };
  /** The payload bytes as given, instead of `text` encoded (and gzipped for `…comp`). */
  payload?: Buffer;
  /** The length written before the payload, in bits, instead of the payload's. */
  declaredBits?: number;
  /** Where the bits go, instead of where the signature says: to hide a signature in the wrong place. */
  layout?: 'alpha' | 'rgb';
  /** Chunks between IHDR and IDAT (text chunks, say). */
  chunks?: Buffer[];
  /** Image data per IDAT chunk, so readers meet the zlib stream cut at chunk boundaries. */
  idatBytes?: number;
}

/**
 * Builds the PNG as the writers do: pixels of a fixed pseudo-random picture; the signature, the
 * payload length in bits (32 bits, big-endian) and the payload, most significant bit first, written
 * into the lowest bit of alpha (`stealth_png…`) or of red, green and blue in turn (`stealth_rgb…`),
 * pixel after pixel down each column (x outer, y inner). Rows are filtered with all five PNG
 * filters in turn, so a reader must undo each of them.
 */
export function stealthPng(sample: StealthSample): Buffer {
  const { width, height, channels } = sample;
  const pixels = Buffer.alloc(width * height * channels);
  let state = 12345;
  for (let i = 0; i < pixels.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    pixels[i] = state >>> 24;
  }
  if (channels === 4) for (let i = 3; i < pixels.length; i += 4) pixels[i] = 255;
  if (sample.hide) {
    const { signature, text } = sample.hide;
    const payload =
      sample.payload ??
      (signature.endsWith('comp') ? gzipSync(Buffer.from(text, 'utf8')) : Buffer.from(text, 'utf8'));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(sample.declaredBits ?? payload.length * 8);
    const data = Buffer.concat([Buffer.from(signature, 'latin1'), length, payload]);
    const rgb = (sample.layout ?? (signature.startsWith('stealth_rgb') ? 'rgb' : 'alpha')) === 'rgb';
    if (!rgb && channels === 3) throw new Error('an RGB image has no alpha to hide bits in');
    for (let bit = 0; bit < data.length * 8; bit++) {
      const value = (data[bit >> 3]! >> (7 - (bit & 7))) & 1;
      const pixel = rgb ? Math.floor(bit / 3) : bit;
      const x = Math.floor(pixel / height);
      const y = pixel % height;
      if (x >= width) throw new Error('the payload does not fit in the image');
      const at = (y * width + x) * channels + (rgb ? bit % 3 : 3);
      pixels[at] = (pixels[at]! & 0xfe) | value;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  const zlib = deflateSync(filterRows(pixels, width, height, channels));
  const step = sample.idatBytes ?? zlib.length;
  const idats: Buffer[] = [];
  for (let at = 0; at < zlib.length; at += step) idats.push(pngChunk('IDAT', zlib.subarray(at, at + step)));
  return Buffer.concat([
    PNG_SIGNATURE_BYTES,
    pngChunk('IHDR', ihdr),
    ...(sample.chunks ?? []),
    ...idats,
    IEND,
  ]);
}

/** Each row filtered with filter type y mod 5 (none, sub, up, average, Paeth). */
function filterRows(pixels: Buffer, width: number, height: number, bpp: number): Buffer {
  const stride = width * bpp;
  const out = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    out[y * (stride + 1)] = filter;
    for (let i = 0; i < stride; i++) {
      const x = pixels[y * stride + i]!;
      const a = i >= bpp ? pixels[y * stride + i - bpp]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= bpp ? pixels[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter]!;
      out[y * (stride + 1) + 1 + i] = (x - predicted) & 0xff;
    }
  }
  return out;
}
