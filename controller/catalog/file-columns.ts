// The files table's columns, once: each SQL column, the record or metadata field it holds, and how values convert.
import {
  type GenerationMetadata,
  type MediaInfo,
  METADATA_READER_VERSION,
} from '../../common/generation-metadata.js';
import type { FileDetail, Provenance, SearchHit } from '../../common/search.js';
import type { StoredFileRecord } from './catalog.js';

/** A row as a driver returns it; PGlite and node-postgres differ in how they type numerics. */
export type Row = Record<string, unknown>;

/** How a value goes into its column and how the column's value comes back as a field. */
interface Conversion {
  write(value: unknown): unknown;
  read(value: unknown): unknown;
  /** The value as a field of a JSON row (insertRows); `write`'s when absent. */
  inRow?(value: unknown): unknown;
}

const isoOf = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value as string).toISOString();
const textOf = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const orNull = (value: unknown): unknown => value ?? null;

/** JSONB arrives parsed from PGlite and node-postgres alike; a string is parsed to be safe. */
function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

const TEXT: Conversion = { write: orNull, read: textOf };
const NUMBER: Conversion = {
  write: orNull,
  read: (value) => (value === null || value === undefined ? null : Number(value)),
};
const TIME: Conversion = {
  write: (value) => (value as Date | undefined)?.toISOString() ?? null,
  read: isoOf,
};
/** CHAR(16): the database pads it, so it is trimmed when read. */
const HASH: Conversion = { write: orNull, read: (value) => String(value).trim() };
/** JSONB goes as text; PostgreSQL casts it on insert. */
const JSON_VALUE: Conversion = {
  write: (value) => (value === undefined ? null : JSON.stringify(value)),
  read: parseJson,
  // In a JSON row it is itself, not its text: json_populate_recordset takes it as the column's value.
  inRow: (value) => value,
};
/** NUMERIC since migration 5 (seeds past 2^53): written and read as exact decimal text. */
const DECIMAL: Conversion = { write: (value) => (value === undefined ? null : String(value)), read: textOf };

/** A metadata reading as the catalog stores it: what the file says, and what its headers say it is. */
export interface Reading {
  metadata?: GenerationMetadata;
  media?: MediaInfo;
}

export interface FileColumn {
  name: string;
  as: Conversion;
  /** The SELECT expression, when the column is not read as itself. */
  select?: string;
  /** What an insert writes, from the record (and the destination's row id); absent: the database's default. */
  insert?: (record: StoredFileRecord, destId: number | null) => unknown;
  /** What a metadata reading writes; these columns are the ones a reindex rewrites. */
  reading?: (reading: Reading) => unknown;
  /** The GenerationMetadata field the column holds. */
  meta?: keyof GenerationMetadata;
  /** The FileDetail field it fills; `hit` when search hits show it too. */
  field?: keyof FileDetail;
  hit?: true;
  /** The Provenance field it fills, in the file detail. */
  provenance?: keyof Provenance;
}

const meta = (key: keyof GenerationMetadata) => ({
  meta: key,
  reading: ({ metadata }: Reading) => metadata?.[key],
});

/**
 * Every column of `files` a controller writes or reads, in the order a file detail (and a search
 * hit, its first fields) lists them. The rest (the `search` vector) the database derives itself.
 */
