// Turns the texts found in a file (infotext, ComfyUI prompt and workflow) into GenerationMetadata.
import { civitaiExtraMetadata, civitaiResources, mergeCivitaiLoras } from './civitai.js';
import { summarizeComfyPrompt } from './comfy-graph.js';
import { readToolText } from './tool-json.js';
import type { GenerationMetadata, LoraRef, MetadataSource } from '../../common/generation-metadata.js';
import { type Infotext, parseInfotext } from './infotext.js';
import { type ExactJson, parseJsonExact } from './json-exact.js';

/** JSON already parsed (from a container tag that held JSON): plain for storage, exact for reading seeds. */
export interface ParsedJson {
  plain: unknown;
  exact: ExactJson;
}

/** What a format reader found, before interpretation. */
export interface FoundTexts {
  /** A1111/Forge infotext. */
  parameters?: string;
  /** ComfyUI API graph, as JSON text or already parsed. */
  prompt?: string | ParsedJson;
  /** ComfyUI UI graph, as JSON text or already parsed. */
  workflow?: string | ParsedJson;
  /**
   * A JSON object found where infotext usually sits (EXIF UserComment): ComfyUI's
   * `{"prompt": {…}, "workflow": {…}}`, or Civitai's graph with `extraMetadata`.
   */
  json?: string;
  /** Texts found in metadata places that no reader understood; kept raw, with `where` in the reason. */
  unknown?: { where: string; text: string; key?: string }[];
  /** Set when a metadata chunk was there but could not be decoded, so the source is still known. */
  sourceHint?: MetadataSource;
  problems: string[];
}

/**
 * Infotext wins when present (some ComfyUI nodes write one, and it is the curated summary); the
 * ComfyUI graphs are then kept alongside. Never throws.
 */
export function interpret(found: FoundTexts): GenerationMetadata {
  const problems = [...found.problems];
  let meta: GenerationMetadata;
  const tool =
    found.parameters === undefined ? undefined : (readToolText('parameters', found.parameters) ?? undefined);
  // InvokeAI 2.x writes `Dream` and `sd-metadata`: the JSON says more, so `Dream` is read last.
  const toolChunk = tool
    ? undefined
    : [...(found.unknown ?? [])]
        .sort((a, b) => Number(a.key === 'Dream') - Number(b.key === 'Dream'))
        .map((entry) => readToolText(entry.key ?? '', entry.text))
        .find(Boolean);
  if (tool ?? toolChunk) {
    meta = (tool ?? toolChunk)!;
  } else if (found.parameters !== undefined && found.parameters.trim() !== '') {
    meta = fromInfotext(found.parameters, problems);
    const prompt = found.prompt === undefined ? undefined : parseJson(found.prompt, 'prompt', problems);
    if (prompt) meta.comfyPrompt = prompt.plain;
  } else if (found.prompt !== undefined || found.workflow !== undefined) {
    meta = fromComfyPrompt(found.prompt, problems);
  } else if (found.json !== undefined) {
    const fromJson = fromJsonObject(found, problems);
    if (fromJson) return fromJson;
    meta = unknownMeta(found, problems);
  } else if (found.unknown && found.unknown.length > 0) {
    meta = unknownMeta(found, problems);
  } else {
    meta = { source: found.sourceHint ?? 'none' };
  }
  const workflow = found.workflow === undefined ? undefined : parseJson(found.workflow, 'workflow', problems);
  if (workflow) meta.comfyWorkflow = workflow.plain;
  if (problems.length > 0) meta.error = problems.join('; ');
  return meta;
}

/** Whether a text (say an EXIF UserComment, which many tools fill) has the shape of an infotext. */
export function looksLikeInfotext(text: string): boolean {
  const info = parseInfotext(text);
  return Object.keys(info.params).length >= 3 || /^Negative prompt:/m.test(text);
}

/**
 * Metadata that was found but not understood: its text kept in `raw` (so search finds it) and a
 * reason naming where it was, so nothing is lost without a word.
 */
function unknownMeta(found: FoundTexts, problems: string[]): GenerationMetadata {
  const texts = [...(found.unknown ?? [])];
  if (found.json !== undefined) texts.unshift({ where: 'EXIF UserComment', text: found.json });
  problems.push(
    `metadata in ${texts.map((entry) => entry.where).join(', ')} is in no format this reader knows; kept as raw text`,
  );
  return { source: 'unknown', raw: texts.map((entry) => entry.text).join('\n') };
}

