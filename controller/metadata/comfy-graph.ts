// Reads sampler settings, model and prompt texts out of a ComfyUI API graph (the `prompt` JSON).
import type { LoraRef, SamplerSummary } from '../../common/generation-metadata.js';
import { toSeed } from './infotext.js';
import type { ExactJson } from './json-exact.js';

interface GraphNode {
  classType: string;
  inputs: Record<string, ExactJson>;
}

type Graph = Map<string, GraphNode>;
type Link = readonly [string, number];

export interface ComfyGraphSummary {
  /** Samplers in generation order: fewer samplers upstream first, then by node id. */
  samplers: SamplerSummary[];
  problems: string[];
}

/** Links are followed at most this deep, so that a cyclic or absurd graph ends quickly. */
const MAX_DEPTH = 64;
/** Inputs through which a latent keeps its size on the way back to where it was made. */
const LATENT_INPUTS = ['latent_image', 'samples', 'samples_to', 'latent'];
/** Inputs of a node that carry a scalar value on to the input linked to it (seed, text and number nodes). */
const VALUE_INPUTS = ['value', 'int', 'float', 'number', 'seed', 'noise_seed', 'string', 'text'];
/** Inputs of SamplerCustomAdvanced-style samplers that lead to the nodes holding its settings. */
const SETTING_INPUTS = ['noise', 'guider', 'sampler', 'sigmas'];

/**
 * Finds KSampler* and SamplerCustom* nodes, and for each follows its links: `model` through LoRA
 * loaders and patches to the checkpoint or UNet loader, positive and negative through conditioning
 * combiners to the text encoders, and the latent back to where its size was set. Never throws.
 */
export function summarizeComfyPrompt(prompt: ExactJson): ComfyGraphSummary {
  const graph = toGraph(prompt);
  if (!graph) {
    return {
      samplers: [],
      problems: ['ComfyUI prompt is not an API graph (node id → {inputs, class_type})'],
    };
  }
  const samplerIds = [...graph.keys()].filter((id) => isSampler(graph.get(id)!));
  const upstream = new Map(samplerIds.map((id) => [id, countUpstreamSamplers(graph, id)]));
  samplerIds.sort(
    (a, b) => upstream.get(a)! - upstream.get(b)! || a.localeCompare(b, 'en', { numeric: true }),
  );
  return { samplers: samplerIds.map((id) => summarizeSampler(graph, id)), problems: [] };
}

function toGraph(prompt: ExactJson): Graph | null {
  if (!isRecord(prompt)) return null;
  const graph: Graph = new Map();
  for (const [id, node] of Object.entries(prompt)) {
    if (!isRecord(node) || typeof node['class_type'] !== 'string') continue;
    const inputs = isRecord(node['inputs']) ? node['inputs'] : {};
    graph.set(id, { classType: node['class_type'], inputs });
  }
  return graph.size > 0 || Object.keys(prompt).length === 0 ? graph : null;
}

function isRecord(value: ExactJson | undefined): value is { [key: string]: ExactJson } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asLink(value: ExactJson | undefined): Link | null {
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [id, output] = value;
  if ((typeof id !== 'string' && typeof id !== 'number') || typeof output !== 'number') return null;
  return [String(id), output];
}

function isSampler(node: GraphNode): boolean {
  if (!/^(KSampler|SamplerCustom)/i.test(node.classType) || node.classType === 'KSamplerSelect') return false;
  return 'model' in node.inputs || 'guider' in node.inputs;
}

function countUpstreamSamplers(graph: Graph, start: string): number {
  const seen = new Set<string>([start]);
  const stack = [start];
  let samplers = 0;
  while (stack.length > 0) {
    const node = graph.get(stack.pop()!);
    for (const value of Object.values(node?.inputs ?? {})) {
      const link = asLink(value);
      if (!link || seen.has(link[0])) continue;
      seen.add(link[0]);
      const target = graph.get(link[0]);
      if (!target) continue;
      if (isSampler(target)) samplers++;
      stack.push(link[0]);
    }
  }
  return samplers;
}

