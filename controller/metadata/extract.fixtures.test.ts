// extractMetadata over every real sample in test/fixtures/sd-parsers, with exact expected values.
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { extractMetadata, readStoredFile } from './extract.js';
import type { GenerationMetadata } from '../../common/generation-metadata.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/sd-parsers/', import.meta.url));

const DUCK_INFOTEXT =
  'photo of a duck\nNegative prompt: monochrome\nSteps: 15, Sampler: UniPC, CFG scale: 5, Seed: 235284042, ' +
  'Size: 512x400, Model hash: c0d1994c73, Model: realistic_realisticVisionV20_v20';
const DUCK: GenerationMetadata = {
  source: 'a1111',
  raw: DUCK_INFOTEXT,
  prompt: 'photo of a duck',
  negativePrompt: 'monochrome',
  steps: 15,
  sampler: 'UniPC',
  cfg: 5,
  seed: 235284042,
  width: 512,
  height: 400,
  modelHash: 'c0d1994c73',
  model: 'realistic_realisticVisionV20_v20',
  params: {
    Steps: '15',
    Sampler: 'UniPC',
    'CFG scale': '5',
    Seed: '235284042',
    Size: '512x400',
    'Model hash': 'c0d1994c73',
    Model: 'realistic_realisticVisionV20_v20',
  },
};

/** The infotext hidden in automatic1111_stealth.png's alpha channel, gzipped (`stealth_pngcomp`). */
const STEALTH_INFOTEXT =
  'a circle\nNegative prompt: a square\nSteps: 20, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, ' +
  'Seed: 2015833630, Size: 64x64, Model hash: 15012c538f, Model: realisticVisionV51_v51VAE, Clip skip: 2, ' +
  'Version: v1.9.4-169-ga30b19dd';
const STEALTH: GenerationMetadata = {
  source: 'a1111',
  raw: STEALTH_INFOTEXT,
  prompt: 'a circle',
  negativePrompt: 'a square',
  seed: 2015833630,
  steps: 20,
  cfg: 7,
  sampler: 'Euler',
  scheduler: 'Automatic',
  model: 'realisticVisionV51_v51VAE',
  modelHash: '15012c538f',
  width: 64,
  height: 64,
  params: {
    Steps: '20',
    Sampler: 'Euler',
    'Schedule type': 'Automatic',
    'CFG scale': '7',
    Seed: '2015833630',
    Size: '64x64',
    'Model hash': '15012c538f',
    Model: 'realisticVisionV51_v51VAE',
    'Clip skip': '2',
    Version: 'v1.9.4-169-ga30b19dd',
  },
};

const HANDS_NEGATIVE =
  '(hands), text, error, cropped, (worst quality:1.2), (low quality:1.2), normal quality, (jpeg artifacts:1.3), ' +
  'signature, watermark, username, blurry, artist name, monochrome, sketch, censorship, censor, (copyright:1.2), ' +
  'extra legs, (forehead mark) (depth of field) (emotionless) (penis) (pumpkin)';

/** Whole results for the files whose metadata is small enough to state in full. */
const exact: Record<string, GenerationMetadata> = {
  'AUTOMATIC1111/automatic1111_cropped.png': DUCK,
  'AUTOMATIC1111/automatic1111_cropped.jpg': DUCK,
  'AUTOMATIC1111/automatic1111_stealth.png': STEALTH,
  'bad_images/empty_file.png': { source: 'none' },
  'bad_images/empty_image.png': { source: 'none' },
  'bad_images/empty_image.jpg': { source: 'none' },
  'bad_images/text_after_idat.png': DUCK,
};

interface ComfyCase {
  /** Top-level fields: those of the first sampler. */
  top: Partial<GenerationMetadata>;
  /** Sampler node ids in generation order, with each one's seed. */
  samplers: [string, number][];
  promptNodes: number;
  workflowNodes: number;
  /** Spot checks on later samplers. */
  later?: Record<string, Partial<GenerationMetadata>>;
}

