// Civitai's additions: the `Civitai resources: [...]` list in an infotext, and its ComfyUI JSON with `extraMetadata`.
import type { CivitaiResource, GenerationMetadata, LoraRef } from '../../common/generation-metadata.js';
import { toSeed } from './infotext.js';

const RESOURCES_KEY = 'Civitai resources:';

/**
 * The JSON array after `Civitai resources:` in an infotext. It is written unquoted, so it holds
 * commas and colons and cannot be split like the other parameters; it is cut out by bracket depth.
 * Returns undefined when absent, and a problem when present but not valid JSON.
 */
export function civitaiResources(text: string): { resources?: CivitaiResource[]; problem?: string } {
  const at = text.lastIndexOf(RESOURCES_KEY);
  if (at < 0) return {};
  const start = text.indexOf('[', at);
  const end = start < 0 ? -1 : matchingBracket(text, start);
  if (end < 0) return { problem: 'Civitai resources list is cut short' };
  let list: unknown;
  try {
    list = JSON.parse(text.slice(start, end + 1));
  } catch (err) {
    return { problem: `Civitai resources list is not valid JSON (${(err as Error).message})` };
  }
  if (!Array.isArray(list)) return { problem: 'Civitai resources is not a list' };
  return { resources: list.filter(isRecord).map(toResource) };
}

function matchingBracket(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function toResource(entry: Record<string, unknown>): CivitaiResource {
  const resource: CivitaiResource = { type: typeof entry['type'] === 'string' ? entry['type'] : 'unknown' };
  if (typeof entry['modelVersionId'] === 'number') resource.modelVersionId = entry['modelVersionId'];
  if (typeof entry['modelName'] === 'string') resource.modelName = entry['modelName'];
  if (typeof entry['modelVersionName'] === 'string') resource.modelVersionName = entry['modelVersionName'];
  if (typeof entry['weight'] === 'number') resource.weight = entry['weight'];
  return resource;
}

/** Adds the Civitai LoRAs (with version ids) to the infotext's LoRAs, matched by name where possible. */
export function mergeCivitaiLoras(
  loras: LoraRef[] | undefined,
  resources: CivitaiResource[],
): LoraRef[] | undefined {
  const merged = [...(loras ?? [])];
  for (const resource of resources) {
    if (resource.type.toLowerCase() !== 'lora' || !resource.modelName) continue;
    const known = merged.find((lora) => lora.name === resource.modelName);
    const target = known ?? { name: resource.modelName };
    if (resource.modelVersionId !== undefined) target.civitaiVersionId = resource.modelVersionId;
    if (target.strength === undefined && resource.weight !== undefined) target.strength = resource.weight;
    if (!known) merged.push(target);
  }
  return merged.length > 0 ? merged : undefined;
}

/**
 * Civitai's ComfyUI JSON: the API graph's nodes at the top level beside `extraMetadata`, a JSON
 * string with `prompt`, `negativePrompt`, `steps`, `cfgScale`, `sampler`, `seed` and `resources`.
 * Returns the fields it holds, or a problem; undefined when the object has no `extraMetadata`.
 */
export function civitaiExtraMetadata(
  root: Record<string, unknown>,
): { fields: Partial<GenerationMetadata>; problem?: string } | undefined {
  const extra = root['extraMetadata'];
  if (extra === undefined) return undefined;
  let value: unknown = extra;
  if (typeof extra === 'string') {
    try {
      value = JSON.parse(extra);
    } catch (err) {
      return { fields: {}, problem: `Civitai extraMetadata is not valid JSON (${(err as Error).message})` };
    }
  }
  if (!isRecord(value)) return { fields: {}, problem: 'Civitai extraMetadata is not an object' };
  const fields: Partial<GenerationMetadata> = {};
  if (typeof value['prompt'] === 'string') fields.prompt = value['prompt'];
  if (typeof value['negativePrompt'] === 'string') fields.negativePrompt = value['negativePrompt'];
  if (typeof value['steps'] === 'number') fields.steps = value['steps'];
  if (typeof value['cfgScale'] === 'number') fields.cfg = value['cfgScale'];
  if (typeof value['sampler'] === 'string') fields.sampler = value['sampler'];
  const seed = value['seed'];
  if (typeof seed === 'number' || typeof seed === 'string') fields.seed = toSeed(seed);
  if (typeof value['width'] === 'number') fields.width = value['width'];
  if (typeof value['height'] === 'number') fields.height = value['height'];
  if (Array.isArray(value['resources'])) {
    fields.civitaiResources = value['resources'].filter(isRecord).map(toResource);
    const loras = mergeCivitaiLoras(undefined, fields.civitaiResources);
    if (loras) fields.loras = loras;
  }
  return { fields };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
