// Unit tests for MP4/MOV tag reading: ffmpeg's ©cmt and mdta keys, moov after mdat, growing and odd files.
import { describe, expect, it } from 'vitest';
import { type ByteSource, bufferSource } from './byte-source.js';
import { readMp4Tags } from './mp4-tags.js';
import { box, FTYP, ilstItem, mdtaMeta, udtaComment } from '../../test/fixtures/media-builders.js';

const mdat = (size: number) => box('mdat', Buffer.alloc(size));

describe('readMp4Tags', () => {
  it('reads mdta keys (ComfyUI core, -movflags use_metadata_tags) in moov/udta/meta', async () => {
    const file = Buffer.concat([
      FTYP,
      mdat(100),
      box(
        'moov',
        box('mvhd', Buffer.alloc(100)),
        box(
          'udta',
          mdtaMeta([
            ['prompt', '{"1":{}}'],
            ['workflow', '{"nodes":[]}'],
          ]),
        ),
      ),
    ]);
    const got = await readMp4Tags(bufferSource(file));
    expect(got).toStrictEqual({
      tags: new Map([
        ['prompt', '{"1":{}}'],
        ['workflow', '{"nodes":[]}'],
      ]),
      problems: [],
    });
  });

  it('reads a ©cmt comment (VideoHelperSuite) and a meta box directly in moov', async () => {
    const file = Buffer.concat([
      FTYP,
      box('moov', udtaComment('{"prompt":{}}'), mdtaMeta([['Encoder', 'Lavf']])),
      mdat(10),
    ]);
    expect((await readMp4Tags(bufferSource(file))).tags).toStrictEqual(
      new Map([
        ['comment', '{"prompt":{}}'],
        ['encoder', 'Lavf'],
      ]),
    );
  });

  it('reads a QuickTime meta box without version and flags, and a 64-bit mdat size', async () => {
    const hdlr = box('hdlr', Buffer.alloc(8), Buffer.from('mdta', 'latin1'), Buffer.alloc(13));
    const keys = box('keys', Buffer.alloc(4), Buffer.from([0, 0, 0, 1]), box('mdta', Buffer.from('prompt')));
    const quicktimeMeta = box('meta', hdlr, keys, box('ilst', ilstItem(1, 'P')));
    const large = Buffer.alloc(16 + 32);
    large.writeUInt32BE(1, 0);
    large.write('mdat', 4, 'latin1');
    large.writeBigUInt64BE(BigInt(large.length), 8);
    const file = Buffer.concat([FTYP, large, box('moov', quicktimeMeta)]);
    expect(await readMp4Tags(bufferSource(file))).toStrictEqual({
      tags: new Map([['prompt', 'P']]),
      problems: [],
    });
  });

  it('skips a large mdat by seeking: only box headers and the tags are read', async () => {
    const moov = box('moov', udtaComment('c'));
    const mdatSize = 50 << 20;
    const head = Buffer.concat([FTYP, Buffer.from([...u32(mdatSize + 8), ...Buffer.from('mdat')])]);
    const size = head.length + mdatSize + moov.length;
    let bytesRead = 0;
    const source: ByteSource = {
      size,
      async read(position, length) {
        const out = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
        for (let i = 0; i < out.length; i++) {
          const at = position + i;
          if (at < head.length) out[i] = head[at]!;
          else if (at >= size - moov.length) out[i] = moov[at - (size - moov.length)]!;
        }
        bytesRead += out.length;
        return out;
      },
    };
    expect((await readMp4Tags(source)).tags).toStrictEqual(new Map([['comment', 'c']]));
    expect(bytesRead).toBeLessThan(16 << 10);
  });

  it('treats a growing file (mdat past the end, no moov yet) as having no tags, without a problem', async () => {
    const file = Buffer.concat([FTYP, mdat(1000)]).subarray(0, 500);
    expect(await readMp4Tags(bufferSource(file))).toStrictEqual({ tags: new Map(), problems: [] });
  });

  it('reports a moov that runs past the end of the file', async () => {
    const file = Buffer.concat([FTYP, box('moov', udtaComment('c'))]).subarray(0, -3);
    expect(await readMp4Tags(bufferSource(file))).toStrictEqual({
      tags: new Map(),
      problems: [`MP4 box "moov" at offset ${FTYP.length} runs past its parent`],
    });
  });

  it('ignores non-text data items', async () => {
    const cover = box('covr', box('data', Buffer.from([0, 0, 0, 13, 0, 0, 0, 0]), Buffer.from([0xff, 0xd8])));
    const hdlr = box('hdlr', Buffer.alloc(8), Buffer.from('mdir', 'latin1'), Buffer.alloc(13));
    const file = Buffer.concat([
      FTYP,
      box('moov', box('udta', box('meta', Buffer.alloc(4), hdlr, box('ilst', cover)))),
    ]);
    expect(await readMp4Tags(bufferSource(file))).toStrictEqual({ tags: new Map(), problems: [] });
  });
});

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}