const comfy: Record<string, ComfyCase> = {
  'ComfyUI/img2img_cropped.png': {
    top: {
      prompt: 'photograph of victorian woman with wings, sky clouds, meadow grass\n',
      negativePrompt: 'watermark, text\n',
      seed: 280823642470253,
      steps: 20,
      cfg: 8,
      sampler: 'sample_dpmpp_2m',
      scheduler: 'normal',
      model: 'v1-5-pruned-emaonly.ckpt',
    },
    samplers: [['3', 280823642470253]],
    promptNodes: 8,
    workflowNodes: 8,
  },
  'ComfyUI/night_evening_day_morning_cropped.png': {
    top: {
      // five area-conditioned encoders behind ConditioningCombine/SetArea, in input order
      prompt:
        '(best quality) (night:1.3) (darkness) sky (black) (stars:1.2) (galaxy:1.2) (space) (universe)\n' +
        '(best quality) (evening:1.2) (sky:1.2) (clouds) (colorful) (HDR:1.2) (sunset:1.3)\n\n' +
        '(best quality) (daytime:1.2) sky (blue)\n\n' +
        '(masterpiece) (best quality) morning sky\n\n\n' +
        '(masterpiece) (best quality) beautiful landscape breathtaking amazing view nature photograph forest ' +
        'mountains ocean (sky) national park scenery',
      negativePrompt: HANDS_NEGATIVE,
      seed: 335608130539327,
      steps: 13,
      cfg: 8.5,
      sampler: 'dpmpp_sde',
      scheduler: 'normal',
      model: 'Anything-V3.0.ckpt',
      width: 704,
      height: 1280,
    },
    samplers: [
      ['3', 335608130539327],
      ['24', 1122440447966177],
    ],
    promptNodes: 29,
    workflowNodes: 29,
    later: {
      '24': {
        prompt:
          '(best quality) beautiful (HDR:1.2) (realistic:1.2) landscape breathtaking amazing view nature scenery ' +
          'photograph forest mountains ocean daytime night evening morning, (sky:1.2)\n',
        steps: 14,
        cfg: 7,
        sampler: 'dpmpp_2m',
        scheduler: 'simple',
        model: 'AbyssOrangeMix2_hard.safetensors',
        width: 1088,
        height: 1920,
      },
    },
  },
  'ComfyUI/noisy_latents_3_subjects_cropped.png': {
    top: {
      prompt:
        '(solo) girl (flat chest:0.9), (fennec ears:1.0)\u00a0 (fox ears:1.0), long hair, (black hair), (messy hair), ' +
        '(red highlights), hair over one eye, red eyes, sharp eyes, choker, (hoodie), open jacket, running ' +
        '(school uniform)\nsky clouds nature national park beautiful winter snow scenery HDR landscape',
      negativePrompt: HANDS_NEGATIVE,
      seed: 890421140397575,
      steps: 16,
      cfg: 7,
      sampler: 'sample_dpmpp_sde',
      scheduler: 'normal',
      model: 'Anything-V3.0.ckpt',
      width: 256,
      height: 512,
    },
    // four first-pass KSamplerAdvanced, then the one over their composite, then the upscale pass
    samplers: [
      ['57', 890421140397575],
      ['60', 512136241112371],
      ['64', 474977904562281],
      ['73', 200072334202574],
      ['58', 0],
      ['24', 1084614416978598],
    ],
    promptNodes: 27,
    workflowNodes: 27,
    later: {
      '58': { steps: 16, cfg: 6.5, sampler: 'uni_pc', width: 1280, height: 704 },
      '24': {
        steps: 9,
        cfg: 5.5,
        sampler: 'sample_dpmpp_sde',
        scheduler: 'simple',
        width: 1920,
        height: 1088,
      },
    },
  },
  'ComfyUI/unclip_2pass_cropped.png': {
    top: {
      prompt:
        '\n(waifu, anime, exceptional, best aesthetic, new, newest, best quality, masterpiece, extremely detailed:1.2)\n',
      negativePrompt:
        'lowres, (bad anatomy), (bad hands), text, missing finger, extra digits, fewer digits, blurry, (mutated ' +
        'hands and fingers), (poorly drawn face), (mutation), (deformed face), (ugly), ((bad proportions)), (extra ' +
        'limbs), extra face, (double head), (extra head), (extra feet), monster, logo, cropped, worst quality, jpeg, ' +
        'humpbacked, long body, long neck, (jpeg artifacts), deleted, old, oldest, (censored), (bad aesthetic), ' +
        '(mosaic censoring, bar censor, blur censor)',
      seed: 1106257833005336,
      steps: 26,
      cfg: 8,
      sampler: 'uni_pc_bh2',
      scheduler: 'normal',
      model: 'wd-1-5-beta2-aesthetic-unclip-h-fp32.safetensors',
      width: 1280,
      height: 704,
    },
    samplers: [
      ['3', 1106257833005336],
      ['41', 119080905858220],
    ],
    promptNodes: 21,
    workflowNodes: 21,
    later: {
      '41': {
        prompt: 'beautiful scenery landscape outdoors mountains',
        negativePrompt:
          '(hands), text, error, cropped, (jpeg artifacts:1.3), signature, watermark, username, blurry, artist name, ' +
          'monochrome, sketch, censorship, censor, (copyright:1.2), extra legs, (forehead mark)  (penis)',
        steps: 8,
        cfg: 9,
        sampler: 'dpmpp_sde',
        model: 'cardosAnimated_v20.safetensors',
      },
    },
  },
};