/** ComfyUI or Civitai JSON in a UserComment; null when it is neither (the caller keeps it raw). */
function fromJsonObject(found: FoundTexts, problems: string[]): GenerationMetadata | null {
  let root: unknown;
  try {
    root = JSON.parse(found.json!);
  } catch {
    return null;
  }
  if (!isRecord(root)) return null;
  const civitai = civitaiExtraMetadata(root);
  if (civitai) {
    if (civitai.problem) problems.push(civitai.problem);
    const { extraMetadata: _extra, ...graph } = root;
    const walked = fromComfyPrompt(JSON.stringify(graph), []);
    const meta: GenerationMetadata = { ...walked, ...civitai.fields, source: 'civitai', comfyPrompt: root };
    if (problems.length > 0) meta.error = problems.join('; ');
    return withoutUndefined(meta);
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  if ('prompt' in root || 'workflow' in root) {
    return interpret({
      prompt: root['prompt'] === undefined ? undefined : text(root['prompt']),
      workflow: root['workflow'] === undefined ? undefined : text(root['workflow']),
      problems,
    });
  }
  if (Object.values(root).some((node) => isRecord(node) && typeof node['class_type'] === 'string')) {
    return interpret({ prompt: found.json!, problems });
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fromInfotext(text: string, problems: string[]): GenerationMetadata {
  const info = parseInfotext(text);
  problems.push(...info.problems);
  const civitai = civitaiResources(text);
  if (civitai.problem) problems.push(civitai.problem);
  const meta: GenerationMetadata = {
    source: 'a1111',
    raw: text,
    prompt: info.prompt || undefined,
    negativePrompt: info.negativePrompt || undefined,
    seed: info.seed,
    steps: info.steps,
    cfg: info.cfgScale,
    sampler: info.sampler,
    scheduler: info.scheduleType,
    model: info.model,
    modelHash: info.modelHash,
    loras: civitai.resources
      ? mergeCivitaiLoras(infotextLoras(info), civitai.resources)
      : infotextLoras(info),
    civitaiResources: civitai.resources,
    width: info.width,
    height: info.height,
    params: info.params,
  };
  return withoutUndefined(meta);
}

/** LoRAs named in `Lora hashes`, with strengths from `<lora:name:strength>` tags in the prompt. */
function infotextLoras(info: Infotext): LoraRef[] | undefined {
  const loras = new Map<string, LoraRef>();
  for (const [name, hash] of Object.entries(info.loraHashes ?? {})) loras.set(name, { name, hash });
  for (const [, name, strength] of info.prompt.matchAll(/<lora:([^:>]+)(?::([^:>]*))?[^>]*>/g)) {
    const lora = loras.get(name!) ?? { name: name! };
    const value = Number(strength);
    if (strength !== undefined && strength.trim() !== '' && Number.isFinite(value)) lora.strength = value;
    loras.set(name!, lora);
  }
  return loras.size > 0 ? [...loras.values()] : undefined;
}

function fromComfyPrompt(input: string | ParsedJson | undefined, problems: string[]): GenerationMetadata {
  const meta: GenerationMetadata = { source: 'comfyui' };
  if (input === undefined) return meta;
  const prompt = parseJson(input, 'prompt', problems);
  if (!prompt) {
    if (typeof input === 'string') meta.raw = input;
    return meta;
  }
  meta.comfyPrompt = prompt.plain;
  const summary = summarizeComfyPrompt(prompt.exact);
  problems.push(...summary.problems);
  const first = summary.samplers[0];
  if (!first) return meta;
  // The top-level fields are the first sampler's, all but what only describes the node.
  const { nodeId: _nodeId, classType: _classType, denoise: _denoise, ...fields } = first;
  Object.assign(meta, fields);
  meta.samplers = summary.samplers;
  return withoutUndefined(meta);
}

/** JSON text parsed both ways; a text holding JSON that is itself a string of JSON is unwrapped once. */
function parseJson(input: string | ParsedJson, what: string, problems: string[]): ParsedJson | null {
  let parsed: ParsedJson;
  if (typeof input === 'string') {
    try {
      parsed = { plain: JSON.parse(input) as unknown, exact: null };
    } catch (err) {
      problems.push(
        `ComfyUI ${what} is not valid JSON (${err instanceof Error ? err.message : String(err)})`,
      );
      return null;
    }
    try {
      parsed.exact = parseJsonExact(input);
    } catch {
      parsed.exact = parsed.plain as ExactJson; // JSON.parse accepted it; digits past 2^53 may be rounded
    }
  } else {
    parsed = input;
  }
  if (typeof parsed.exact === 'string') return parseJson(parsed.exact, what, problems);
  return parsed;
}

function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
