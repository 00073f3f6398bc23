// Draw Things: its parameters as JSON in the `exif:UserComment` property of the image's XMP packet.
import type { GenerationMetadata, LoraRef } from '../../common/generation-metadata.js';
import { clean, isRecord, num, seed, str } from './json-fields.js';

/**
 * The text of the XMP property `exif:UserComment`: an element holding an `rdf:Alt` list (its first
 * `rdf:li`) or text, or an attribute of `rdf:Description`. XML entities and CDATA are decoded.
 * Undefined when the packet has no such property.
 */
export function xmpUserComment(xmp: string): string | undefined {
  const element = /<exif:UserComment\b[^>]*>([\s\S]*?)<\/exif:UserComment>/.exec(xmp);
  if (element) {
    const item = /<rdf:li\b[^>]*>([\s\S]*?)<\/rdf:li>/.exec(element[1]!);
    return xmlText(item ? item[1]! : element[1]!).trim();
  }
  const attribute = /\bexif:UserComment\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(xmp);
  return attribute ? xmlText(attribute[1] ?? attribute[2]!).trim() : undefined;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlText(text: string): string {
  return text.replace(
    /<!\[CDATA\[([\s\S]*?)\]\]>|&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi,
    (whole, cdata, entity) => {
      if (cdata !== undefined) return cdata as string;
      const name = entity as string;
      if (name.startsWith('#')) {
        const code =
          name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[name] ?? whole;
    },
  );
}

/**
 * Reads a Draw Things XMP packet: the JSON in `exif:UserComment` holds the prompt (`c`), negative
 * prompt (`uc`), `seed`, `steps`, `scale` (CFG), `sampler`, `model`, `size` (`WxH`) and the LoRAs
 * (`lora`: `{file, weight}`). Null when the packet holds no such JSON (XMP written by other tools).
 */
export function readDrawThingsXmp(xmp: string): GenerationMetadata | null {
  const comment = xmpUserComment(xmp);
  if (!comment?.startsWith('{')) return null;
  let root: unknown;
  try {
    root = JSON.parse(comment);
  } catch {
    return null;
  }
  if (!isRecord(root) || typeof root['c'] !== 'string') return null;
  const size = /^(\d+)\s*x\s*(\d+)$/.exec(str(root['size']) ?? '');
  const v2 = isRecord(root['v2']) ? root['v2'] : {};
  const loras: LoraRef[] = [];
  for (const entry of list(root['lora']) ?? list(root['loras']) ?? list(v2['loras']) ?? []) {
    if (!isRecord(entry)) continue;
    const name = str(entry['file']) ?? str(entry['model']);
    const weight = num(entry['weight']);
    if (name) loras.push(weight === undefined ? { name } : { name, strength: weight });
  }
  const meta: GenerationMetadata = {
    source: 'drawthings',
    raw: comment,
    prompt: str(root['c']),
    negativePrompt: str(root['uc']),
    seed: seed(root['seed']),
    steps: num(root['steps']),
    cfg: num(root['scale']),
    sampler: str(root['sampler']),
    model: str(root['model']),
    width: size ? Number(size[1]) : undefined,
    height: size ? Number(size[2]) : undefined,
    loras: loras.length > 0 ? loras : undefined,
  };
  return clean(meta);
}

function list(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}
