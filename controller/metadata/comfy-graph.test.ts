// Unit tests for reading ComfyUI API graphs: loaders behind LoRAs, custom samplers, combiners, odd graphs.
import { describe, expect, it } from 'vitest';
import { summarizeComfyPrompt } from './comfy-graph.js';
import type { SamplerSummary } from '../../common/generation-metadata.js';
import { type ExactJson, parseJsonExact } from './json-exact.js';

type Inputs = Record<string, ExactJson>;
const node = (classType: string, inputs: Inputs) => ({ class_type: classType, inputs });

const loraChain = {
  '1': node('CheckpointLoaderSimple', { ckpt_name: 'sdxl_base.safetensors' }),
  '2': node('LoraLoader', {
    lora_name: 'detail.safetensors',
    strength_model: 0.7,
    strength_clip: 1,
    model: ['1', 0],
    clip: ['1', 1],
  }),
  '3': node('LoraLoaderModelOnly', { lora_name: 'style.safetensors', strength_model: 1.2, model: ['2', 0] }),
  '4': node('ModelSamplingDiscrete', { sampling: 'eps', zsnr: false, model: ['3', 0] }),
  '5': node('CLIPTextEncodeSDXL', {
    text_g: 'a castle',
    text_l: 'a castle',
    width: 1024,
    height: 1024,
    clip: ['2', 1],
  }),
  '6': node('CLIPTextEncode', { text: ['11', 0], clip: ['2', 1] }),
  '7': node('EmptyLatentImage', { width: 832, height: 1216, batch_size: 1 }),
  '8': node('KSampler', {
    seed: ['10', 0],
    steps: 25,
    cfg: 6,
    sampler_name: 'euler',
    scheduler: 'karras',
    denoise: 1,
    model: ['4', 0],
    positive: ['5', 0],
    negative: ['6', 0],
    latent_image: ['7', 0],
  }),
  '10': node('Seed (rgthree)', { seed: 987654321 }),
  '11': node('String Literal', { string: 'ugly' }),
};

const customAdvanced = {
  '1': node('UNETLoader', { unet_name: 'flux1-dev.safetensors', weight_dtype: 'default' }),
  '2': node('CLIPTextEncodeFlux', {
    clip_l: 'a fox',
    t5xxl: 'a red fox in snow',
    guidance: 3.5,
    clip: ['9', 0],
  }),
  '3': node('FluxGuidance', { guidance: 3.5, conditioning: ['2', 0] }),
  '4': node('BasicGuider', { model: ['1', 0], conditioning: ['3', 0] }),
  '5': node('RandomNoise', { noise_seed: 18446744073709551614n }),
  '6': node('KSamplerSelect', { sampler_name: 'euler' }),
  '7': node('BasicScheduler', { scheduler: 'simple', steps: 28, denoise: 1, model: ['1', 0] }),
  '8': node('EmptySD3LatentImage', { width: 1024, height: 768, batch_size: 1 }),
  '9': node('DualCLIPLoader', {
    clip_name1: 't5xxl.safetensors',
    clip_name2: 'clip_l.safetensors',
    type: 'flux',
  }),
  '10': node('SamplerCustomAdvanced', {
    noise: ['5', 0],
    guider: ['4', 0],
    sampler: ['6', 0],
    sigmas: ['7', 0],
    latent_image: ['8', 0],
  }),
};

