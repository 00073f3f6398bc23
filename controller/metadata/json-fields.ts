// Reading fields out of a tool's JSON metadata: each reader takes only values of the type it expects.
import type { GenerationMetadata } from '../../common/generation-metadata.js';
import { toSeed } from './infotext.js';

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-empty string, else undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A finite number, else undefined. */
export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A seed given as a number or a string of digits, kept exact past 2^53. */
export function seed(value: unknown): number | string | undefined {
  return typeof value === 'number' || typeof value === 'string' ? toSeed(value) : undefined;
}

/** The metadata without its undefined fields, so records and tests see only what was found. */
export function clean(meta: GenerationMetadata): GenerationMetadata {
  for (const key of Object.keys(meta) as (keyof GenerationMetadata)[]) {
    if (meta[key] === undefined) delete meta[key];
  }
  return meta;
}
