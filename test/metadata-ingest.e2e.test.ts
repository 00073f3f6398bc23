// Issue 12 end to end: real agent and sync processes; unknown metadata kept raw and found, a JPEG named .png stored and flagged, Forge sidecars, LoRA/sampler search.
import { copyFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDAT, jpeg, png, tEXt, tiff, userComment } from './fixtures/media-builders.js';
import { fakePng } from './helpers/files.js';
import { type Started, runCli, startAgent, syncJson, tempDir } from './helpers/processes.js';

const SAMPLES = fileURLToPath(new URL('fixtures/sd-parsers/', import.meta.url));
const OLD = new Date(Date.now() - 3_600_000);

const COMFY_JPEG_GRAPH = {
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'ponyDiffusionV6XL.safetensors' } },
  '2': {
    class_type: 'Power Lora Loader (rgthree)',
    inputs: {
      lora_1: { on: true, lora: 'Pixel_Art_XL.safetensors', strength: 0.9 },
      model: ['1', 0],
      clip: ['1', 1],
    },
  },
  '3': {
    class_type: 'ImpactWildcardEncode',
    inputs: {
      wildcard_text: '__char__, smiling',
      populated_text: '1girl, red_scarf, smiling',
      model: ['2', 0],
      clip: ['2', 1],
    },
  },
  '4': { class_type: 'EmptyLatentImage', inputs: { width: 832, height: 1216, batch_size: 1 } },
  '5': {
    class_type: 'KSampler',
    inputs: {
      seed: 93806664037998,
      steps: 24,
      cfg: 6,
      sampler_name: 'dpmpp_2m_sde',
      scheduler: 'karras',
      denoise: 1,
      model: ['3', 0],
      positive: ['3', 2],
      negative: ['3', 2],
      latent_image: ['4', 0],
    },
  },
};

interface Hit {
  containerPath: string;
  storedPath: string;
  hostPath: string;
  metaSource: string | null;
  metaError: string | null;
  prompt: string | null;
  seed: string | null;
  model: string | null;
  sampler: string | null;
}

describe('issue 12: metadata end to end', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let agent: Started;

  async function place(rel: string, from: string | Buffer): Promise<void> {
    const path = join(out, rel);
    await mkdir(dirname(path), { recursive: true });
    if (typeof from === 'string') await copyFile(join(SAMPLES, from), path);
    else await writeFile(path, from);
    await utimes(path, OLD, OLD);
  }

  async function search(...args: string[]): Promise<Hit[]> {
    const result = await runCli(['search', ...args, '--dest', dest, '--json']);
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { items: Hit[] }).items;
  }

  beforeAll(async () => {
    work = await tempDir();
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    // A real A1111 JPEG (sd-parsers sample) saved under a .png name, as Civitai downloads often are.
    await place('downloads/civitai_123.png', 'AUTOMATIC1111/automatic1111_cropped.jpg');
    await place('other/mystery.png', png(tEXt('generation_data', 'Zorblax v3: teal_lagoon at noon'), IDAT));
    await place('txt2img-images/2026-12-01/00000-42.png', fakePng(128));
    await place(
      'txt2img-images/2026-12-01/00000-42.txt',
      Buffer.from(
        'a lighthouse in a storm\nNegative prompt: sun\nSteps: 12, Sampler: Euler a, Seed: 42, Size: 512x512',
      ),
    );
    await place(
      'ComfyUI_00003_.jpg',
      jpeg(tiff({ le: true, ifd0: [userComment(JSON.stringify({ prompt: COMFY_JPEG_GRAPH }), 'raw')] })),
    );
    agent = await startAgent([out]);
    const result = await syncJson(dest, { gpu1: agent.url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.summary!.totals).toMatchObject({ filesTransferred: 5, errors: 0 });
  });

  afterAll(async () => {
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('stores a JPEG named .png byte for byte, reads it as JPEG and flags the name', async () => {
    const [hit] = await search('duck');
    expect(hit).toMatchObject({
      containerPath: 'output/downloads/civitai_123.png',
      metaSource: 'a1111',
      prompt: 'photo of a duck',
      metaError: 'named .png but its bytes are JPEG; read as JPEG',
    });
    expect(await readFile(hit!.hostPath)).toEqual(await readFile(join(out, 'downloads/civitai_123.png')));
  });

  it('keeps metadata no reader knows as raw text with a reason, found by a word of it', async () => {
    const hits = await search('lagoon');
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({
      containerPath: 'output/other/mystery.png',
      metaSource: 'unknown',
      metaError: 'metadata in PNG tEXt "generation_data" is in no format this reader knows; kept as raw text',
    });
    expect(await search('zorblax')).toHaveLength(1);
  });

  it('gives a Forge image the metadata of its .txt sidecar', async () => {
    const hits = await search('lighthouse');
    expect(hits.map((hit) => hit.containerPath).sort()).toEqual([
      'output/txt2img-images/2026-12-01/00000-42.png',
      'output/txt2img-images/2026-12-01/00000-42.txt',
    ]);
    expect(hits.every((hit) => hit.seed === '42' && hit.sampler === 'Euler a')).toBe(true);
  });

  it('reads ComfyUI JSON from a JPEG UserComment through wildcard and Power Lora nodes; finds it by word part, LoRA and sampler', async () => {
    const [hit] = await search('girl', '--lora', 'pixel_art', '--sampler', 'DPMPP_2M_SDE');
    expect(hit).toMatchObject({
      containerPath: 'output/ComfyUI_00003_.jpg',
      metaSource: 'comfyui',
      prompt: '1girl, red_scarf, smiling',
      seed: '93806664037998',
      model: 'ponyDiffusionV6XL.safetensors',
    });
    expect(await search('scarf', '--seed', '93806664037998')).toHaveLength(1);
    expect(await search('--lora', 'pixel', '--sampler', 'euler')).toEqual([]);
  });
});
