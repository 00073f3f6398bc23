// Searching the catalog: what people type and pick, as one SQL query over the files table.
import { AppError } from '../../common/errors.js';
import type { MediaKind } from '../metadata/extract.js';
import type { SearchHit, SearchPage, SearchQuery } from './catalog.js';
import { destinationsOf } from './destinations.js';
import { toPrefixTsquery } from './search-text.js';
import type { SqlClient } from './sql-client.js';

interface HitRow {
  id: string | number;
  agent: string;
  container_path: string;
  stored_path: string;
  size: string | number;
  synced_at: Date | string;
  purged_at: Date | string | null;
  meta_source: string | null;
  meta_error: string | null;
  prompt: string | null;
  negative_prompt: string | null;
  seed: string | null;
  steps: number | null;
  cfg: number | null;
  sampler: string | null;
  scheduler: string | null;
  model: string | null;
  width: number | null;
  height: number | null;
  media_kind: MediaKind | null;
  pixel_width: number | null;
  pixel_height: number | null;
  dest_id: number | null;
}

const HIT_COLUMNS = `id, agent, container_path, stored_path, size, synced_at, purged_at, meta_source, meta_error,
  prompt, negative_prompt, seed::text AS seed, steps, cfg, sampler, scheduler, model, width, height,
  media_kind, pixel_width, pixel_height, dest_id`;

/** Every column a search condition reads. */
const FILTER_COLUMNS = 'id, search, loras, model, media_kind, seed, sampler, agent, synced_at, starred_at';

/** Rows read newest first, below the cursor, before a full-text search asks its index: see newestFirst. */
export const RECENT_WINDOW = 5000;

const whereClause = (conditions: readonly string[]): string => {
  const used = conditions.filter(Boolean);
  return used.length > 0 ? `WHERE ${used.join(' AND ')}` : '';
};

/**
 * A full-text search with a phrase, newest first. Through the GIN index, PostgreSQL must fetch
 * and recheck every row that holds the words before it can sort them, and it cannot guess how
 * many hold the phrase: a common tag (`blue_hair (masterpiece:1.2)`) matched 4,800 of 200,000
 * rows, and the index path took 90-300 ms. So
 * the newest RECENT_WINDOW rows are read first, along the primary key, where a page of a common
 * match is found in a few ms. Only when they hold less than a page (a match rarer than one row
 * in 250) does the index look below them, and a match that rare has few rows to fetch.
 */
async function newestFirst(
  db: SqlClient,
  where: readonly string[],
  below: string,
  params: readonly unknown[],
  wanted: number,
): Promise<HitRow[]> {
  // Only the columns the conditions read: whole rows made this four times slower.
  const recent = `SELECT ${FILTER_COLUMNS} FROM files ${whereClause([below])} ORDER BY id DESC LIMIT ${RECENT_WINDOW}`;
  const { rows: found } = await db.query<{ id: string | number }>(
    `SELECT id FROM (${recent}) recent ${whereClause(where)} ORDER BY id DESC LIMIT ${wanted}`,
    [...params],
  );
  const rows =
    found.length === 0
      ? []
      : (
          await db.query<HitRow>(
            `SELECT ${HIT_COLUMNS} FROM files WHERE id = ANY($1::bigint[]) ORDER BY id DESC`,
            [found.map((row) => String(row.id))],
          )
        ).rows;
  if (rows.length >= wanted) return rows;
  const { rows: window } = await db.query<{ floor: string | null; n: number }>(
    `SELECT min(id)::text AS floor, count(*)::int AS n FROM (SELECT id FROM files ${whereClause([below])}
     ORDER BY id DESC LIMIT ${RECENT_WINDOW}) ids`,
  );
  const { floor, n } = window[0]!;
  if (floor === null || n < RECENT_WINDOW) return rows; // the window held every row below the cursor
  const older = await db.query<HitRow>(
    `SELECT ${HIT_COLUMNS} FROM files ${whereClause([...where, `id < ${floor}`])}
     ORDER BY id DESC LIMIT ${wanted - rows.length}`,
    [...params],
  );
  return [...rows, ...older.rows];
}

const iso = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

