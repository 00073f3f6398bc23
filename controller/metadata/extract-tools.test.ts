// extractMetadata on Draw Things XMP (PNG, JPEG, WebP) and InvokeAI 2.x `sd-metadata` and `Dream`, with exact values.
import { describe, expect, it } from 'vitest';
import { bufferSource } from './byte-source.js';
import { xmpUserComment } from './draw-things.js';
import { extractFromSource } from './extract.js';
import type { GenerationMetadata } from '../../common/generation-metadata.js';
import { readDream, splitBracketedNegative } from './invokeai-legacy.js';
import { IDAT, iTXt, png, riffChunk, tEXt, webp } from '../../test/fixtures/media-builders.js';

/**
 * Draw Things' parameters, with the keys it writes: `c` and `uc` for the prompts, `scale` for CFG,
 * `size` as `WxH`, `lora` as `{file, weight}`, and settings this reader leaves in the raw JSON.
 */
const DRAW_THINGS = {
  c: 'a koi pond at dawn, ink & watercolor',
  uc: 'blurry, text',
  seed: 3071927470,
  steps: 20,
  scale: 4.5,
  sampler: 'DPM++ 2M Karras',
  model: 'sd_xl_base_1.0_f16.ckpt',
  size: '1024x768',
  strength: 1,
  seed_mode: 'Scale Alike',
  shift: 1,
  aesthetic_score: 6,
  lora: [
    { file: 'sdxl_lightning_8_step_lora_f16.ckpt', weight: 1 },
    { file: 'ink_style_lora_f16.ckpt', weight: 0.6 },
  ],
};
const DRAW_THINGS_JSON = JSON.stringify(DRAW_THINGS);
const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The XMP packet as Draw Things writes it: the JSON as the x-default item of exif:UserComment. */
const XMP = `<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 6.0.0">
   <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <rdf:Description rdf:about=""
            xmlns:dc="http://purl.org/dc/elements/1.1/"
            xmlns:exif="http://ns.adobe.com/exif/1.0/"
            xmlns:xmp="http://ns.adobe.com/xap/1.0/">
         <dc:description>
            <rdf:Alt>
               <rdf:li xml:lang="x-default">${xmlEscape(DRAW_THINGS.c)}</rdf:li>
            </rdf:Alt>
         </dc:description>
         <exif:UserComment>
            <rdf:Alt>
               <rdf:li xml:lang="x-default">${xmlEscape(DRAW_THINGS_JSON)}</rdf:li>
            </rdf:Alt>
         </exif:UserComment>
         <xmp:CreatorTool>Draw Things</xmp:CreatorTool>
      </rdf:Description>
   </rdf:RDF>
</x:xmpmeta>`;

const DRAW_THINGS_META: GenerationMetadata = {
  source: 'drawthings',
  raw: DRAW_THINGS_JSON,
  prompt: 'a koi pond at dawn, ink & watercolor',
  negativePrompt: 'blurry, text',
  seed: 3071927470,
  steps: 20,
  cfg: 4.5,
  sampler: 'DPM++ 2M Karras',
  model: 'sd_xl_base_1.0_f16.ckpt',
  width: 1024,
  height: 768,
  loras: [
    { name: 'sdxl_lightning_8_step_lora_f16.ckpt', strength: 1 },
    { name: 'ink_style_lora_f16.ckpt', strength: 0.6 },
  ],
};

function jpegWithXmp(xmp: string): Buffer {
  const data = Buffer.concat([
    Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'),
    Buffer.from(xmp, 'utf8'),
  ]);
  const app1 = Buffer.from([0xff, 0xe1, 0, 0]);
  app1.writeUInt16BE(data.length + 2, 2);
  const sos = Buffer.from([0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app1, data, sos, Buffer.from([0x12, 0xff, 0xd9])]);
}

