// Entry point of the metadata reader: picks the format by signature and never throws.
import { errorMessage } from '../../common/errors.js';
import { type MediaFormat, SNIFF_BYTES, sniffFormat } from '../../common/media/sniff-format.js';
import { type ByteSource, openFileSource } from './byte-source.js';
import { findJpegExif, findWebpExif } from './exif-containers.js';
import { exifTexts } from './exif-texts.js';
import type { FileReading, GenerationMetadata } from '../../common/generation-metadata.js';
import { type FoundTexts, interpret, looksLikeInfotext, type ParsedJson } from './interpret.js';
import { type ExactJson, parseJsonExact } from './json-exact.js';
import { readMatroskaTags } from './matroska-tags.js';
import { gifMedia, jpegMedia, kindOfFormat, sized, webpMedia } from './media-info.js';
import { type ContainerTags, readMp4Tags } from './mp4-tags.js';
import { readPng } from './png-reading.js';

export type {
  FileReading,
  GenerationMetadata,
  MediaInfo,
  MediaKind,
} from '../../common/generation-metadata.js';

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