/** Finds stored files by the query's words and filters, newest first, a page at a time. */
export async function searchFiles(db: SqlClient, query: SearchQuery): Promise<SearchPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const tsquery = query.text ? toPrefixTsquery(query.text) : null;
  if (tsquery) where.push(`search @@ to_tsquery('simple', ${param(tsquery)})`);
  if (query.model) {
    // A substring cannot use an index, and a rare one meant reading every row (160 ms at 200k).
    // There are few distinct model names: find those that match, then their rows by index.
    const names = await modelsLike(db, query.model);
    if (names.length === 0) return { items: [], nextCursor: null };
    where.push(`lower(model) = ANY(${param(names)}::text[])`);
  }
  if (query.kind) where.push(`media_kind = ${param(query.kind)}`);
  if (query.seed) where.push(`seed = ${param(query.seed)}::numeric`);
  if (query.sampler) where.push(`lower(sampler) = ${param(query.sampler.toLowerCase())}`);
  if (query.lora !== undefined) {
    // Words or word starts of a LoRA name (`pixel` finds Pixel_Art_XL). The GIN index narrows
    // to rows with those words anywhere; a cheap recheck keeps those where a LoRA name, cut
    // into words the same way, holds them in sequence.
    const loraQuery = toPrefixTsquery(query.lora);
    const words = query.lora.toLowerCase().match(/[\p{L}\p{N}]+/gu);
    if (loraQuery === null || !words) {
      where.push('false');
    } else {
      where.push(
        `search @@ to_tsquery('simple', ${param(loraQuery)}) AND EXISTS (
           SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(loras) = 'array' THEN loras ELSE '[]' END) l
           WHERE regexp_replace(lower(l->>'name'), '[^[:alnum:]]+', ' ', 'g') LIKE ${param(`%${words.join(' ')}%`)})`,
      );
    }
  }
  if (query.agent) where.push(`agent = ${param(query.agent)}`);
  if (query.since) where.push(`synced_at >= ${param(query.since.toISOString())}`);
  if (query.madeFrom) where.push(`mtime_ms >= ${param(query.madeFrom.getTime())}`);
  if (query.madeTo) where.push(`mtime_ms <= ${param(query.madeTo.getTime())}`);
  if (query.starred) where.push('starred_at IS NOT NULL');
  let below = '';
  if (query.cursor) {
    if (!/^\d+$/.test(query.cursor)) throw new AppError('E_BAD_REQUEST', `bad cursor "${query.cursor}"`);
    below = `id < ${query.cursor}`; // digits only, checked above
  }
  const wanted = query.limit + 1;
  const rows =
    // A phrase (a quoted one, or a word cut into parts: blue_hair, 1.2) is what the planner
    // cannot estimate; plain words it estimates from the statistics, and picks well.
    tsquery?.includes('<->')
      ? await newestFirst(db, where, below, params, wanted)
      : (
          await db.query<HitRow>(
            `SELECT ${HIT_COLUMNS} FROM files ${whereClause([...where, below])}
             ORDER BY id DESC LIMIT ${wanted}`,
            params,
          )
        ).rows;
  const destinations = await destinationsOf(
    db,
    rows.map((row) => row.dest_id),
  );
  const items: SearchHit[] = rows.slice(0, query.limit).map((row) => ({
    id: Number(row.id),
    agent: row.agent,
    containerPath: row.container_path,
    storedPath: row.stored_path,
    size: Number(row.size),
    syncedAt: iso(row.synced_at)!,
    purgedAt: iso(row.purged_at),
    metaSource: row.meta_source,
    metaError: row.meta_error,
    prompt: row.prompt,
    negativePrompt: row.negative_prompt,
    seed: row.seed,
    steps: row.steps,
    cfg: row.cfg,
    sampler: row.sampler,
    scheduler: row.scheduler,
    model: row.model,
    width: row.width,
    height: row.height,
    kind: row.media_kind,
    pixelWidth: row.pixel_width,
    pixelHeight: row.pixel_height,
    destHost: row.dest_id === null ? null : (destinations.get(Number(row.dest_id))?.host ?? null),
    destPath: row.dest_id === null ? null : (destinations.get(Number(row.dest_id))?.path ?? null),
  }));
  const more = rows.length > query.limit;
  return { items, nextCursor: more ? String(items.at(-1)!.id) : null };
}

/** The lower-case model names containing `part` in any case, from the model_names table. */
async function modelsLike(db: SqlClient, part: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT name FROM model_names WHERE name LIKE '%' || lower($1) || '%'`,
    [part.replace(/[%_\\]/g, '\\$&')],
  );
  return rows.map((row) => row.name);
}

/**
 * Adds the model names to model_names, lower-cased by the database (as `lower(model)` in the
 * index is), for --model searches. In sorted order, so that two controllers adding the same new
 * names on a shared catalog wait for each other instead of deadlocking.
 */
export async function addModelNames(
  db: Pick<SqlClient, 'query'>,
  models: readonly (string | undefined)[],
): Promise<void> {
  const names = [...new Set(models.filter((model) => model !== undefined))];
  if (names.length === 0) return;
  await db.query(
    `INSERT INTO model_names (name) SELECT DISTINCT lower(m) FROM unnest($1::text[]) AS m ORDER BY 1
     ON CONFLICT (name) DO NOTHING`,
    [names],
  );
}