/** InvokeAI 2.3's `sd-metadata`: one weighted prompt, its negative in square brackets. */
const SD_METADATA = {
  model: 'stable diffusion',
  model_id: 'stable-diffusion-1.5',
  model_hash: 'cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516',
  app_id: 'invoke-ai/InvokeAI',
  app_version: '2.3.0',
  image: {
    prompt: [{ prompt: 'a tabby cat on a windowsill [blurry, lowres]', weight: 1 }],
    steps: 50,
    cfg_scale: 7.5,
    threshold: 0,
    perlin: 0,
    height: 512,
    width: 768,
    seed: 3646467,
    seamless: false,
    hires_fix: false,
    type: 'txt2img',
    postprocessing: null,
    sampler: 'k_lms',
    variations: [],
  },
};
const DREAM = '"a tabby cat on a windowsill [blurry, lowres]" -s 50 -S 3646467 -W 768 -H 512 -C 7.5 -A k_lms';

const cases: { name: string; bytes: Buffer; file: string; want: GenerationMetadata }[] = [
  {
    name: 'Draw Things XMP in a PNG iTXt chunk',
    bytes: png(iTXt('XML:com.adobe.xmp', XMP), IDAT),
    file: 'dt.png',
    want: DRAW_THINGS_META,
  },
  {
    name: 'Draw Things XMP in a JPEG APP1 segment',
    bytes: jpegWithXmp(XMP),
    file: 'dt.jpg',
    want: DRAW_THINGS_META,
  },
  {
    name: 'Draw Things XMP in a WebP XMP chunk',
    bytes: webp(riffChunk('XMP ', Buffer.from(XMP, 'utf8'))),
    file: 'dt.webp',
    want: DRAW_THINGS_META,
  },
  {
    name: "a photo editor's XMP in a JPEG, without UserComment, is not metadata",
    bytes: jpegWithXmp(
      '<x:xmpmeta><rdf:RDF><rdf:Description xmp:CreatorTool="Photoshop"/></rdf:RDF></x:xmpmeta>',
    ),
    file: 'photo.jpg',
    want: { source: 'none' },
  },
  {
    name: 'XMP in a PNG without Draw Things JSON stays raw and says where it was',
    bytes: png(iTXt('XML:com.adobe.xmp', '<x:xmpmeta><rdf:RDF/></x:xmpmeta>'), IDAT),
    file: 'other.png',
    want: {
      source: 'unknown',
      raw: '<x:xmpmeta><rdf:RDF/></x:xmpmeta>',
      error: 'metadata in PNG iTXt "XML:com.adobe.xmp" is in no format this reader knows; kept as raw text',
    },
  },
  {
    name: 'InvokeAI 2.x sd-metadata',
    bytes: png(tEXt('sd-metadata', JSON.stringify(SD_METADATA)), IDAT),
    file: 'invoke.png',
    want: {
      source: 'invokeai',
      raw: JSON.stringify(SD_METADATA),
      prompt: 'a tabby cat on a windowsill',
      negativePrompt: 'blurry, lowres',
      seed: 3646467,
      steps: 50,
      cfg: 7.5,
      sampler: 'k_lms',
      model: 'stable-diffusion-1.5',
      modelHash: 'cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516',
      width: 768,
      height: 512,
    },
  },
  {
    name: 'InvokeAI 2.0 sd-metadata: model_weights, and a blend of weighted prompts',
    bytes: png(
      tEXt(
        'sd-metadata',
        JSON.stringify({
          model_weights: 'stable-diffusion-1.4',
          image: {
            prompt: [
              { prompt: 'a fox', weight: 0.7 },
              { prompt: 'a wolf', weight: 0.3 },
            ],
            seed: 42,
            sampler: 'k_euler_a',
          },
        }),
      ),
      IDAT,
    ),
    file: 'invoke20.png',
    want: {
      source: 'invokeai',
      raw: '{"model_weights":"stable-diffusion-1.4","image":{"prompt":[{"prompt":"a fox","weight":0.7},{"prompt":"a wolf","weight":0.3}],"seed":42,"sampler":"k_euler_a"}}',
      prompt: 'a fox:0.7 a wolf:0.3',
      seed: 42,
      sampler: 'k_euler_a',
      model: 'stable-diffusion-1.4',
    },
  },
  {
    name: 'InvokeAI Dream alone',
    bytes: png(tEXt('Dream', DREAM), IDAT),
    file: 'dream.png',
    want: {
      source: 'invokeai',
      raw: DREAM,
      prompt: 'a tabby cat on a windowsill',
      negativePrompt: 'blurry, lowres',
      steps: 50,
      seed: 3646467,
      width: 768,
      height: 512,
      cfg: 7.5,
      sampler: 'k_lms',
      params: { '-s': '50', '-S': '3646467', '-W': '768', '-H': '512', '-C': '7.5', '-A': 'k_lms' },
    },
  },
];

