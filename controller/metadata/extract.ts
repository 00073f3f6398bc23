// Entry point of the metadata reader: picks the format by signature and never throws.
import { errorMessage } from '../../common/errors.js';
import { type ByteSource, openFileSource } from './byte-source.js';
import { parseExif } from './exif.js';
import { type ExifLocation, findJpegExif, findWebpExif } from './exif-containers.js';
import { SNIFF_BYTES, sniffFormat } from './file-format.js';
import type { GenerationMetadata } from './generation-metadata.js';
import { type FoundTexts, interpret, looksLikeInfotext, type ParsedJson } from './interpret.js';
import { type ExactJson, parseJsonExact } from './json-exact.js';
import { readMatroskaTags } from './matroska-tags.js';
import { type ContainerTags, readMp4Tags } from './mp4-tags.js';
import { readPngTexts } from './png-chunks.js';

export type { GenerationMetadata } from './generation-metadata.js';

/** PNG text keywords, and EXIF and container tag names, that carry generation metadata. */
const KEYS = ['parameters', 'prompt', 'workflow'] as const;
/** ComfyUI WebP: `prompt:{json}` in EXIF 0x0110, `workflow:{json}` in 0x010F. */
const EXIF_KEY_VALUE = /^(prompt|workflow):/;

/**
 * Reads the generation metadata of one file: PNG text chunks, JPEG and WebP EXIF, MP4 and WebM tags.
 * Reads only headers and metadata, in bounded pieces, however large the file. Never throws: a file
 * without metadata gives `{ source: 'none' }`, and unreadable or malformed metadata sets `error`
 * beside whatever could be read.
 */
export async function extractMetadata(path: string): Promise<GenerationMetadata> {
  let source;
  try {
    source = await openFileSource(path);
  } catch (err) {
    return { source: 'none', error: `cannot open the file: ${errorMessage(err)}` };
  }
  try {
    return await extractFromSource(source, path);
  } finally {
    await source.close().catch(() => undefined);
  }
}

/** Largest `.txt` sidecar read; Forge's are a few KB. */
const MAX_SIDECAR_BYTES = 1 << 20;

/**
 * Forge's "save text information" sidecar (`00000-123.txt` beside `00000-123.png`) holds the same
 * infotext as the image. Other text files are not metadata and stay `none`.
 */
async function sidecarText(source: ByteSource): Promise<GenerationMetadata> {
  if (source.size > MAX_SIDECAR_BYTES) return { source: 'none' };
  const text = (await source.read(0, source.size)).toString('utf8');
  return looksLikeInfotext(text) ? interpret({ parameters: text, problems: [] }) : { source: 'none' };
}

/** Extensions each sniffed format goes by; a file whose name says otherwise is flagged. */
const EXTENSIONS: Record<string, string[]> = {
  png: ['png', 'apng'],
  jpeg: ['jpg', 'jpeg', 'jpe', 'jfif'],
  webp: ['webp'],
  mp4: ['mp4', 'm4v', 'mov'],
  matroska: ['webm', 'mkv'],
};

/**
 * A flag for a file whose bytes are another format than its name says (a JPEG saved as `.png` is
 * common with Civitai downloads): it was read, and is stored, by its bytes, under its name.
 */
export function nameMismatch(path: string, format: string): string | undefined {
  const known = EXTENSIONS[format];
  const dot = path.lastIndexOf('.');
  const ext = dot < 0 ? '' : path.slice(dot + 1).toLowerCase();
  if (!known || known.includes(ext) || !Object.values(EXTENSIONS).some((list) => list.includes(ext))) {
    return undefined;
  }
  return `named .${ext} but its bytes are ${format.toUpperCase()}; read as ${format.toUpperCase()}`;
}

/**
 * extractMetadata over any ByteSource (tests count the bytes read through one). With the file's
 * `name`, a Forge `.txt` sidecar is read as infotext and a name that disagrees with the bytes is
 * flagged in `error`. Never throws.
 */
export async function extractFromSource(source: ByteSource, name?: string): Promise<GenerationMetadata> {
  if (name === undefined) return extractByFormat(source);
  try {
    if (/\.txt$/i.test(name)) return await sidecarText(source);
    const meta = await extractByFormat(source);
    const mismatch = nameMismatch(name, sniffFormat(await source.read(0, SNIFF_BYTES)));
    if (mismatch) meta.error = meta.error ? `${mismatch}; ${meta.error}` : mismatch;
    return meta;
  } catch (err) {
    return { source: 'none', error: `cannot read the file: ${errorMessage(err)}` };
  }
}