function summarizeSampler(graph: Graph, id: string): SamplerSummary {
  const node = graph.get(id)!;
  const summary: SamplerSummary = { nodeId: id, classType: node.classType };
  const seed = setting(graph, node, ['seed', 'noise_seed'], 0);
  const steps = setting(graph, node, ['steps'], 0);
  const cfg = setting(graph, node, ['cfg'], 0);
  const samplerName = setting(graph, node, ['sampler_name'], 0);
  const scheduler = setting(graph, node, ['scheduler'], 0);
  const denoise = setting(graph, node, ['denoise'], 0);
  summary.seed = typeof seed === 'number' || typeof seed === 'bigint' ? toSeed(seed) : undefined;
  summary.steps = typeof steps === 'number' ? steps : undefined;
  summary.cfg = typeof cfg === 'number' ? cfg : undefined;
  summary.sampler = typeof samplerName === 'string' ? samplerName : undefined;
  summary.scheduler = typeof scheduler === 'string' ? scheduler : undefined;
  summary.denoise = typeof denoise === 'number' ? denoise : undefined;

  const guider = nodeAt(graph, asLink(node.inputs['guider']));
  const conditioned = guider ?? node;
  const loras: LoraRef[] = [];
  summary.model = followModel(graph, asLink(conditioned.inputs['model']), loras);
  if (loras.length > 0) summary.loras = loras;
  const positive = conditioned.inputs['positive'] ?? conditioned.inputs['conditioning'];
  summary.prompt = joinTexts(collectTexts(graph, asLink(positive)));
  summary.negativePrompt = joinTexts(collectTexts(graph, asLink(conditioned.inputs['negative'])));
  const size = latentSize(graph, asLink(node.inputs['latent_image']));
  if (size) Object.assign(summary, size);
  for (const key of Object.keys(summary) as (keyof SamplerSummary)[]) {
    if (summary[key] === undefined) delete summary[key];
  }
  return summary;
}

function nodeAt(graph: Graph, link: Link | null): GraphNode | undefined {
  return link ? graph.get(link[0]) : undefined;
}

/**
 * A sampler setting: the input itself when it holds a value, the value of a node linked to it
 * (seed and number nodes), or the same setting on a noise, guider, sampler or sigmas node.
 */
