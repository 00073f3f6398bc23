// Unit tests for walkBoxes: which byte layouts tile their range, and why the others stop.
import { describe, expect, it } from 'vitest';
import { type BoxWalkStop, walkBoxes } from './iso-boxes.js';
import { bytesReadAt } from './read-at.js';

/** A box with a 32-bit size (`declared` overrides the real one) and `body` zero bytes. */
function box(type: string, body: number, declared = 8 + body): Buffer {
  const out = Buffer.alloc(8 + body);
  out.writeUInt32BE(declared, 0);
  out.write(type, 4, 'latin1');
  return out;
}

/** A box with a 64-bit largesize. */
function largeBox(type: string, body: number, declared = BigInt(16 + body)): Buffer {
  const out = Buffer.alloc(16 + body);
  out.writeUInt32BE(1, 0);
  out.write(type, 4, 'latin1');
  out.writeBigUInt64BE(declared, 8);
  return out;
}

describe('walkBoxes', () => {
  it.each<[string, Buffer[], string[], BoxWalkStop['kind'] | undefined]>([
    ['nothing', [], [], undefined],
    ['two boxes', [box('ftyp', 12), box('moov', 20)], ['ftyp', 'moov'], undefined],
    ['size 0 runs to the end', [box('ftyp', 4), box('mdat', 30, 0)], ['ftyp', 'mdat'], undefined],
    ['64-bit largesize', [largeBox('mdat', 40), box('moov', 0)], ['mdat', 'moov'], undefined],
    ['a box past the end', [box('ftyp', 4), box('mdat', 10, 500)], ['ftyp'], 'overrun'],
    ['a box smaller than its header', [box('free', 0, 4)], [], 'overrun'],
    ['a largesize smaller than its header', [largeBox('mdat', 0, 12n)], [], 'overrun'],
    ['three stray bytes', [box('moov', 0), Buffer.from([0, 0, 0])], ['moov'], 'cut-header'],
    ['a largesize header cut short', [largeBox('mdat', 0).subarray(0, 12)], [], 'cut-header'],
  ])('%s', async (_name, parts, types, stop) => {
    const bytes = Buffer.concat(parts);
    const walk = await walkBoxes(bytesReadAt(bytes), 0, bytes.length, 100);
    expect(walk.boxes.map((found) => found.type)).toEqual(types);
    expect(walk.stop?.kind).toBe(stop);
  });

  it('gives each box its header, payload and end offsets', async () => {
    const bytes = Buffer.concat([box('ftyp', 4), largeBox('mdat', 2)]);
    const { boxes } = await walkBoxes(bytesReadAt(bytes), 0, bytes.length, 100);
    expect(boxes).toEqual([
      { type: 'ftyp', start: 0, body: 8, end: 12 },
      { type: 'mdat', start: 12, body: 28, end: 30 },
    ]);
  });

  it('walks a parent box payload only, and names the box that overruns it', async () => {
    const inner = Buffer.concat([box('udta', 4), box('meta', 4, 40)]);
    const moovHeader = box('moov', inner.length).subarray(0, 8);
    const bytes = Buffer.concat([moovHeader, inner, box('mdat', 100)]);
    const walk = await walkBoxes(bytesReadAt(bytes), 8, 8 + inner.length, 100);
    expect(walk.boxes.map((found) => found.type)).toEqual(['udta']);
    expect(walk.stop).toEqual({ kind: 'overrun', offset: 20, type: 'meta' });
  });

  it('stops after maxBoxes', async () => {
    const bytes = Buffer.concat([box('free', 0), box('free', 0), box('free', 0)]);
    const walk = await walkBoxes(bytesReadAt(bytes), 0, bytes.length, 2);
    expect(walk.boxes).toHaveLength(2);
    expect(walk.stop).toEqual({ kind: 'too-many', offset: 16 });
  });
});
