// The text forge-sync search prints per hit: media kind and pixel size, and the generation's size where it differs.
import { describe, expect, it } from 'vitest';
import type { SearchHit } from '../common/search.js';
import { formatSearchPage } from './print.js';

const HIT: SearchHit & { hostPath: string } = {
  id: 7,
  agent: 'gpu1',
  containerPath: 'output/ComfyUI_00007_.png',
  storedPath: 'gpu1/output/ComfyUI_00007_.png',
  hostPath: '/srv/media/gpu1/output/ComfyUI_00007_.png',
  size: 1000,
  syncedAt: '2026-12-01T10:20:30.000Z',
  purgedAt: null,
  metaSource: 'comfyui',
  metaError: null,
  prompt: 'a red bicycle',
  negativePrompt: null,
  seed: '42',
  steps: 20,
  cfg: 7,
  sampler: 'euler',
  scheduler: 'normal',
  model: 'juggernaut.safetensors',
  width: 1024,
  height: 1024,
  kind: 'image',
  pixelWidth: 2048,
  pixelHeight: 2048,
  destHost: 'gpu-host',
  destPath: '/srv/media',
};

describe('formatSearchPage', () => {
  it.each([
    [
      'an upscale: the picture and the generation sizes',
      HIT,
      'agent gpu1 · synced 2026-12-01 10:20 · seed 42 · euler · 20 steps · cfg 7 · image 2048x2048 · generated 1024x1024 · juggernaut.safetensors',
    ],
    [
      'the same size once',
      { ...HIT, pixelWidth: 1024, pixelHeight: 1024 },
      'agent gpu1 · synced 2026-12-01 10:20 · seed 42 · euler · 20 steps · cfg 7 · image 1024x1024 · juggernaut.safetensors',
    ],
    [
      'a record not read since kinds were (no kind, no size)',
      { ...HIT, kind: null, pixelWidth: null, pixelHeight: null, seed: null, steps: null, cfg: null },
      'agent gpu1 · synced 2026-12-01 10:20 · euler · generated 1024x1024 · juggernaut.safetensors',
    ],
  ])('%s', (_name, hit, details) => {
    expect(formatSearchPage({ items: [hit], nextCursor: null })).toBe(
      `${hit.hostPath}\n  ${details}\n  "a red bicycle"\n  from output/ComfyUI_00007_.png\n\n1 file(s)\n`,
    );
  });
});