const controlNet = {
  '1': node('CheckpointLoader', { config_name: 'v1.yaml', ckpt_name: 'v1-5.ckpt' }),
  '2': node('CLIPTextEncode', { text: 'pos', clip: ['1', 1] }),
  '3': node('CLIPTextEncode', { text: 'neg', clip: ['1', 1] }),
  '4': node('ControlNetApplyAdvanced', {
    strength: 1,
    positive: ['2', 0],
    negative: ['3', 0],
    control_net: ['6', 0],
    image: ['7', 0],
  }),
  '5': node('KSampler', {
    seed: 1,
    steps: 2,
    cfg: 3,
    sampler_name: 's',
    scheduler: 'n',
    denoise: 1,
    model: ['1', 0],
    positive: ['4', 0],
    negative: ['4', 1],
    latent_image: ['8', 0],
  }),
  '6': node('ControlNetLoader', { control_net_name: 'canny.pth' }),
  '7': node('LoadImage', { image: 'edges.png' }),
  '8': node('VAEEncode', { pixels: ['7', 0], vae: ['1', 2] }),
  '9': node('ConditioningZeroOut', { conditioning: ['2', 0] }),
  '10': node('KSampler', {
    seed: 5,
    steps: 2,
    cfg: 1,
    sampler_name: 's',
    scheduler: 'n',
    denoise: 0.5,
    model: ['1', 0],
    positive: ['2', 0],
    negative: ['9', 0],
    latent_image: ['5', 0],
  }),
};

