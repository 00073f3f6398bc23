// Generation metadata of a PNG: its text and eXIf chunks, else the stealth info hidden in its pixels.
import type { ByteSource } from './byte-source.js';
import { exifTexts } from './exif-texts.js';
import { type FoundTexts, interpret, looksLikeInfotext } from './interpret.js';
import type { FileReading } from '../../common/generation-metadata.js';
import { pngMedia } from './media-info.js';
import { type PngTextScan, readPngTexts } from './png-chunks.js';
import { readStealthText } from './stealth-png.js';

/** PNG text keywords that carry generation metadata. */
const KEYS = ['parameters', 'prompt', 'workflow'] as const;

/**
 * PNG text chunks; without any, the stealth info some tools hide in the pixels (read only then,
 * as it means inflating image data).
 */
export async function readPng(source: ByteSource): Promise<FileReading> {
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