async function listSamples(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name !== 'LICENSE.txt')
    .map((entry) => relative(FIXTURES, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .sort();
}

describe('extractMetadata on the sd-parsers samples', () => {
  it('has an expectation for every sample file', async () => {
    expect(await listSamples(FIXTURES)).toStrictEqual([...Object.keys(exact), ...Object.keys(comfy)].sort());
  });

  it.each(Object.entries(exact))('%s', async (file, want) => {
    expect(await extractMetadata(join(FIXTURES, file))).toStrictEqual(want);
  });

  it("reads each sample's kind, and the pixel size libvips decodes", async () => {
    for (const file of await listSamples(FIXTURES)) {
      const { media } = await readStoredFile(join(FIXTURES, file));
      if (file === 'bad_images/empty_file.png') {
        expect(media).toStrictEqual({ kind: 'other' });
        continue;
      }
      const { width, height } = await sharp(join(FIXTURES, file)).metadata();
      expect([file, media]).toStrictEqual([file, { kind: 'image', width, height }]);
    }
  });

  it.each(Object.entries(comfy))('%s', async (file, want) => {
    const got = await extractMetadata(join(FIXTURES, file));
    const { comfyPrompt, comfyWorkflow, samplers, ...rest } = got;
    expect(rest).toStrictEqual({ source: 'comfyui', ...want.top });
    expect(samplers?.map((s) => [s.nodeId, s.seed])).toStrictEqual(want.samplers);
    expect(samplers?.[0]).toMatchObject({ nodeId: want.samplers[0]![0], ...want.top });
    for (const [nodeId, fields] of Object.entries(want.later ?? {})) {
      expect(samplers?.find((s) => s.nodeId === nodeId)).toMatchObject(fields);
    }
    expect(Object.keys(comfyPrompt as object)).toHaveLength(want.promptNodes);
    const first = (comfyPrompt as Record<string, { class_type: string }>)[want.samplers[0]![0]];
    expect(first?.class_type).toMatch(/^KSampler/);
    expect((comfyWorkflow as { nodes: unknown[] }).nodes).toHaveLength(want.workflowNodes);
  });
});