const cases: { name: string; graph: ExactJson; want: SamplerSummary[] }[] = [
  {
    name: 'model through LoRA loaders and a patch; seed and text from linked value nodes; SDXL encoder',
    graph: loraChain,
    want: [
      {
        nodeId: '8',
        classType: 'KSampler',
        seed: 987654321,
        steps: 25,
        cfg: 6,
        sampler: 'euler',
        scheduler: 'karras',
        denoise: 1,
        model: 'sdxl_base.safetensors',
        loras: [
          { name: 'detail.safetensors', strength: 0.7 },
          { name: 'style.safetensors', strength: 1.2 },
        ],
        prompt: 'a castle',
        negativePrompt: 'ugly',
        width: 832,
        height: 1216,
      },
    ],
  },
  {
    name: 'SamplerCustomAdvanced: noise, guider, sampler and sigmas nodes; UNet loader; Flux encoder; seed past 2^53',
    graph: customAdvanced,
    want: [
      {
        nodeId: '10',
        classType: 'SamplerCustomAdvanced',
        seed: '18446744073709551614',
        steps: 28,
        sampler: 'euler',
        scheduler: 'simple',
        denoise: 1,
        model: 'flux1-dev.safetensors',
        prompt: 'a fox\na red fox in snow',
        width: 1024,
        height: 768,
      },
    ],
  },
  {
    name: 'ControlNet apply is followed by output index; ConditioningZeroOut has no text; order by samplers upstream',
    graph: controlNet,
    want: [
      {
        nodeId: '5',
        classType: 'KSampler',
        seed: 1,
        steps: 2,
        cfg: 3,
        sampler: 's',
        scheduler: 'n',
        denoise: 1,
        model: 'v1-5.ckpt',
        prompt: 'pos',
        negativePrompt: 'neg',
      },
      {
        nodeId: '10',
        classType: 'KSampler',
        seed: 5,
        steps: 2,
        cfg: 1,
        sampler: 's',
        scheduler: 'n',
        denoise: 0.5,
        model: 'v1-5.ckpt',
        prompt: 'pos',
      },
    ],
  },
  {
    name: 'a cycle and dangling links end quietly',
    graph: {
      '1': node('LoraLoader', { lora_name: 'a', model: ['2', 0] }),
      '2': node('LoraLoader', { lora_name: 'b', model: ['1', 0] }),
      '3': node('ConditioningCombine', { conditioning_1: ['3', 0], conditioning_2: ['99', 0] }),
      '4': node('KSampler', {
        seed: 'oops',
        steps: 1,
        model: ['1', 0],
        positive: ['3', 0],
        negative: ['98', 0],
        latent_image: ['4', 0],
      }),
    },
    want: [
      {
        nodeId: '4',
        classType: 'KSampler',
        steps: 1,
        loras: [{ name: 'b' }, { name: 'a' }],
      },
    ],
  },
  {
    // Impact Pack: the encoder's `populated_text` is what was encoded; rgthree's Power Lora Loader
    // holds LoRAs as `lora_N` objects (switched-off ones are skipped); core StringConcatenate
    // joins a primitive and a literal for the negative prompt.
    name: 'ImpactWildcardEncode, rgthree Power Lora Loader and StringConcatenate',
    graph: {
      '1': node('CheckpointLoaderSimple', { ckpt_name: 'pony.safetensors' }),
      '2': node('Power Lora Loader (rgthree)', {
        PowerLoraLoaderHeaderWidget: { type: 'PowerLoraLoaderHeaderWidget' },
        lora_1: { on: true, lora: 'eyes.safetensors', strength: 0.8, strengthTwo: null },
        lora_2: { on: false, lora: 'off.safetensors', strength: 1 },
        lora_3: { on: true, lora: 'hands.safetensors', strength: 1.1 },
        '➕ Add Lora': '',
        model: ['1', 0],
        clip: ['1', 1],
      }),
      '3': node('ImpactWildcardEncode', {
        wildcard_text: '__animals__ in a {red|blue} hat',
        populated_text: 'a fox in a blue hat',
        mode: 'fixed',
        'Select to add LoRA': 'Select the LoRA to add to the text',
        'Select to add Wildcard': 'Select the Wildcard to add to the text',
        seed: 5,
        model: ['2', 0],
        clip: ['2', 1],
      }),
      '4': node('PrimitiveString', { value: 'lowres' }),
      '5': node('StringConcatenate', { string_a: ['4', 0], string_b: 'bad hands', delimiter: ', ' }),
      '6': node('CLIPTextEncode', { text: ['5', 0], clip: ['2', 1] }),
      '7': node('EmptyLatentImage', { width: 1024, height: 1024, batch_size: 1 }),
      '8': node('KSampler', {
        seed: 77,
        steps: 28,
        cfg: 5,
        sampler_name: 'dpmpp_2m',
        scheduler: 'karras',
        denoise: 1,
        model: ['3', 0],
        positive: ['3', 2],
        negative: ['6', 0],
        latent_image: ['7', 0],
      }),
    },
    want: [
      {
        nodeId: '8',
        classType: 'KSampler',
        seed: 77,
        steps: 28,
        cfg: 5,
        sampler: 'dpmpp_2m',
        scheduler: 'karras',
        denoise: 1,
        model: 'pony.safetensors',
        loras: [
          { name: 'eyes.safetensors', strength: 0.8 },
          { name: 'hands.safetensors', strength: 1.1 },
        ],
        prompt: 'a fox in a blue hat',
        negativePrompt: 'lowres, bad hands',
        width: 1024,
        height: 1024,
      },
    ],
  },
  {
    name: 'KSamplerSelect alone is not a sampler; nodes without class_type are skipped',
    graph: { '1': node('KSamplerSelect', { sampler_name: 'euler' }), '2': { inputs: {} }, '3': 'junk' },
    want: [],
  },
];

describe('summarizeComfyPrompt', () => {
  it.each(cases)('$name', ({ graph, want }) => {
    expect(summarizeComfyPrompt(graph)).toStrictEqual({ samplers: want, problems: [] });
  });

  it.each([[null], [[1, 2]], ['text'], [{ a: 1 }]])('reports %j as not an API graph', (graph) => {
    expect(summarizeComfyPrompt(graph as ExactJson)).toStrictEqual({
      samplers: [],
      problems: ['ComfyUI prompt is not an API graph (node id → {inputs, class_type})'],
    });
  });

  it('reads exact seeds out of JSON text via parseJsonExact', () => {
    const text =
      '{"3": {"class_type": "KSampler", "inputs": {"seed": 1125899906842624123, "model": ["4", 0]}}}';
    expect(summarizeComfyPrompt(parseJsonExact(text)).samplers[0]?.seed).toBe('1125899906842624123');
  });
});
