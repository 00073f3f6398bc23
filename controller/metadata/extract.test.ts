// extractMetadata over synthetic files: every container, text encodings, broken metadata, and bounded reads.
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ByteSource, openFileSource } from './byte-source.js';
import { extractFromSource, extractMetadata } from './extract.js';
import type { GenerationMetadata } from '../../common/generation-metadata.js';
import {
  asciiEntry,
  box,
  ebml,
  FTYP,
  IDAT,
  IEND,
  INFO,
  iTXt,
  jpeg,
  matroskaTags,
  mdtaMeta,
  png,
  PNG_SIGNATURE_BYTES,
  IHDR,
  pngChunk,
  riffChunk,
  simpleTag,
  tEXt,
  tiff,
  udtaComment,
  userComment,
  webm,
  webp,
  zTXt,
} from '../../test/fixtures/media-builders.js';

/** A small API graph whose seed does not fit in a double. */
const GRAPH =
  '{"3":{"class_type":"KSampler","inputs":{"seed":18446744073709551557,"steps":12,"cfg":4.5,' +
  '"sampler_name":"euler","scheduler":"normal","denoise":1,"model":["4",0],"positive":["6",0],' +
  '"negative":["7",0],"latent_image":["5",0]}},' +
  '"4":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"sd_xl_base_1.0.safetensors"}},' +
  '"5":{"class_type":"EmptyLatentImage","inputs":{"width":1024,"height":896,"batch_size":1}},' +
  '"6":{"class_type":"CLIPTextEncode","inputs":{"text":"a lighthouse","clip":["4",1]}},' +
  '"7":{"class_type":"CLIPTextEncode","inputs":{"text":"fog","clip":["4",1]}}}';
const WORKFLOW = '{"last_node_id":7,"nodes":[{"id":3,"type":"KSampler"}]}';

const GRAPH_SAMPLER = {
  nodeId: '3',
  classType: 'KSampler',
  seed: '18446744073709551557',
  steps: 12,
  cfg: 4.5,
  sampler: 'euler',
  scheduler: 'normal',
  denoise: 1,
  model: 'sd_xl_base_1.0.safetensors',
  prompt: 'a lighthouse',
  negativePrompt: 'fog',
  width: 1024,
  height: 896,
};
const { nodeId: _n, classType: _c, denoise: _d, ...GRAPH_TOP } = GRAPH_SAMPLER;
const FROM_GRAPH: GenerationMetadata = {
  source: 'comfyui',
  ...GRAPH_TOP,
  samplers: [GRAPH_SAMPLER],
  comfyPrompt: JSON.parse(GRAPH) as unknown,
  comfyWorkflow: JSON.parse(WORKFLOW) as unknown,
};

const infotext = (prompt: string, extra = '') =>
  `${prompt}\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 640x480${extra}`;
const a1111 = (prompt: string, more: Partial<GenerationMetadata> = {}): GenerationMetadata => ({
  source: 'a1111',
  raw: infotext(prompt),
  prompt,
  negativePrompt: 'blurry',
  steps: 20,
  sampler: 'Euler a',
  cfg: 7,
  seed: 1234,
  width: 640,
  height: 480,
  params: { Steps: '20', Sampler: 'Euler a', 'CFG scale': '7', Seed: '1234', Size: '640x480' },
  ...more,
});

const UNICODE_PROMPT = '東京の夜景, ネオン ★ ŁÓDŹ';
const vhsComment = JSON.stringify({ prompt: '__GRAPH__', workflow: JSON.parse(WORKFLOW) as unknown }).replace(
  '"__GRAPH__"',
  GRAPH,
);

