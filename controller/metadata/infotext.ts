// Parses A1111/Forge "infotext": prompt lines, negative prompt lines, and a last line of key: value pairs.

/** An infotext split into its parts, with the common parameters normalized. */
export interface Infotext {
  prompt: string;
  negativePrompt: string;
  /** Every `key: value` pair of the parameters line, values unquoted. */
  params: Record<string, string>;
  steps?: number;
  sampler?: string;
  scheduleType?: string;
  cfgScale?: number;
  /** A number, or a decimal string when it is beyond 2^53 and a number would lose digits. */
  seed?: number | string;
  width?: number;
  height?: number;
  model?: string;
  modelHash?: string;
  /** From `Lora hashes: "name: hash, ..."`, in the order written. */
  loraHashes?: Record<string, string>;
  /** Values that looked JSON-quoted but did not parse; they are kept as written. */
  problems: string[];
}

/**
 * One `key: value` pair, as A1111's `re_param` matches it: a value is either JSON-quoted (and may
 * then hold `,` `:` or an escaped newline) or runs to the next comma. Unlike A1111's, a key is at
 * most 128 characters (theirs are under 40): with no bound, a long run of word characters without
 * a colon is rescanned from each of its positions: 4 s of blocked event loop for 64 KiB, and 256 times
 * that for 1 MiB.
 */
const PARAM = /\s*(\w[\w \-/]{1,127}):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;
/**
 * A last line longer than this is prompt, not parameters: A1111's run to a few KiB, and the
 * parameters regex is not run over megabytes of a PNG text chunk.
 */
const MAX_PARAMS_LINE = 64 << 10;
const NEGATIVE = 'Negative prompt:';
const SIZE = /^(\d+)x(\d+)$/;

/** Parses an infotext the way A1111's `parse_generation_parameters` does. Never throws. */
export function parseInfotext(text: string): Infotext {
  const lines = text.trim().split(/\r?\n/);
  let paramsLine = lines.pop() ?? '';
  if (paramsLine.length > MAX_PARAMS_LINE || [...paramsLine.matchAll(PARAM)].length < 3) {
    lines.push(paramsLine);
    paramsLine = '';
  }

  const prompt: string[] = [];
  const negative: string[] = [];
  let inNegative = false;
  for (const raw of lines) {
    let line = raw.trim();
    if (line.startsWith(NEGATIVE)) {
      inNegative = true;
      line = line.slice(NEGATIVE.length).trim();
    }
    (inNegative ? negative : prompt).push(line);
  }

  const result: Infotext = {
    prompt: prompt.join('\n'),
    negativePrompt: negative.join('\n'),
    params: {},
    problems: [],
  };
  for (const [, key, value] of paramsLine.matchAll(PARAM)) {
    result.params[key!] = unquote(key!, value!, result.problems);
  }
  normalize(result);
  return result;
}

function unquote(key: string, value: string, problems: string[]): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === 'string') return parsed;
  } catch {
    // fall through: kept as written, like A1111 does
  }
  problems.push(`infotext value of ${JSON.stringify(key)} is quoted but is not a JSON string`);
  return value;
}

function normalize(info: Infotext): void {
  const p = info.params;
  info.steps = toInteger(p['Steps']);
  info.sampler = p['Sampler'];
  info.scheduleType = p['Schedule type'];
  info.cfgScale = toNumber(p['CFG scale']);
  info.seed = toSeed(p['Seed']);
  const size = p['Size'] === undefined ? null : SIZE.exec(p['Size']);
  if (size) {
    info.width = Number(size[1]);
    info.height = Number(size[2]);
  }
  info.model = p['Model'];
  info.modelHash = p['Model hash'];
  if (p['Lora hashes'] !== undefined) info.loraHashes = parseNameHashes(p['Lora hashes']);
  for (const key of Object.keys(info) as (keyof Infotext)[]) {
    if (info[key] === undefined) delete info[key];
  }
}

/** `name: hash, name: hash` as A1111 writes Lora and TI hashes; a name may itself hold a colon. */
export function parseNameHashes(value: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const part of value.split(',')) {
    const colon = part.lastIndexOf(':');
    if (colon <= 0) continue;
    const name = part.slice(0, colon).trim();
    if (name) hashes[name] = part.slice(colon + 1).trim();
  }
  return hashes;
}

function toInteger(value: string | undefined): number | undefined {
  return value !== undefined && /^\s*-?\d+\s*$/.test(value) ? Number(value) : undefined;
}

function toNumber(value: string | undefined): number | undefined {
  return value !== undefined && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : undefined;
}

/** Seeds are integers; past 2^53 a double loses digits, so those stay decimal strings. */
export function toSeed(value: string | number | bigint | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return seedFromBigInt(value);
  const text = value.trim();
  if (!/^-?\d+$/.test(text)) return undefined;
  return seedFromBigInt(BigInt(text));
}

function seedFromBigInt(value: bigint): number | string {
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : value.toString();
}
