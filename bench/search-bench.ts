// Search latency over a large catalog: PGlite filled with synthetic generations, then timed queries.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SearchQuery, StoredFileRecord } from '../controller/catalog/catalog.js';
import { openPgliteClient } from '../controller/catalog/pglite-client.js';
import { SqlCatalog } from '../controller/catalog/sql-catalog.js';

const WORDS = (
  'portrait landscape cat dog castle forest river mountain city night day sunset neon cyberpunk ' +
  'watercolor oil painting photo cinematic dramatic lighting soft bokeh detailed intricate woman man ' +
  'child robot dragon knight wizard ship ocean desert snow rain fog golden hour studio anime sketch ' +
  'duck owl fox wolf tiger flower garden temple ruins spaceship planet galaxy nebula steampunk baroque ' +
  '1girl 2boys blue_hair (masterpiece:1.2)'
).split(' ');
const MODELS = [
  'sd_xl_base_1.0',
  'realisticVisionV60',
  'dreamshaper_8',
  'v1-5-pruned-emaonly',
  'juggernautXL_v9',
  'flux1-dev',
];
const SAMPLERS = ['Euler a', 'DPM++ 2M', 'UniPC', 'dpmpp_2m', 'euler'];
const LORAS = ['add_detail', 'Pixel_Art_XL', 'epiNoiseOffset', 'lcm-lora-sdxl', 'rare_style_only_once'];

/** A deterministic pseudo-random stream, so every run searches the same catalog. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function record(i: number, random: () => number, syncedAt: Date): StoredFileRecord {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const prompt = Array.from({ length: 6 + Math.floor(random() * 10) }, () => pick(WORDS)).join(', ');
  const seed = String(Math.floor(random() * 2 ** 32));
  const path = `output/2026-11-${String(1 + (i % 28)).padStart(2, '0')}/ComfyUI_${String(i).padStart(6, '0')}_.png`;
  return {
    agent: `gpu${i % 4}`,
    containerPath: path,
    storedPath: `gpu${i % 4}/${path}`,
    size: 1_300_000 + (i % 1000),
    mtimeMs: syncedAt.getTime() - 60_000,
    xxh64: i.toString(16).padStart(16, '0'),
    runId: `bench${Math.floor(i / 10_000)}`,
    syncedAt,
    // One file in fifty a video, as ComfyUI outputs go; the kind filter is timed on them.
    media:
      i % 50 === 0
        ? { kind: 'video', width: 512, height: 768 }
        : { kind: 'image', width: 1024, height: 1024 },
    metadata: {
      source: 'comfyui',
      prompt,
      negativePrompt: 'blurry, lowres',
      seed,
      steps: 20 + (i % 30),
      cfg: 7,
      sampler: pick(SAMPLERS),
      model: pick(MODELS),
      // One file in three has a LoRA; the last name in LORAS is used by one file only.
      loras:
        i === 7
          ? [{ name: LORAS.at(-1)! }]
          : i % 3 === 0
            ? [{ name: pick(LORAS.slice(0, -1)), strength: 0.8 }]
            : undefined,
    },
  };
}

async function median(times: number, fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
}

/** Fills a fresh catalog with `count` records and returns table rows of timed searches. */
export async function benchSearch(count: number): Promise<string[][]> {
  const dir = await mkdtemp(join(tmpdir(), 'fms-search-bench-'));
  const catalog = await SqlCatalog.open(await openPgliteClient(join(dir, 'catalog')));
  const rows: string[][] = [];
  try {
    const random = rng(42);
    const start = performance.now();
    const base = Date.now() - count * 1000;
    let knownSeed = '';
    for (let i = 0; i < count; i += 2000) {
      const batch = Array.from({ length: Math.min(2000, count - i) }, (_, j) =>
        record(i + j, random, new Date(base + (i + j) * 1000)),
      );
      if (i === 0) knownSeed = String(batch[1234 % batch.length]!.metadata!.seed);
      await catalog.recordStored(batch);
    }
    const loadMs = performance.now() - start;
    rows.push([
      `fill a catalog with ${count} records (PGlite)`,
      `${(loadMs / 1000).toFixed(1)} s`,
      '',
      `${Math.round(count / (loadMs / 1000))} records/s`,
      '',
    ]);
    const queries: [string, SearchQuery][] = [
      ['one prompt word ("duck")', { text: 'duck', limit: 20 }],
      ['two words ("golden dragon")', { text: 'golden dragon', limit: 20 }],
      ['a phrase ("\\"oil painting\\"")', { text: '"oil painting"', limit: 20 }],
      ['a rare pair, deep scan ("nebula baroque" -cat)', { text: 'nebula baroque -cat', limit: 20 }],
      ['exact seed', { seed: knownSeed, limit: 20 }],
      ['model substring ("dreamshaper")', { model: 'dreamshaper', limit: 20 }],
      [
        'word + model + agent + since 2d',
        {
          text: 'castle',
          model: 'xl',
          agent: 'gpu1',
          since: new Date(Date.now() - 2 * 86_400_000),
          limit: 20,
        },
      ],
      ['newest 100, no filter', { limit: 100 }],
      ['word part ("girl" finds 1girl)', { text: 'girl', limit: 20 }],
      ['prefix ("drag")', { text: 'drag', limit: 20 }],
      ['tag with underscore and parentheses', { text: 'blue_hair (masterpiece:1.2)', limit: 20 }],
      ['LoRA filter ("pixel")', { lora: 'pixel', limit: 20 }],
      ['rare LoRA, deep scan', { lora: 'rare_style', limit: 20 }],
      ['sampler filter + word', { sampler: 'dpm++ 2m', text: 'owl', limit: 20 }],
      ['model substring, no match, deep scan', { model: 'no_such_model', limit: 20 }],
      ['kind filter ("video", 1 in 50)', { kind: 'video', limit: 20 }],
      ['kind + word ("video" + "duck")', { kind: 'video', text: 'duck', limit: 20 }],
    ];
    for (const [name, query] of queries) {
      let hits = 0;
      const ms = await median(7, async () => {
        hits = (await catalog.search(query)).items.length;
      });
      rows.push([`search over ${count}: ${name}`, `${ms.toFixed(1)} ms`, '', `${hits} hits (page)`, '']);
    }
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