const cases: { name: string; file: string; bytes: Buffer; want: GenerationMetadata }[] = [
  {
    name: 'iTXt parameters with non-latin-1 UTF-8 (Pillow)',
    file: 'utf8.png',
    bytes: png(iTXt('parameters', infotext(UNICODE_PROMPT)), IDAT),
    want: a1111(UNICODE_PROMPT),
  },
  {
    name: 'compressed iTXt parameters',
    file: 'itxt-z.png',
    bytes: png(iTXt('parameters', infotext('a red fox'), { compressed: true }), IDAT),
    want: a1111('a red fox'),
  },
  {
    name: 'JSON-quoted Lora hashes with a <lora:> tag in the prompt',
    file: 'lora.png',
    bytes: png(
      tEXt('parameters', infotext('knight <lora:armor:0.8>', ', Lora hashes: "armor: 0a1b2c3d, cape: 99ff"')),
      IDAT,
    ),
    want: {
      ...a1111('knight <lora:armor:0.8>'),
      raw: infotext('knight <lora:armor:0.8>', ', Lora hashes: "armor: 0a1b2c3d, cape: 99ff"'),
      loras: [
        { name: 'armor', hash: '0a1b2c3d', strength: 0.8 },
        { name: 'cape', hash: '99ff' },
      ],
      params: {
        Steps: '20',
        Sampler: 'Euler a',
        'CFG scale': '7',
        Seed: '1234',
        Size: '640x480',
        'Lora hashes': 'armor: 0a1b2c3d, cape: 99ff',
      },
    },
  },
  {
    name: 'ComfyUI prompt and workflow tEXt, seed past 2^53 kept exact',
    file: 'comfy.png',
    bytes: png(tEXt('prompt', GRAPH), tEXt('workflow', WORKFLOW), IDAT),
    want: FROM_GRAPH,
  },
  {
    name: 'ComfyUI animated PNG: comf chunks after IDAT',
    file: 'animated.png',
    bytes: png(IDAT, pngChunk('comf', `prompt\0${GRAPH}`), pngChunk('comf', `workflow\0${WORKFLOW}`)),
    want: FROM_GRAPH,
  },
  {
    name: 'infotext wins over a ComfyUI graph in the same file; the graphs are kept',
    file: 'both.png',
    bytes: png(
      tEXt('parameters', infotext('saved by a node')),
      tEXt('prompt', GRAPH),
      tEXt('workflow', WORKFLOW),
      IDAT,
    ),
    want: {
      ...a1111('saved by a node'),
      comfyPrompt: FROM_GRAPH.comfyPrompt,
      comfyWorkflow: FROM_GRAPH.comfyWorkflow,
    },
  },
  {
    name: 'truncated PNG: a chunk length past EOF after the text gives the text and an error',
    file: 'truncated.png',
    bytes: png(tEXt('parameters', infotext('cut')), IDAT).subarray(0, -IEND.length - 6),
    want: {
      ...a1111('cut'),
      error:
        `PNG chunk "IDAT" at offset ${8 + IHDR.length + tEXt('parameters', infotext('cut')).length} declares ` +
        `${IDAT.length - 12} bytes but the file ends at ` +
        `${png(tEXt('parameters', infotext('cut')), IDAT).length - IEND.length - 6}: ` +
        'the file is truncated or still being written',
    },
  },
  {
    name: 'truncated PNG inside the text chunk: no metadata, an error',
    file: 'truncated-text.png',
    bytes: Buffer.concat([PNG_SIGNATURE_BYTES, IHDR, tEXt('parameters', infotext('cut')).subarray(0, 40)]),
    want: {
      source: 'none',
      error: `PNG chunk "tEXt" at offset 33 declares ${infotext('cut').length + 11} bytes but the file ends at 73: the file is truncated or still being written`,
    },
  },
  {
    name: 'malformed ComfyUI prompt JSON: raw text and an error; the workflow still parsed',
    file: 'bad-json.png',
    bytes: png(tEXt('prompt', '{"3": {"class_type": "KSampler", '), tEXt('workflow', WORKFLOW), IDAT),
    want: {
      source: 'comfyui',
      raw: '{"3": {"class_type": "KSampler", ',
      comfyWorkflow: JSON.parse(WORKFLOW) as unknown,
      error: expect.stringMatching(/^ComfyUI prompt is not valid JSON \(.+\)$/) as unknown as string,
    },
  },
  {
    name: 'zTXt parameters that do not inflate',
    file: 'bad-ztxt.png',
    bytes: png(pngChunk('zTXt', Buffer.from('parameters\0\0garbage', 'latin1')), IDAT),
    want: {
      source: 'a1111',
      error: expect.stringMatching(/^zTXt parameters: compressed text does not inflate/) as unknown as string,
    },
  },
  {
    name: 'zTXt parameters after IDAT',
    file: 'ztxt-after.png',
    bytes: png(IDAT, zTXt('parameters', infotext('late text'))),
    want: a1111('late text'),
  },
  {
    name: 'WebP with ComfyUI EXIF prompt (0x0110) and workflow (0x010F), little-endian TIFF like Pillow',
    file: 'comfy.webp',
    bytes: webp(
      riffChunk(
        'EXIF',
        tiff({
          le: true,
          ifd0: [asciiEntry(0x010f, `workflow:${WORKFLOW}`), asciiEntry(0x0110, `prompt:${GRAPH}`)],
        }),
      ),
    ),
    want: FROM_GRAPH,
  },
  {
    name: 'WebP with an A1111 UserComment',
    file: 'a1111.webp',
    bytes: webp(
      riffChunk(
        'EXIF',
        Buffer.concat([
          Buffer.from('Exif\0\0'),
          tiff({ le: false, exif: [userComment(infotext('webp'), 'utf16be')] }),
        ]),
      ),
    ),
    want: a1111('webp'),
  },
  {
    name: 'JPEG with a little-endian TIFF and a UTF-16LE UserComment',
    file: 'le.jpg',
    bytes: jpeg(tiff({ le: true, exif: [userComment(infotext(UNICODE_PROMPT), 'utf16le')] })),
    want: a1111(UNICODE_PROMPT),
  },
  {
    name: 'JPEG with an ASCII UserComment',
    file: 'ascii.jpg',
    bytes: jpeg(tiff({ le: false, exif: [userComment(infotext('ascii comment'), 'ascii')] })),
    want: a1111('ascii comment'),
  },
  {
    name: 'JPEG whose UserComment is not an infotext (a camera note)',
    file: 'camera.jpg',
    bytes: jpeg(tiff({ le: false, exif: [userComment('Shot on my phone', 'ascii')] })),
    // Never silent: text that is no known format is kept, searchable, with the reason.
    want: {
      source: 'unknown',
      raw: 'Shot on my phone',
      error: 'metadata in EXIF UserComment is in no format this reader knows; kept as raw text',
    },
  },
  {
    name: 'a JPEG named .png is read as a JPEG',
    file: 'really-a-jpeg.png',
    bytes: jpeg(tiff({ le: false, exif: [userComment(infotext('sniffed'), 'utf16be')] })),
    want: { ...a1111('sniffed'), error: 'named .png but its bytes are JPEG; read as JPEG' },
  },
  {
    name: 'MP4 with ComfyUI prompt and workflow mdta keys (SaveVideo)',
    file: 'comfy.mp4',
    bytes: Buffer.concat([
      FTYP,
      box('mdat', Buffer.alloc(64)),
      box(
        'moov',
        box(
          'udta',
          mdtaMeta([
            ['prompt', GRAPH],
            ['workflow', WORKFLOW],
          ]),
        ),
      ),
    ]),
    want: FROM_GRAPH,
  },
  {
    name: 'MP4 with a VideoHelperSuite ©cmt JSON comment',
    file: 'AnimateDiff_00001.mp4',
    bytes: Buffer.concat([FTYP, box('moov', udtaComment(vhsComment)), box('mdat', Buffer.alloc(64))]),
    want: FROM_GRAPH,
  },
  {
    name: 'MP4 still being written (no moov yet)',
    file: 'growing.mp4',
    bytes: Buffer.concat([FTYP, box('mdat', Buffer.alloc(4096))]).subarray(0, 1000),
    want: { source: 'none' },
  },
  {
    name: 'WebM with a COMMENT whose prompt is itself a JSON string (a VHS fork)',
    file: 'vhs.webm',
    bytes: webm(
      INFO,
      matroskaTags(
        simpleTag('COMMENT', JSON.stringify({ prompt: GRAPH, workflow: JSON.parse(WORKFLOW) as unknown })),
      ),
      ebml(0x1f43b675, Buffer.alloc(32)),
    ),
    want: FROM_GRAPH,
  },
  {
    name: 'WebM with PROMPT and WORKFLOW tags',
    file: 'comfy.webm',
    bytes: webm(INFO, matroskaTags(simpleTag('PROMPT', GRAPH), simpleTag('WORKFLOW', WORKFLOW))),
    want: FROM_GRAPH,
  },
  {
    name: 'WebM with a comment that looks like JSON but is not',
    file: 'bad.webm',
    bytes: webm(matroskaTags(simpleTag('COMMENT', '{"prompt": '))),
    want: {
      source: 'comfyui',
      error: expect.stringMatching(
        /^video comment tag looks like JSON but does not parse/,
      ) as unknown as string,
    },
  },
  {
    name: 'plain text named .png',
    file: 'text.png',
    bytes: Buffer.from('hello, not an image'),
    want: { source: 'none' },
  },
  {
    name: 'AVIF (EXIF not read)',
    file: 'image.avif',
    bytes: box('ftyp', Buffer.from('avif\0\0\0\0mif1', 'latin1')),
    want: { source: 'none' },
  },
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metadata-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('extractMetadata on synthetic files', () => {
  it.each(cases)('$name', async ({ file, bytes, want }) => {
    const path = join(dir, file);
    await writeFile(path, bytes);
    expect(await extractMetadata(path)).toStrictEqual(want);
  });

  it('does not throw for a missing file or a folder; it says what went wrong', async () => {
    expect(await extractMetadata(join(dir, 'missing.png'))).toStrictEqual({
      source: 'none',
      error: expect.stringMatching(/^cannot open the file: ENOENT/) as unknown as string,
    });
    const folder = join(dir, 'folder.png');
    await mkdir(folder);
    expect(await extractMetadata(folder)).toStrictEqual({
      source: 'none',
      error: expect.stringMatching(/^cannot read the file: EISDIR/) as unknown as string,
    });
  });

  it('does not throw when the source itself fails mid-way', async () => {
    const file = png(IDAT, tEXt('parameters', 'x'));
    const failing: ByteSource = {
      size: file.length,
      read: async (position) => {
        if (position > 8) throw new Error('disk went away');
        return file.subarray(0, 16);
      },
    };
    expect(await extractFromSource(failing)).toStrictEqual({
      source: 'none',
      error: 'cannot read the file: disk went away',
    });
  });

  it('reads a 50 MB PNG with its text after the IDAT through a few KiB of reads', async () => {
    const path = join(dir, 'large.png');
    const idatLength = 50 << 20;
    const handle = await open(path, 'w');
    const head = Buffer.concat([
      PNG_SIGNATURE_BYTES,
      IHDR,
      Buffer.from([...u32(idatLength), ...Buffer.from('IDAT')]),
    ]);
    const tail = Buffer.concat([Buffer.alloc(4), zTXt('parameters', infotext('after a big IDAT')), IEND]);
    await handle.write(head, 0, head.length, 0);
    await handle.write(tail, 0, tail.length, head.length + idatLength); // the gap stays sparse zeros
    await handle.close();

    const source = await openFileSource(path);
    let bytesRead = 0;
    let reads = 0;
    const counting: ByteSource = {
      size: source.size,
      read: async (position, length) => {
        const bytes = await source.read(position, length);
        bytesRead += bytes.length;
        reads++;
        return bytes;
      },
    };
    try {
      expect(await extractFromSource(counting)).toStrictEqual(a1111('after a big IDAT'));
    } finally {
      await source.close();
    }
    expect(source.size).toBeGreaterThan(idatLength);
    expect(bytesRead).toBeLessThan(16 << 10);
    expect(reads).toBeLessThan(10);
    expect(await extractMetadata(path)).toStrictEqual(a1111('after a big IDAT'));
  });
});

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}