function setting(graph: Graph, node: GraphNode, names: string[], depth: number): ExactJson | undefined {
  if (depth > 4) return undefined;
  for (const name of names) {
    if (!(name in node.inputs)) continue;
    const value = node.inputs[name]!;
    const link = asLink(value);
    return link ? linkedValue(graph, link, [name], 0) : value;
  }
  for (const via of SETTING_INPUTS) {
    const target = nodeAt(graph, asLink(node.inputs[via]));
    const value = target && setting(graph, target, names, depth + 1);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The scalar a value node (primitive, seed, string literal) outputs. */
function linkedValue(graph: Graph, link: Link, names: string[], depth: number): ExactJson | undefined {
  const node = graph.get(link[0]);
  if (!node || depth > MAX_DEPTH) return undefined;
  if (typeof node.inputs['populated_text'] === 'string') return node.inputs['populated_text'];
  const joined = concatenated(graph, node, depth);
  if (joined !== undefined) return joined;
  for (const name of [...names, ...VALUE_INPUTS]) {
    const value = node.inputs[name];
    if (value === undefined) continue;
    const next = asLink(value);
    if (next) return linkedValue(graph, next, names, depth + 1);
    if (typeof value !== 'object' || value === null) return value;
  }
  return undefined;
}

/** Inputs of string concatenation nodes (core StringConcatenate, WAS Text Concatenate and the like). */
const CONCAT_INPUT = /^(string|text)_?([a-z]|\d+)$/;

/**
 * The output of a string concatenation node: its `string_a`/`text_a`/`text1`… inputs, resolved,
 * joined by its delimiter (`delimiter` or `separator`). Undefined for other nodes.
 */
function concatenated(graph: Graph, node: GraphNode, depth: number): string | undefined {
  if (!/concat|join|combine/i.test(node.classType)) return undefined;
  const parts: string[] = [];
  for (const [name, value] of Object.entries(node.inputs)) {
    if (!CONCAT_INPUT.test(name)) continue;
    const link = asLink(value);
    const text = link ? linkedValue(graph, link, [name], depth + 1) : value;
    if (typeof text === 'string' && text !== '') parts.push(text);
  }
  if (parts.length === 0) return undefined;
  const delimiter = node.inputs['delimiter'] ?? node.inputs['separator'];
  return parts.join(typeof delimiter === 'string' ? delimiter : '');
}

/** Walks `model` links back to a loader, collecting the LoRAs on the way. */
function followModel(graph: Graph, link: Link | null, loras: LoraRef[]): string | undefined {
  const seen = new Set<string>();
  for (let depth = 0; link && depth < MAX_DEPTH && !seen.has(link[0]); depth++) {
    seen.add(link[0]);
    const node = graph.get(link[0]);
    if (!node) return undefined;
    for (const name of ['ckpt_name', 'unet_name']) {
      if (!(name in node.inputs)) continue;
      const value = node.inputs[name]!;
      const linked = asLink(value);
      const resolved = linked ? linkedValue(graph, linked, [name], 0) : value;
      return typeof resolved === 'string' ? resolved : undefined;
    }
    const lora = node.inputs['lora_name'];
    if (typeof lora === 'string') {
      const strength = node.inputs['strength_model'];
      loras.unshift(typeof strength === 'number' ? { name: lora, strength } : { name: lora });
    }
    loras.unshift(...powerLoras(node));
    link = asLink(node.inputs['model']);
  }
  return undefined;
}

/**
 * rgthree's Power Lora Loader keeps each LoRA in an input `lora_N` holding
 * `{on, lora, strength, strengthTwo}`; those switched off are left out.
 */
function powerLoras(node: GraphNode): LoraRef[] {
  const loras: LoraRef[] = [];
  for (const [name, value] of Object.entries(node.inputs)) {
    if (!/^lora_\d+$/i.test(name) || !isRecord(value)) continue;
    const { on, lora, strength } = value;
    if (on === false || typeof lora !== 'string' || lora === '' || lora === 'None') continue;
    loras.push(typeof strength === 'number' ? { name: lora, strength } : { name: lora });
  }
  return loras;
}

/**
 * Texts behind a conditioning link. Text encoders end the walk; combiners and area, timestep or
 * unCLIP nodes are followed through every input named like `conditioning*`, in their input order;
 * nodes with positive and negative inputs (ControlNet apply) are followed by the output used.
 */
function collectTexts(graph: Graph, start: Link | null): string[] {
  const texts: string[] = [];
  const seen = new Set<string>();
  const visit = (link: Link | null, depth: number) => {
    if (!link || depth > MAX_DEPTH) return;
    const key = `${link[0]}:${link[1]}`;
    if (seen.has(key)) return;
    seen.add(key);
    const node = graph.get(link[0]);
    if (!node || node.classType === 'ConditioningZeroOut') return;
    if (/TextEncode|WildcardEncode/i.test(node.classType)) {
      for (const text of encoderTexts(graph, node)) if (!texts.includes(text)) texts.push(text);
      return;
    }
    const names = Object.keys(node.inputs);
    const conditioning = names.filter((name) => /conditioning/i.test(name));
    if (conditioning.length === 0 && 'positive' in node.inputs) {
      visit(asLink(node.inputs[link[1] === 1 ? 'negative' : 'positive']), depth + 1);
      return;
    }
    for (const name of conditioning) visit(asLink(node.inputs[name]), depth + 1);
  };
  visit(start, 0);
  return texts;
}

/** An encoder's texts: `text`, or SDXL's `text_g`/`text_l`, or Flux's `clip_l`/`t5xxl`. */
function encoderTexts(graph: Graph, node: GraphNode): string[] {
  // ImpactWildcardEncode: `populated_text` is what was encoded, `wildcard_text` the template.
  const groups = [['populated_text'], ['text'], ['text_g', 'text_l'], ['clip_l', 't5xxl'], ['prompt']];
  for (const group of groups) {
    const found: string[] = [];
    for (const name of group) {
      const value = node.inputs[name];
      const link = asLink(value);
      const text = link ? linkedValue(graph, link, [name], 0) : value;
      if (typeof text === 'string' && !found.includes(text)) found.push(text);
    }
    if (found.length > 0) return found;
  }
  return [];
}

function joinTexts(texts: string[]): string | undefined {
  return texts.length > 0 ? texts.join('\n') : undefined;
}

/** The size a latent was made at (EmptyLatentImage, LatentUpscale), following it back through samplers. */
function latentSize(graph: Graph, link: Link | null): { width: number; height: number } | undefined {
  for (let depth = 0; link && depth < MAX_DEPTH; depth++) {
    const node = graph.get(link[0]);
    if (!node) return undefined;
    const { width, height } = node.inputs;
    if (typeof width === 'number' && typeof height === 'number') return { width, height };
    if ('scale_by' in node.inputs) return undefined;
    link = null;
    for (const name of LATENT_INPUTS) {
      link = asLink(node.inputs[name]);
      if (link) break;
    }
  }
  return undefined;
}
