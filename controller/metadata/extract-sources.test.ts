// extractMetadata on the sources issue 12 added: ComfyUI and Civitai JSON in UserComment, every UserComment charset, PNG eXIf, raw unknown metadata.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractMetadata } from './extract.js';
import type { GenerationMetadata } from '../../common/generation-metadata.js';
import {
  IDAT,
  jpeg,
  png,
  pngChunk,
  tEXt,
  tiff,
  userComment,
  webp,
  riffChunk,
} from '../../test/fixtures/media-builders.js';

const INFOTEXT =
  'a castle at dusk\nNegative prompt: blurry\nSteps: 30, Sampler: DPM++ 2M, CFG scale: 6, Seed: 970527942, Size: 832x1216';
const A1111: GenerationMetadata = {
  source: 'a1111',
  raw: INFOTEXT,
  prompt: 'a castle at dusk',
  negativePrompt: 'blurry',
  steps: 30,
  sampler: 'DPM++ 2M',
  cfg: 6,
  seed: 970527942,
  width: 832,
  height: 1216,
  params: { Steps: '30', Sampler: 'DPM++ 2M', 'CFG scale': '6', Seed: '970527942', Size: '832x1216' },
};

/** A ComfyUI API graph with a LoRA between the checkpoint and the sampler. */
const GRAPH = {
  '3': {
    class_type: 'KSampler',
    inputs: {
      seed: 42,
      steps: 20,
      cfg: 7,
      sampler_name: 'euler',
      scheduler: 'karras',
      denoise: 1,
      model: ['10', 0],
      positive: ['6', 0],
      negative: ['7', 0],
      latent_image: ['5', 0],
    },
  },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'juggernaut.safetensors' } },
  '10': {
    class_type: 'LoraLoader',
    inputs: {
      lora_name: 'detail.safetensors',
      strength_model: 0.6,
      strength_clip: 1,
      model: ['4', 0],
      clip: ['4', 1],
    },
  },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 768, height: 768, batch_size: 1 } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a red bicycle', clip: ['10', 1] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'rain', clip: ['10', 1] } },
};
const SAMPLER = {
  nodeId: '3',
  classType: 'KSampler',
  seed: 42,
  steps: 20,
  cfg: 7,
  sampler: 'euler',
  scheduler: 'karras',
  denoise: 1,
  model: 'juggernaut.safetensors',
  loras: [{ name: 'detail.safetensors', strength: 0.6 }],
  prompt: 'a red bicycle',
  negativePrompt: 'rain',
  width: 768,
  height: 768,
};
const { nodeId: _n, classType: _c, denoise: _d, ...TOP } = SAMPLER;
const WORKFLOW = { last_node_id: 10, nodes: [] };
const COMFY: GenerationMetadata = {
  source: 'comfyui',
  ...TOP,
  samplers: [SAMPLER],
  comfyPrompt: GRAPH,
  comfyWorkflow: WORKFLOW,
};

/**
 * Civitai's generator JSON, in the shape its JPEG downloads carry in UserComment: graph nodes at
 * the top level (a `resource-stack` loader among them) and `extraMetadata` as a JSON string.
 */
const CIVITAI_EXTRA = {
  prompt: 'portrait of a knight, 1girl',
  negativePrompt: 'lowres',
  steps: 25,
  cfgScale: 4.5,
  sampler: 'Euler a',
  seed: 1839204822,
  workflowId: 'txt2img',
  resources: [{ type: 'lora', modelName: 'armor', modelVersionId: 135867, weight: 0.8 }],
};
const CIVITAI = {
  'resource-stack': {
    class_type: 'CheckpointLoaderSimple',
    inputs: { ckpt_name: 'urn:air:sdxl:checkpoint:civitai:101055@128078' },
  },
  '6': {
    class_type: 'CLIPTextEncode',
    inputs: { text: 'portrait of a knight, 1girl', clip: ['resource-stack', 1] },
  },
  extra: { airs: ['urn:air:sdxl:checkpoint:civitai:101055@128078'] },
  extraMetadata: JSON.stringify(CIVITAI_EXTRA),
};

const RESOURCES =
  '[{"type":"checkpoint","modelVersionId":290640,"modelName":"Pony Diffusion V6 XL","modelVersionName":"V6"},' +
  '{"type":"lora","weight":0.7,"modelVersionId":135867,"modelName":"detail","modelVersionName":"v1.0"}]';
const CIVITAI_INFOTEXT = `${INFOTEXT}, Civitai resources: ${RESOURCES}`;

const UNKNOWN_REASON = (where: string) =>
  `metadata in ${where} is in no format this reader knows; kept as raw text`;

