// Generators that write their parameters in their own formats: SwarmUI, Fooocus, InvokeAI, NovelAI and Draw Things.
import { readDrawThingsXmp } from './draw-things.js';
import type { GenerationMetadata, LoraRef } from '../../common/generation-metadata.js';
import { type Json, isRecord, str, num, seed, clean } from './json-fields.js';
import { readDream, readSdMetadata } from './invokeai-legacy.js';

/** The PNG text keyword (and XMP packet name) Draw Things writes its XMP under. */
export const XMP_KEY = 'XML:com.adobe.xmp';

/**
 * Reads what one of these tools wrote under `key` (a PNG text keyword, or `parameters` for an
 * EXIF UserComment): SwarmUI `{"sui_image_params": …}` and Fooocus `{"prompt", "base_model", …}`
 * in `parameters`, InvokeAI in `invokeai_metadata` (3.x and later), `sd-metadata` and `Dream`
 * (2.x), NovelAI in `Comment`, Draw Things in its XMP packet. Null when the text is not one of
 * them. Never throws.
 */
export function readToolText(key: string, text: string): GenerationMetadata | null {
  if (key === 'Dream') return readDream(text);
  if (key === XMP_KEY) return readDrawThingsXmp(text);
  if (!text.trimStart().startsWith('{')) return null;
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(root)) return null;
  if (isRecord(root['sui_image_params'])) return swarm(root['sui_image_params'], text);
  if (
    key === 'parameters' &&
    typeof root['prompt'] === 'string' &&
    ('base_model' in root || 'metadata_scheme' in root)
  ) {
    return fooocus(root, text);
  }
  if (key === 'invokeai_metadata') return invoke(root, text);
  if (key === 'sd-metadata') return readSdMetadata(root, text);
  if (key === 'Comment' && typeof root['prompt'] === 'string' && ('uc' in root || 'scale' in root)) {
    return novelai(root, text);
  }
  return null;
}

function swarm(p: Json, raw: string): GenerationMetadata {
  return clean({
    source: 'swarmui',
    raw,
    prompt: str(p['prompt']),
    negativePrompt: str(p['negativeprompt']),
    seed: seed(p['seed']),
    steps: num(p['steps']),
    cfg: num(p['cfgscale']),
    sampler: str(p['sampler']),
    scheduler: str(p['scheduler']),
    model: str(p['model']),
    width: num(p['width']),
    height: num(p['height']),
    loras: Array.isArray(p['loras'])
      ? p['loras']
          .filter((name): name is string => typeof name === 'string')
          .map((name, i) => {
            const weight = Array.isArray(p['loraweights']) ? Number(p['loraweights'][i]) : NaN;
            return Number.isFinite(weight) ? { name, strength: weight } : { name };
          })
      : undefined,
  });
}

function fooocus(p: Json, raw: string): GenerationMetadata {
  const size = /^\(?\s*(\d+)\s*,\s*(\d+)\s*\)?$/.exec(str(p['resolution']) ?? '');
  const loras: LoraRef[] = [];
  for (const entry of Array.isArray(p['loras']) ? p['loras'] : []) {
    // Fooocus writes [name, weight] pairs (older) or [name, weight, hash].
    if (Array.isArray(entry) && typeof entry[0] === 'string') {
      const strength = Number(entry[1]);
      loras.push(Number.isFinite(strength) ? { name: entry[0], strength } : { name: entry[0] });
    }
  }
  return clean({
    source: 'fooocus',
    raw,
    prompt: str(p['prompt']),
    negativePrompt: str(p['negative_prompt']),
    seed: seed(p['seed']),
    steps: num(p['steps']),
    cfg: num(p['guidance_scale']),
    sampler: str(p['sampler']),
    scheduler: str(p['scheduler']),
    model: str(p['base_model']),
    width: size ? Number(size[1]) : undefined,
    height: size ? Number(size[2]) : undefined,
    loras: loras.length > 0 ? loras : undefined,
  });
}

function invoke(p: Json, raw: string): GenerationMetadata {
  const model = isRecord(p['model'])
    ? (str(p['model']['name']) ?? str(p['model']['model_name']))
    : str(p['model']);
  const loras: LoraRef[] = [];
  for (const entry of Array.isArray(p['loras']) ? p['loras'] : []) {
    if (!isRecord(entry)) continue;
    const inner = isRecord(entry['model']) ? entry['model'] : isRecord(entry['lora']) ? entry['lora'] : entry;
    const name = str(inner['name']) ?? str(inner['model_name']);
    const weight = num(entry['weight']);
    if (name) loras.push(weight === undefined ? { name } : { name, strength: weight });
  }
  return clean({
    source: 'invokeai',
    raw,
    prompt: str(p['positive_prompt']),
    negativePrompt: str(p['negative_prompt']),
    seed: seed(p['seed']),
    steps: num(p['steps']),
    cfg: num(p['cfg_scale']),
    scheduler: str(p['scheduler']),
    model,
    width: num(p['width']),
    height: num(p['height']),
    loras: loras.length > 0 ? loras : undefined,
  });
}

function novelai(p: Json, raw: string): GenerationMetadata {
  return clean({
    source: 'novelai',
    raw,
    prompt: str(p['prompt']),
    negativePrompt: str(p['uc']),
    seed: seed(p['seed']),
    steps: num(p['steps']),
    cfg: num(p['scale']),
    sampler: str(p['sampler']),
    scheduler: str(p['noise_schedule']),
    width: num(p['width']),
    height: num(p['height']),
  });
}
