// Walks ISO-BMFF boxes (MP4, MOV, HEIF) by their headers alone, so a walk never reads media data.
import { latin1, u32be, u64be } from './bytes.js';
import type { ReadAt } from './read-at.js';

/** One box: its four-character type and where it, and its payload, sit in the file. */
export interface Box {
  type: string;
  start: number;
  /** Where the box's payload starts, after its 8- or 16-byte header. */
  body: number;
  end: number;
}

/**
 * Why a walk stopped before its end: fewer bytes than a header left (`cut-header`), a box smaller
 * than its own header or running past the end (`overrun`, with its type), or more boxes than allowed.
 */
export type BoxWalkStop =
  | { kind: 'cut-header'; offset: number }
  | { kind: 'overrun'; offset: number; type: string }
  | { kind: 'too-many'; offset: number };

export interface BoxWalk {
  /** The boxes that fit, in order. */
  boxes: Box[];
  /** Set when the boxes do not tile the range from start to end. */
  stop?: BoxWalkStop;
}

/**
 * The boxes that tile `source` from `start` to `end` (the file, or a parent box's payload), read by
 * header only. A size of 0 runs to `end`; a size of 1 takes the 64-bit size after the type. Never
 * throws for malformed bytes: the walk stops and says why.
 */
export async function walkBoxes(
  source: ReadAt,
  start: number,
  end: number,
  maxBoxes: number,
): Promise<BoxWalk> {
  const boxes: Box[] = [];
  let position = start;
  while (position < end) {
    if (boxes.length >= maxBoxes) return { boxes, stop: { kind: 'too-many', offset: position } };
    const header = position + 8 <= end ? await source.read(position, 16) : new Uint8Array(0);
    if (header.length < 8) return { boxes, stop: { kind: 'cut-header', offset: position } };
    let size = u32be(header, 0);
    const type = latin1(header, 4, 8);
    let body = position + 8;
    if (size === 1) {
      if (header.length < 16) return { boxes, stop: { kind: 'cut-header', offset: position } };
      size = u64be(header, 8);
      body += 8;
    } else if (size === 0) {
      size = end - position;
    }
    if (size < body - position || position + size > end) {
      return { boxes, stop: { kind: 'overrun', offset: position, type } };
    }
    boxes.push({ type, start: position, body, end: position + size });
    position += size;
  }
  return { boxes };
}
