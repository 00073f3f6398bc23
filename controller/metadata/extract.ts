// Entry point of the metadata reader: picks the format by signature and never throws.
import { errorMessage } from '../../common/errors.js';
import { type ByteSource, openFileSource } from './byte-source.js';
import { parseExif } from './exif.js';
import { type ExifLocation, findJpegExif, findWebpExif } from './exif-containers.js';
import { type MediaFormat, SNIFF_BYTES, sniffFormat } from './file-format.js';
import type { GenerationMetadata } from './generation-metadata.js';
import { type FoundTexts, interpret, looksLikeInfotext, type ParsedJson } from './interpret.js';
import { type ExactJson, parseJsonExact } from './json-exact.js';
import { readMatroskaTags } from './matroska-tags.js';
import {
  type MediaInfo,
  gifMedia,
  jpegMedia,
  kindOfFormat,
  pngMedia,
  sized,
  webpMedia,
} from './media-info.js';
import { type ContainerTags, readMp4Tags } from './mp4-tags.js';
import { type PngTextScan, readPngTexts } from './png-chunks.js';
import { readStealthText } from './stealth-png.js';
import { xmpUserComment } from './draw-things.js';
import { XMP_KEY } from './tool-json.js';

export type { GenerationMetadata } from './generation-metadata.js';
export type { MediaInfo, MediaKind } from './media-info.js';

/** What the reader makes of one file: how it was generated, and what its headers say it is. */
export interface FileReading {
  metadata: GenerationMetadata;
  media: MediaInfo;
}

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
  return (await readStoredFile(path)).metadata;
}

/** extractMetadata, with the file's media kind and pixel size read from the same headers. Never throws. */
export async function readStoredFile(path: string): Promise<FileReading> {
  let source;
  try {
    source = await openFileSource(path);
  } catch (err) {
    return {
      metadata: { source: 'none', error: `cannot open the file: ${errorMessage(err)}` },
      media: { kind: 'other' },
    };
  }
  try {
    return await readFromSource(source, path);
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
  gif: ['gif'],
  heif: ['avif', 'heic', 'heif'],
  mp4: ['mp4', 'm4v', 'mov', 'm4a'],
  matroska: ['webm', 'mkv'],
  flac: ['flac'],
  ogg: ['ogg', 'oga', 'opus'],
  mp3: ['mp3'],
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
  return (await readFromSource(source, name)).metadata;
}

/** extractFromSource, with the file's media kind and pixel size. Never throws. */
export async function readFromSource(source: ByteSource, name?: string): Promise<FileReading> {
  if (name === undefined) return readByFormat(source);
  try {
    if (/\.txt$/i.test(name)) return { metadata: await sidecarText(source), media: { kind: 'other' } };
    const reading = await readByFormat(source);
    const mismatch = nameMismatch(name, sniffFormat(await source.read(0, SNIFF_BYTES)));
    const meta = reading.metadata;
    if (mismatch) meta.error = meta.error ? `${mismatch}; ${meta.error}` : mismatch;
    return reading;
  } catch (err) {
    return {
      metadata: { source: 'none', error: `cannot read the file: ${errorMessage(err)}` },
      media: { kind: 'other' },
    };
  }
}

async function readByFormat(source: ByteSource): Promise<FileReading> {
  let format: MediaFormat = 'unknown';
  try {
    format = sniffFormat(await source.read(0, SNIFF_BYTES));
    switch (format) {
      case 'png':
        return await readPng(source);
      case 'jpeg': {
        const exif = await findJpegExif(source);
        return { metadata: interpret(exifTexts(exif)), media: await jpegMedia(source) };
      }
      case 'webp': {
        const exif = await findWebpExif(source);
        return { metadata: interpret(exifTexts(exif)), media: await webpMedia(source) };
      }
      case 'mp4':
        return containerReading(await readMp4Tags(source));
      case 'matroska':
        return containerReading(await readMatroskaTags(source));
      case 'gif':
        return { metadata: { source: 'none' }, media: await gifMedia(source) };
      default:
        return { metadata: { source: 'none' }, media: { kind: kindOfFormat(format) } };
    }
  } catch (err) {
    return {
      metadata: { source: 'none', error: `cannot read the file: ${errorMessage(err)}` },
      media: { kind: kindOfFormat(format) },
    };
  }
}

function containerReading(container: ContainerTags): FileReading {
  return {
    metadata: interpret(containerTexts(container)),
    media: sized(container.audioOnly ? 'audio' : 'video', container.frame?.width, container.frame?.height),
  };
}

/**
 * PNG text chunks; without any, the stealth info some tools hide in the pixels (read only then,
 * as it means inflating image data).
 */
async function readPng(source: ByteSource): Promise<FileReading> {
  const scan = await readPngTexts(source);
  const found = pngTexts(scan);
  const nothing =
    found.parameters === undefined &&
    found.prompt === undefined &&
    found.workflow === undefined &&
    found.json === undefined &&
    found.unknown === undefined &&
    found.sourceHint === undefined;
  if (nothing && scan.header && scan.idatOffset !== undefined) {
    const stealth = await readStealthText(source, scan.header, scan.idatOffset);
    if (stealth?.problem) {
      found.problems.push(stealth.problem);
      found.sourceHint = 'unknown';
    } else if (stealth?.text !== undefined) {
      addStealthText(found, stealth.signature, stealth.text);
    }
  }
  return { metadata: interpret(found), media: pngMedia(scan) };
}

/**
 * A1111's extension hides the infotext; NovelAI hides a JSON object of its PNG text chunks
 * (`Comment` holding its parameters), which is read as those chunks would be.
 */
function addStealthText(found: FoundTexts, signature: string, text: string): void {
  const where = `PNG pixels (${signature})`;
  if (looksLikeInfotext(text)) {
    found.parameters = text;
    return;
  }
  let chunks: unknown;
  try {
    chunks = text.trimStart().startsWith('{') ? JSON.parse(text) : undefined;
  } catch {
    chunks = undefined;
  }
  if (isRecord(chunks) && chunks['Comment'] !== undefined) {
    found.unknown = Object.entries(chunks).map(([key, value]) => ({
      where: `${where} ${JSON.stringify(key)}`,
      text: typeof value === 'string' ? value : JSON.stringify(value),
      key,
    }));
  } else if (text.trim() !== '') {
    found.unknown = [{ where, text }];
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

function pngTexts(scan: PngTextScan): FoundTexts {
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
  // Most XMP is a photo editor's; only a packet with a UserComment may hold generation metadata.
  if (location.xmp !== undefined && xmpUserComment(location.xmp)) {
    found.unknown = [{ where: 'XMP exif:UserComment', text: location.xmp, key: XMP_KEY }];
  }
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