const COLUMNS: readonly FileColumn[] = [
  { name: 'id', as: NUMBER, field: 'id', hit: true },
  { name: 'agent', as: TEXT, insert: (r) => r.agent, field: 'agent', hit: true },
  { name: 'container_path', as: TEXT, insert: (r) => r.containerPath, field: 'containerPath', hit: true },
  { name: 'stored_path', as: TEXT, insert: (r) => r.storedPath, field: 'storedPath', hit: true },
  { name: 'size', as: NUMBER, insert: (r) => r.size, field: 'size', hit: true },
  { name: 'mtime_ms', as: NUMBER, insert: (r) => r.mtimeMs, field: 'mtimeMs' },
  { name: 'xxh64', as: HASH, insert: (r) => r.xxh64, field: 'xxh64' },
  { name: 'run_id', as: TEXT, insert: (r) => r.runId, field: 'runId' },
  { name: 'synced_at', as: TIME, insert: (r) => r.syncedAt, field: 'syncedAt', hit: true },
  { name: 'purged_at', as: TIME, field: 'purgedAt', hit: true },
  { name: 'purge_run_id', as: TEXT, field: 'purgeRunId' },
  { name: 'purge_outcome', as: TEXT, field: 'purgeOutcome' },
  { name: 'starred_at', as: TIME, field: 'starredAt' },
  { name: 'host', as: TEXT, insert: (r) => r.provenance?.host, provenance: 'host' },
  { name: 'container_id', as: TEXT, insert: (r) => r.provenance?.containerId, provenance: 'containerId' },
  {
    name: 'container_name',
    as: TEXT,
    insert: (r) => r.provenance?.containerName,
    provenance: 'containerName',
  },
  { name: 'image', as: TEXT, insert: (r) => r.provenance?.image, provenance: 'image' },
  { name: 'dest_id', as: NUMBER, insert: (_r, destId) => destId },
  { name: 'meta_source', as: TEXT, ...meta('source'), field: 'metaSource', hit: true },
  { name: 'meta_error', as: TEXT, ...meta('error'), field: 'metaError', hit: true },
  { name: 'meta_from', as: TEXT, insert: (r) => r.metaFrom, field: 'metaFrom' },
  { name: 'infotext', as: TEXT, ...meta('raw') },
  { name: 'prompt', as: TEXT, ...meta('prompt'), field: 'prompt', hit: true },
  { name: 'negative_prompt', as: TEXT, ...meta('negativePrompt'), field: 'negativePrompt', hit: true },
  { name: 'seed', as: DECIMAL, select: 'seed::text AS seed', ...meta('seed'), field: 'seed', hit: true },
  { name: 'steps', as: NUMBER, ...meta('steps'), field: 'steps', hit: true },
  { name: 'cfg', as: NUMBER, ...meta('cfg'), field: 'cfg', hit: true },
  { name: 'sampler', as: TEXT, ...meta('sampler'), field: 'sampler', hit: true },
  { name: 'scheduler', as: TEXT, ...meta('scheduler'), field: 'scheduler', hit: true },
  { name: 'model', as: TEXT, ...meta('model'), field: 'model', hit: true },
  { name: 'model_hash', as: TEXT, ...meta('modelHash') },
  { name: 'loras', as: JSON_VALUE, ...meta('loras') },
  { name: 'width', as: NUMBER, ...meta('width'), field: 'width', hit: true },
  { name: 'height', as: NUMBER, ...meta('height'), field: 'height', hit: true },
  { name: 'params', as: JSON_VALUE, ...meta('params') },
  { name: 'samplers', as: JSON_VALUE, ...meta('samplers') },
  { name: 'comfy_prompt', as: JSON_VALUE, ...meta('comfyPrompt') },
  { name: 'comfy_workflow', as: JSON_VALUE, ...meta('comfyWorkflow') },
  { name: 'media_kind', as: TEXT, reading: ({ media }) => media?.kind, field: 'kind', hit: true },
  { name: 'pixel_width', as: NUMBER, reading: ({ media }) => media?.width, field: 'pixelWidth', hit: true },
  {
    name: 'pixel_height',
    as: NUMBER,
    reading: ({ media }) => media?.height,
    field: 'pixelHeight',
    hit: true,
  },
  {
    name: 'meta_version',
    as: NUMBER,
    reading: ({ metadata }) => (metadata ? METADATA_READER_VERSION : undefined),
  },
];

const selected = (column: FileColumn) => column.select ?? column.name;

