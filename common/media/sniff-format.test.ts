// Unit tests for sniffFormat: formats by their first bytes, whatever the name says.
import { describe, expect, it } from 'vitest';
import { type MediaFormat, sniffFormat } from './sniff-format.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ascii = (text: string) => Buffer.from(text, 'latin1');

describe('sniffFormat', () => {
  it.each([
    ['PNG', hex('89504e470d0a1a0a 0000000d49484452'), 'png'],
    ['JPEG/JFIF', hex('ffd8ffe000104a46'), 'jpeg'],
    ['JPEG/Exif', hex('ffd8ffe1'), 'jpeg'],
    ['WebP', ascii('RIFF\x10\0\0\0WEBPVP8X'), 'webp'],
    ['WAV is RIFF but not WebP', ascii('RIFF\x10\0\0\0WAVEfmt '), 'unknown'],
    ['WebM', hex('1a45dfa39f4286810142f7'), 'matroska'],
    ['MP4', ascii('\0\0\0\x20ftypisom\0\0\x02\0'), 'mp4'],
    ['MOV without ftyp', ascii('\0\0\0\x08wide\0\0\0\0mdat'), 'mp4'],
    ['AVIF', ascii('\0\0\0\x1cftypavif\0\0\0\0'), 'heif'],
    ['HEIC', ascii('\0\0\0\x18ftypheic\0\0\0\0'), 'heif'],
    ['GIF', ascii('GIF89a\x01\0\x01\0'), 'gif'],
    ['GIF87a', ascii('GIF87a\x01\0\x01\0'), 'gif'],
    ['FLAC', ascii('fLaC\0\0\0\x22'), 'flac'],
    ['Ogg Opus', ascii('OggS\0\x02\0\0'), 'ogg'],
    ['MP3 with ID3', ascii('ID3\x04\0\0'), 'mp3'],
    ['MP3 frame', hex('fffb9064'), 'mp3'],
    ['MPEG layer II is not MP3', hex('fffd9064'), 'unknown'],
    ['empty', Buffer.alloc(0), 'unknown'],
    ['short PNG prefix', hex('89504e47'), 'unknown'],
  ] as [string, Buffer, MediaFormat][])('%s', (_name, head, want) => {
    expect(sniffFormat(head)).toBe(want);
  });
});