describe('extractMetadata: Draw Things and InvokeAI 2.x', () => {
  it.each(cases)('$name', async ({ bytes, file, want }) => {
    expect(await extractFromSource(bufferSource(bytes), file)).toStrictEqual(want);
  });

  it('reads InvokeAI 2.x sd-metadata rather than the Dream line written before it', async () => {
    const bytes = png(tEXt('Dream', DREAM), tEXt('sd-metadata', JSON.stringify(SD_METADATA)), IDAT);
    expect(await extractFromSource(bufferSource(bytes), 'both.png')).toMatchObject({
      source: 'invokeai',
      raw: JSON.stringify(SD_METADATA),
      model: 'stable-diffusion-1.5',
    });
  });
});

describe('xmpUserComment', () => {
  it.each([
    [
      'an rdf:Alt item',
      '<exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{"c":"a &amp; b"}</rdf:li></rdf:Alt></exif:UserComment>',
      '{"c":"a & b"}',
    ],
    ['plain element text', '<exif:UserComment> {"c":"x"} </exif:UserComment>', '{"c":"x"}'],
    ['CDATA', '<exif:UserComment><![CDATA[{"c":"<b>"}]]></exif:UserComment>', '{"c":"<b>"}'],
    [
      'an attribute',
      '<rdf:Description exif:UserComment="{&quot;c&quot;:&quot;&#x263A;&#9733;&quot;}"/>',
      '{"c":"☺★"}',
    ],
    ['none', '<rdf:Description xmp:CreatorTool="Draw Things"/>', undefined],
  ])('%s', (_name, xmp, want) => {
    expect(xmpUserComment(xmp)).toBe(want);
  });
});

describe('InvokeAI 2.x prompts', () => {
  it.each([
    ['no brackets', 'a cat', { prompt: 'a cat' }],
    ['one bracketed negative', 'a cat [dog]', { prompt: 'a cat', negative: 'dog' }],
    ['two, mid-text', 'a [dog] cat, [blurry] sitting', { prompt: 'a cat, sitting', negative: 'dog, blurry' }],
    ['empty brackets', 'a cat []', { prompt: 'a cat' }],
  ])('splitBracketedNegative: %s', (_name, text, want) => {
    expect(splitBracketedNegative(text)).toStrictEqual(want);
  });

  it('reads long options, = forms, escaped quotes and flags without values', () => {
    expect(
      readDream('"say \\"cheese\\"" --steps=30 --seed 7 --cfg_scale 6 --sampler=ddim -F --width 640 -f 0.75'),
    ).toStrictEqual({
      source: 'invokeai',
      raw: '"say \\"cheese\\"" --steps=30 --seed 7 --cfg_scale 6 --sampler=ddim -F --width 640 -f 0.75',
      prompt: 'say "cheese"',
      steps: 30,
      seed: 7,
      cfg: 6,
      sampler: 'ddim',
      width: 640,
      params: {
        '--steps': '30',
        '--seed': '7',
        '--cfg_scale': '6',
        '--sampler': 'ddim',
        '-F': '',
        '--width': '640',
        '-f': '0.75',
      },
    });
  });

  it('does not read a Dream without a quoted prompt', () => {
    expect(readDream('a cat -s 50')).toBeNull();
  });
});