/** The columns a metadata reading fills; reindex rewrites exactly these. */
export const READING_COLUMNS = COLUMNS.filter((column) => column.reading);
/** The columns an insert of a stored record writes: the record's, then its reading's. */
export const INSERT_COLUMNS = [...COLUMNS.filter((column) => column.insert), ...READING_COLUMNS];

const HIT_COLUMNS = COLUMNS.filter((column) => column.hit);
const META_COLUMNS = COLUMNS.filter((column) => column.meta);

/** The SELECT list of a search hit (with dest_id, for its destination). */
export const HIT_SELECT = [...HIT_COLUMNS.map(selected), 'dest_id'].join(', ');
/** The SELECT list of a row's generation metadata, as metadataOf reads it. */
export const METADATA_SELECT = META_COLUMNS.map(selected).join(', ');

/** Values of READING_COLUMNS, in its order. */
export function readingValues(reading: Reading): unknown[] {
  return READING_COLUMNS.map((column) => column.as.write(column.reading!(reading)));
}

/**
 * A record as one JSON row keyed by column name, for an INSERT … SELECT from
 * json_populate_recordset: one parameter for many rows, which PostgreSQL (and PGlite's WASM most
 * of all) parses far faster than thousands of bound ones. A null field is left out.
 */
export function insertRowJson(record: StoredFileRecord, destId: number | null): string {
  const row: Record<string, unknown> = {};
  for (const column of INSERT_COLUMNS) {
    const value = column.insert ? column.insert(record, destId) : column.reading!(record);
    const written = column.as.inRow ? column.as.inRow(value) : column.as.write(value);
    if (written !== null && written !== undefined) row[column.name] = written;
  }
  return wellFormedJson(row);
}

/**
 * JSON.stringify escapes a lone UTF-16 surrogate as \udXXX, which PostgreSQL's JSON parser refuses;
 * as a bound text parameter it became U+FFFD, and so it does here. (A pair is written as itself,
 * so every such escape not itself escaped is a lone half.)
 */
function wellFormedJson(value: unknown): string {
  const json = JSON.stringify(value);
  // Nearly every row has no such escape: the look-behind search is for the few that do.
  if (!json.includes('\\ud')) return json;
  return json.replace(/(?<=(?:^|[^\\])(?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g, '\\ufffd');
}

/** The metadata columns of a files row (with `seed` selected as text) as GenerationMetadata; null without any. */
export function metadataOf(row: Row): GenerationMetadata | null {
  if (row.meta_source === null || row.meta_source === undefined) return null;
  const metadata: Record<string, unknown> = {};
  for (const column of META_COLUMNS) {
    const value = column.as.read(row[column.name]);
    if (value !== null && value !== undefined) metadata[column.meta!] = value;
  }
  return metadata as unknown as GenerationMetadata;
}

/** The SearchHit fields of a row selected with HIT_SELECT, but its destination's. */
export function hitOf(row: Row): Omit<SearchHit, 'destHost' | 'destPath'> {
  const hit: Record<string, unknown> = {};
  for (const column of HIT_COLUMNS) hit[column.field!] = column.as.read(row[column.name]);
  return hit as unknown as Omit<SearchHit, 'destHost' | 'destPath'>;
}

/** The FileDetail fields of a whole row (with `seed` as text), but its destination and metadata. */
export function detailOf(row: Row): Omit<FileDetail, 'destHost' | 'destPath' | 'metadata'> {
  const detail: Record<string, unknown> = {};
  for (const column of COLUMNS) {
    if (column.field) detail[column.field] = column.as.read(row[column.name]);
    if (column.provenance) {
      const provenance = (detail.provenance ??= {}) as Provenance;
      if (row[column.name]) provenance[column.provenance] = String(row[column.name]);
    }
  }
  return detail as unknown as Omit<FileDetail, 'destHost' | 'destPath' | 'metadata'>;
}
