// InvokeAI before 3.0: the `sd-metadata` JSON and the `Dream` command line it wrote into PNG text chunks.
import type { GenerationMetadata } from '../../common/generation-metadata.js';
import { type Json, isRecord, str, num, seed, clean } from './json-fields.js';
import { toSeed } from './infotext.js';

/**
 * InvokeAI 2.x takes words in square brackets as the negative prompt (`a cat [blurry, dog]`): the
 * prompt is the text without them, the negative prompt their contents joined by ", ".
 */
export function splitBracketedNegative(text: string): { prompt: string; negative?: string } {
  const negatives: string[] = [];
  const prompt = text.replace(/\[([^[\]]*)\]/g, (_whole, inside: string) => {
    if (inside.trim() !== '') negatives.push(inside.trim());
    return ' ';
  });
  const tidy = prompt
    .replace(/\s{2,}/g, ' ')
    .replace(/\s+([,.])/g, '$1')
    .trim();
  return negatives.length > 0 ? { prompt: tidy, negative: negatives.join(', ') } : { prompt: tidy };
}

/**
 * `sd-metadata` (InvokeAI 2.x): `model_weights` or `model_id`, `model_hash`, and an `image` object
 * with `prompt` (a list of `{prompt, weight}`, or a string), `seed`, `steps`, `cfg_scale`,
 * `sampler`, `width`, `height`. Several weighted prompts are written back as InvokeAI's blend
 * (`a cat:0.7 a dog:0.3`).
 */
export function readSdMetadata(root: Json, raw: string): GenerationMetadata | null {
  const image = root['image'];
  if (!isRecord(image)) return null;
  let text: string | undefined;
  if (typeof image['prompt'] === 'string') {
    text = image['prompt'];
  } else if (Array.isArray(image['prompt'])) {
    const parts = image['prompt']
      .filter(isRecord)
      .filter((part) => typeof part['prompt'] === 'string')
      .map((part) => ({ text: part['prompt'] as string, weight: num(part['weight']) }));
    text =
      parts.length === 1
        ? parts[0]!.text
        : parts
            .map((part) => (part.weight === undefined ? part.text : `${part.text}:${part.weight}`))
            .join(' ');
  }
  const split = text === undefined ? undefined : splitBracketedNegative(text);
  return clean({
    source: 'invokeai',
    raw,
    prompt: split?.prompt || undefined,
    negativePrompt: split?.negative,
    seed: seed(image['seed']),
    steps: num(image['steps']),
    cfg: num(image['cfg_scale']),
    sampler: str(image['sampler']),
    model: str(root['model_weights']) ?? str(root['model_id']),
    modelHash: str(root['model_hash']),
    width: num(image['width']),
    height: num(image['height']),
  });
}

/** `Dream` options this reader maps to fields; the others stay in `params`. */
const DREAM_OPTIONS: Record<string, 'steps' | 'seed' | 'width' | 'height' | 'cfg' | 'sampler'> = {
  '-s': 'steps',
  '--steps': 'steps',
  '-S': 'seed',
  '--seed': 'seed',
  '-W': 'width',
  '--width': 'width',
  '-H': 'height',
  '--height': 'height',
  '-C': 'cfg',
  '--cfg_scale': 'cfg',
  '-A': 'sampler',
  '--sampler': 'sampler',
};

/**
 * `Dream` (InvokeAI 1.x and 2.x): the prompt in double quotes, then the command-line options that
 * made the image: `"a cat [dog]" -s 50 -S 3646467 -W 512 -H 512 -C 7.5 -A k_lms`. Every option is
 * kept in `params` by its flag. Null when the text does not start with a quoted prompt.
 */
export function readDream(text: string): GenerationMetadata | null {
  const quoted = /^\s*"((?:[^"\\]|\\.)*)"/.exec(text);
  if (!quoted) return null;
  const split = splitBracketedNegative(quoted[1]!.replace(/\\(.)/g, '$1'));
  const meta: GenerationMetadata = { source: 'invokeai', raw: text, prompt: split.prompt || undefined };
  if (split.negative) meta.negativePrompt = split.negative;
  const params: Record<string, string> = {};
  const tokens = text.slice(quoted[0].length).trim().split(/\s+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.startsWith('-')) continue;
    const [flag, inline] = token.includes('=')
      ? [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)]
      : [token, undefined];
    const next = tokens[i + 1];
    const value = inline ?? (next !== undefined && !/^-[A-Za-z-]/.test(next) ? (i++, next) : '');
    params[flag] = value;
    const field = DREAM_OPTIONS[flag];
    if (field === 'sampler') meta.sampler = value || undefined;
    else if (field === 'seed') meta.seed = toSeed(value);
    else if (field) {
      const number = Number(value);
      if (value !== '' && Number.isFinite(number)) meta[field] = number;
    }
  }
  if (Object.keys(params).length > 0) meta.params = params;
  return clean(meta);
}
