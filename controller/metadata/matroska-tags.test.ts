// Unit tests for WebM/Matroska tag reading: SimpleTags before and after clusters, unknown sizes, odd files.
import { describe, expect, it } from 'vitest';
import { bufferSource } from './byte-source.js';
import { readMatroskaTags } from './matroska-tags.js';
import { CLUSTER_ID, ebml, INFO, matroskaTags, simpleTag, webm } from '../../test/fixtures/media-builders.js';

describe('readMatroskaTags', () => {
  it('reads tags written before the first cluster (ffmpeg), names lower-cased', async () => {
    const file = webm(
      INFO,
      matroskaTags(simpleTag('COMMENT', '{"workflow":{}}'), simpleTag('ENCODER', 'Lavf')),
      ebml(CLUSTER_ID, Buffer.alloc(64)),
    );
    expect(await readMatroskaTags(bufferSource(file))).toStrictEqual({
      tags: new Map([
        ['comment', '{"workflow":{}}'],
        ['encoder', 'Lavf'],
      ]),
      problems: [],
    });
  });

  it('skips clusters of known size to reach tags at the end', async () => {
    const file = webm(
      INFO,
      ebml(CLUSTER_ID, Buffer.alloc(5000)),
      ebml(CLUSTER_ID, Buffer.alloc(5000)),
      matroskaTags(simpleTag('PROMPT', 'p'), simpleTag('WORKFLOW', 'w')),
    );
    expect((await readMatroskaTags(bufferSource(file))).tags).toStrictEqual(
      new Map([
        ['prompt', 'p'],
        ['workflow', 'w'],
      ]),
    );
  });

  it('stops quietly at a cluster of unknown size (a live or unfinished stream)', async () => {
    const unknownCluster = Buffer.from([
      0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa3, 0x81, 0x00,
    ]);
    const file = webm(
      matroskaTags(simpleTag('COMMENT', 'early')),
      unknownCluster,
      matroskaTags(simpleTag('LATE', 'x')),
    );
    expect(await readMatroskaTags(bufferSource(file))).toStrictEqual({
      tags: new Map([['comment', 'early']]),
      problems: [],
    });
  });

  it('reads a Segment of unknown size up to the end of the file', async () => {
    const segmentBody = Buffer.concat([INFO, matroskaTags(simpleTag('COMMENT', 'c'))]);
    const header = ebml(0x1a45dfa3, ebml(0x4282, Buffer.from('webm')));
    const segment = Buffer.concat([Buffer.from([0x18, 0x53, 0x80, 0x67, 0xff]), segmentBody]);
    expect((await readMatroskaTags(bufferSource(Buffer.concat([header, segment])))).tags).toStrictEqual(
      new Map([['comment', 'c']]),
    );
  });

  it('reports a Tags element cut short, and a file that is not Matroska', async () => {
    const file = webm(INFO, matroskaTags(simpleTag('COMMENT', 'c'.repeat(100))));
    const cut = file.subarray(0, file.length - 10);
    expect((await readMatroskaTags(bufferSource(cut))).problems).toStrictEqual([
      `Matroska Tags element at offset ${file.length - matroskaTags(simpleTag('COMMENT', 'c'.repeat(100))).length} is too large or cut short; skipped`,
    ]);
    expect(await readMatroskaTags(bufferSource(Buffer.from('RIFF')))).toStrictEqual({
      tags: new Map(),
      problems: ['not a Matroska/WebM file: no EBML header'],
    });
  });
});