const cases: { name: string; file: string; bytes: Buffer; want: GenerationMetadata }[] = [
  {
    name: 'UserComment infotext with no charset prefix',
    file: 'raw.jpg',
    bytes: jpeg(tiff({ le: true, exif: [userComment(INFOTEXT, 'raw')] })),
    want: A1111,
  },
  {
    name: 'UserComment infotext with an undefined (8 NUL) charset prefix',
    file: 'nul.jpg',
    bytes: jpeg(tiff({ le: false, exif: [userComment(INFOTEXT, 'undefined')] })),
    want: A1111,
  },
  {
    name: 'UserComment UNICODE little-endian in a big-endian TIFF',
    file: 'le.jpg',
    bytes: jpeg(tiff({ le: false, exif: [userComment(INFOTEXT, 'utf16le')] })),
    want: A1111,
  },
  {
    name: 'UserComment UNICODE big-endian in a little-endian TIFF (WebP)',
    file: 'be.webp',
    bytes: webp(riffChunk('EXIF', tiff({ le: true, exif: [userComment(INFOTEXT, 'utf16be')] }))),
    want: A1111,
  },
  {
    name: 'ComfyUI JPEG: {"prompt","workflow"} JSON in IFD0 UserComment, no prefix',
    file: 'ComfyUI_00001_.jpg',
    bytes: jpeg(
      tiff({ le: true, ifd0: [userComment(JSON.stringify({ prompt: GRAPH, workflow: WORKFLOW }), 'raw')] }),
    ),
    want: COMFY,
  },
  {
    name: 'Civitai ComfyUI JSON with extraMetadata in a JPEG',
    file: 'civitai.jpeg',
    bytes: jpeg(tiff({ le: false, exif: [userComment(JSON.stringify(CIVITAI), 'utf16be')] })),
    want: {
      source: 'civitai',
      prompt: 'portrait of a knight, 1girl',
      negativePrompt: 'lowres',
      steps: 25,
      cfg: 4.5,
      sampler: 'Euler a',
      seed: 1839204822,
      loras: [{ name: 'armor', strength: 0.8, civitaiVersionId: 135867 }],
      civitaiResources: [{ type: 'lora', modelName: 'armor', modelVersionId: 135867, weight: 0.8 }],
      comfyPrompt: CIVITAI,
    },
  },
  {
    name: 'infotext with a Civitai resources list: version ids kept',
    file: 'civitai.png',
    bytes: png(tEXt('parameters', CIVITAI_INFOTEXT), IDAT),
    want: {
      ...A1111,
      raw: CIVITAI_INFOTEXT,
      params: { ...A1111.params, 'Civitai resources': '[{"type":"checkpoint"' },
      loras: [{ name: 'detail', civitaiVersionId: 135867, strength: 0.7 }],
      civitaiResources: [
        {
          type: 'checkpoint',
          modelVersionId: 290640,
          modelName: 'Pony Diffusion V6 XL',
          modelVersionName: 'V6',
        },
        { type: 'lora', modelVersionId: 135867, modelName: 'detail', modelVersionName: 'v1.0', weight: 0.7 },
      ],
    },
  },
  {
    name: 'PNG eXIf chunk with infotext in UserComment (kohya samples)',
    file: 'kohya.png',
    bytes: png(pngChunk('eXIf', tiff({ le: true, exif: [userComment(INFOTEXT, 'utf16le')] })), IDAT),
    want: A1111,
  },
  {
    name: 'PNG text chunk of no known format: kept raw with the reason',
    file: 'other-tool.png',
    bytes: png(
      tEXt('Software', 'GIMP'),
      tEXt('generation_data', 'mystery tool: sunset_over_water seed=7'),
      IDAT,
    ),
    want: {
      source: 'unknown',
      raw: 'mystery tool: sunset_over_water seed=7',
      error: UNKNOWN_REASON('PNG tEXt "generation_data"'),
    },
  },
  {
    name: 'UserComment JSON that is neither ComfyUI nor Civitai: kept raw',
    file: 'json.jpg',
    bytes: jpeg(tiff({ le: true, exif: [userComment('{"app":"x","p":"violet hills"}', 'ascii')] })),
    want: {
      source: 'unknown',
      raw: '{"app":"x","p":"violet hills"}',
      error: UNKNOWN_REASON('EXIF UserComment'),
    },
  },
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metadata-sources-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('extractMetadata: issue 12 sources', () => {
  it.each(cases)('$name', async ({ file, bytes, want }) => {
    const path = join(dir, file);
    await writeFile(path, bytes);
    expect(await extractMetadata(path)).toStrictEqual(want);
  });
});

/** Samples in the shapes these tools write (built from their documented keys; values are ours). */
const SWARM = {
  sui_image_params: {
    prompt: 'a koi pond',
    negativeprompt: 'murky',
    model: 'OfficialStableDiffusion/sd_xl_base_1.0',
    seed: 1234567,
    steps: 30,
    cfgscale: 7.5,
    width: 1024,
    height: 1024,
    sampler: 'euler',
    scheduler: 'normal',
    loras: ['koi_style'],
    loraweights: ['0.6'],
  },
  sui_extra_data: { date: '2026-12-01' },
};
const FOOOCUS = {
  prompt: 'an alpine hut',
  negative_prompt: 'people',
  styles: "['Fooocus V2']",
  performance: 'Speed',
  steps: 30,
  resolution: '(1152, 896)',
  guidance_scale: 4,
  sampler: 'dpmpp_2m_sde_gpu',
  scheduler: 'karras',
  base_model: 'juggernautXL_v8Rundiffusion',
  loras: [['sd_xl_offset_example-lora_1.0.safetensors', 0.1]],
  seed: '8811223344',
  metadata_scheme: 'fooocus',
  version: 'Fooocus v2.5.5',
};
const INVOKE = {
  generation_mode: 'txt2img',
  positive_prompt: 'a paper lantern',
  negative_prompt: 'dark',
  width: 768,
  height: 512,
  seed: 99,
  steps: 25,
  cfg_scale: 6.5,
  scheduler: 'dpmpp_2m',
  model: { name: 'dreamshaper-8', base: 'sd-1', key: 'abc' },
  loras: [{ model: { name: 'paper_craft', base: 'sd-1' }, weight: 0.75 }],
};
const NOVELAI = {
  prompt: '1girl, lantern festival',
  steps: 28,
  height: 1216,
  width: 832,
  scale: 5,
  seed: 3301,
  sampler: 'k_euler_ancestral',
  noise_schedule: 'native',
  uc: 'lowres, bad anatomy',
};

const toolCases: { name: string; bytes: Buffer; want: GenerationMetadata }[] = [
  {
    name: 'SwarmUI sui_image_params in PNG parameters',
    bytes: png(tEXt('parameters', JSON.stringify(SWARM)), IDAT),
    want: {
      source: 'swarmui',
      raw: JSON.stringify(SWARM),
      prompt: 'a koi pond',
      negativePrompt: 'murky',
      seed: 1234567,
      steps: 30,
      cfg: 7.5,
      sampler: 'euler',
      scheduler: 'normal',
      model: 'OfficialStableDiffusion/sd_xl_base_1.0',
      width: 1024,
      height: 1024,
      loras: [{ name: 'koi_style', strength: 0.6 }],
    },
  },
  {
    name: 'SwarmUI sui_image_params in a JPEG UserComment',
    bytes: jpeg(tiff({ le: false, exif: [userComment(JSON.stringify(SWARM), 'utf16be')] })),
    want: {
      source: 'swarmui',
      raw: JSON.stringify(SWARM),
      prompt: 'a koi pond',
      negativePrompt: 'murky',
      seed: 1234567,
      steps: 30,
      cfg: 7.5,
      sampler: 'euler',
      scheduler: 'normal',
      model: 'OfficialStableDiffusion/sd_xl_base_1.0',
      width: 1024,
      height: 1024,
      loras: [{ name: 'koi_style', strength: 0.6 }],
    },
  },
  {
    name: 'Fooocus JSON parameters',
    bytes: png(tEXt('parameters', JSON.stringify(FOOOCUS)), tEXt('fooocus_scheme', 'fooocus'), IDAT),
    want: {
      source: 'fooocus',
      raw: JSON.stringify(FOOOCUS),
      prompt: 'an alpine hut',
      negativePrompt: 'people',
      seed: 8811223344,
      steps: 30,
      cfg: 4,
      sampler: 'dpmpp_2m_sde_gpu',
      scheduler: 'karras',
      model: 'juggernautXL_v8Rundiffusion',
      width: 1152,
      height: 896,
      loras: [{ name: 'sd_xl_offset_example-lora_1.0.safetensors', strength: 0.1 }],
    },
  },
  {
    name: 'InvokeAI invokeai_metadata',
    bytes: png(tEXt('invokeai_metadata', JSON.stringify(INVOKE)), IDAT),
    want: {
      source: 'invokeai',
      raw: JSON.stringify(INVOKE),
      prompt: 'a paper lantern',
      negativePrompt: 'dark',
      seed: 99,
      steps: 25,
      cfg: 6.5,
      scheduler: 'dpmpp_2m',
      model: 'dreamshaper-8',
      width: 768,
      height: 512,
      loras: [{ name: 'paper_craft', strength: 0.75 }],
    },
  },
  {
    name: 'NovelAI Comment JSON',
    bytes: png(
      tEXt('Title', 'NovelAI generated image'),
      tEXt('Description', '1girl, lantern festival'),
      tEXt('Software', 'NovelAI'),
      tEXt('Comment', JSON.stringify(NOVELAI)),
      IDAT,
    ),
    want: {
      source: 'novelai',
      raw: JSON.stringify(NOVELAI),
      prompt: '1girl, lantern festival',
      negativePrompt: 'lowres, bad anatomy',
      seed: 3301,
      steps: 28,
      cfg: 5,
      sampler: 'k_euler_ancestral',
      scheduler: 'native',
      width: 832,
      height: 1216,
    },
  },
];

describe('extractMetadata: tools that write JSON', () => {
  it.each(toolCases)('$name', async ({ name, bytes, want }) => {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.${bytes[0] === 0xff ? 'jpg' : 'png'}`);
    await writeFile(path, bytes);
    expect(await extractMetadata(path)).toStrictEqual(want);
  });
});
