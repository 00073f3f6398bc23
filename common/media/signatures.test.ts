// Unit tests for the magic-byte tests and the byte helpers they stand on.
import { describe, expect, it } from 'vitest';
import { contains, latin1, startsWith } from './bytes.js';
import { isEbml, isJpeg, isPng, PNG_IEND_CHUNK, PNG_SIGNATURE, webpFileLength } from './signatures.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ascii = (text: string) => Buffer.from(text, 'latin1');

describe('signatures', () => {
  it.each<[string, Buffer, { png: boolean; jpeg: boolean; ebml: boolean }]>([
    ['PNG', hex('89504e470d0a1a0a0000'), { png: true, jpeg: false, ebml: false }],
    ['PNG cut short', hex('89504e470d0a1a'), { png: false, jpeg: false, ebml: false }],
    ['JPEG', hex('ffd8ffe0'), { png: false, jpeg: true, ebml: false }],
    ['two JPEG bytes', hex('ffd8'), { png: false, jpeg: false, ebml: false }],
    ['WebM', hex('1a45dfa39f'), { png: false, jpeg: false, ebml: true }],
    ['empty', Buffer.alloc(0), { png: false, jpeg: false, ebml: false }],
  ])('%s', (_name, head, want) => {
    expect({ png: isPng(head), jpeg: isJpeg(head), ebml: isEbml(head) }).toEqual(want);
  });

  it.each<[string, Buffer, number | undefined]>([
    ['a WebP header', ascii('RIFF\x10\0\0\0WEBP'), 0x18],
    ['a WAV header', ascii('RIFF\x10\0\0\0WAVE'), undefined],
    ['a header cut short', ascii('RIFF\x10\0\0\0WEB'), undefined],
  ])('webpFileLength of %s', (_name, head, want) => {
    expect(webpFileLength(head)).toBe(want);
  });
});

describe('byte helpers', () => {
  it('finds a prefix at an offset and nowhere past the end', () => {
    const bytes = Buffer.concat([Buffer.from('xx'), PNG_SIGNATURE]);
    expect(startsWith(bytes, PNG_SIGNATURE, 2)).toBe(true);
    expect(startsWith(bytes, PNG_SIGNATURE)).toBe(false);
    expect(startsWith(bytes.subarray(0, 9), PNG_SIGNATURE, 2)).toBe(false);
  });

  it('finds the IEND chunk inside a tail, not a partial one at its end', () => {
    expect(
      contains(Buffer.concat([Buffer.alloc(5), PNG_IEND_CHUNK, Buffer.from('\n')]), PNG_IEND_CHUNK),
    ).toBe(true);
    expect(contains(Buffer.concat([Buffer.alloc(5), PNG_IEND_CHUNK.subarray(0, 11)]), PNG_IEND_CHUNK)).toBe(
      false,
    );
  });

  it('reads four-character codes as latin-1, cut at the end', () => {
    expect(latin1(ascii('\0\0\0\x08©cmt'), 4, 8)).toBe('©cmt');
    expect(latin1(ascii('ab'), 0, 4)).toBe('ab');
  });
});