async function extractByFormat(source: ByteSource): Promise<GenerationMetadata> {
  try {
    switch (sniffFormat(await source.read(0, SNIFF_BYTES))) {
      case 'png':
        return interpret(await pngTexts(source));
      case 'jpeg':
        return interpret(exifTexts(await findJpegExif(source)));
      case 'webp':
        return interpret(exifTexts(await findWebpExif(source)));
      case 'mp4':
        return interpret(containerTexts(await readMp4Tags(source)));
      case 'matroska':
        return interpret(containerTexts(await readMatroskaTags(source)));
      case 'unknown':
        return { source: 'none' };
    }
  } catch (err) {
    return { source: 'none', error: `cannot read the file: ${errorMessage(err)}` };
  }
}

/** PNG text keywords that describe the file, not how it was generated; never reported as unknown metadata. */
const ORDINARY_PNG_KEYS = new Set([
  'Title',
  'Author',
  'Copyright',
  'Creation Time',
  'Software',
  'Disclaimer',
  'Warning',
  'Source',
  'date:create',
  'date:modify',
  'date:timestamp',
]);

async function pngTexts(source: ByteSource): Promise<FoundTexts> {
  const scan = await readPngTexts(source);
  const found: FoundTexts = { problems: scan.problems };
  if (scan.exif) {
    const fromExif = exifTexts({ block: scan.exif, problems: [] });
    found.problems.push(...fromExif.problems.map((problem) => `PNG eXIf: ${problem}`));
    found.parameters = fromExif.parameters;
    found.json = fromExif.json;
    found.prompt = fromExif.prompt;
    found.workflow = fromExif.workflow;
    if (fromExif.unknown)
      found.unknown = fromExif.unknown.map((entry) => ({ ...entry, where: `PNG eXIf ${entry.where}` }));
  }
  for (const chunk of scan.texts) {
    const key = KEYS.find((name) => name === chunk.keyword);
    if (!key) {
      if (chunk.text !== undefined && chunk.text.trim() !== '' && !ORDINARY_PNG_KEYS.has(chunk.keyword)) {
        (found.unknown ??= []).push({
          where: `PNG ${chunk.type} ${JSON.stringify(chunk.keyword)}`,
          text: chunk.text,
          key: chunk.keyword,
        });
      }
      continue;
    }
    if (chunk.text === undefined) {
      found.problems.push(chunk.problem ?? `${chunk.type} ${chunk.keyword} could not be read`);
      found.sourceHint ??= key === 'parameters' ? 'a1111' : 'comfyui';
    } else {
      found[key] ??= chunk.text;
    }
  }
  return found;
}

function exifTexts(location: ExifLocation): FoundTexts {
  const found: FoundTexts = { problems: location.problems };
  if (!location.block) return found;
  const exif = parseExif(location.block);
  found.problems.push(...exif.problems);
  const comment = exif.userComment?.trim();
  if (comment && looksLikeInfotext(comment)) found.parameters = exif.userComment;
  // SwarmUI writes the same JSON it puts in a PNG's `parameters`.
  else if (comment?.startsWith('{') && comment.includes('"sui_image_params"')) found.parameters = comment;
  else if (comment?.startsWith('{')) found.json = comment;
  else if (comment) (found.unknown ??= []).push({ where: 'EXIF UserComment', text: comment });
  for (const value of exif.ascii.values()) {
    const match = EXIF_KEY_VALUE.exec(value);
    if (match) found[match[1] as 'prompt' | 'workflow'] ??= value.slice(match[0].length);
  }
  return found;
}

/**
 * `prompt` and `workflow` tags (ComfyUI core), else a `comment` tag holding JSON with `prompt` and
 * `workflow` members (VideoHelperSuite), else a comment that reads as an infotext.
 */
function containerTexts(container: ContainerTags): FoundTexts {
  const found: FoundTexts = { problems: container.problems };
  const { tags } = container;
  found.prompt = tags.get('prompt');
  found.workflow = tags.get('workflow');
  const comment = tags.get('comment');
  if (found.prompt !== undefined || found.workflow !== undefined || comment === undefined) return found;
  const trimmed = comment.trim();
  if (!trimmed.startsWith('{')) {
    if (looksLikeInfotext(comment)) found.parameters = comment;
    return found;
  }
  let plain: unknown;
  let exact: ExactJson;
  try {
    plain = JSON.parse(trimmed);
    exact = parseJsonExact(trimmed);
  } catch (err) {
    found.problems.push(`video comment tag looks like JSON but does not parse (${errorMessage(err)})`);
    found.sourceHint = 'comfyui';
    return found;
  }
  if (!isRecord(plain) || typeof exact !== 'object' || exact === null || Array.isArray(exact)) return found;
  const members = exact;
  const member = (name: string): ParsedJson | undefined =>
    name in plain ? { plain: plain[name], exact: members[name] ?? null } : undefined;
  found.prompt = member('prompt');
  found.workflow = member('workflow');
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
