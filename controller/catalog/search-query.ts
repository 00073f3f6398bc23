// Searching the catalog: what people type and pick, as one SQL query over the files table.
import { AppError } from '../../common/errors.js';
import type { SearchHit, SearchPage, SearchQuery } from './catalog.js';
import { destinationsOf } from './destinations.js';
import { HIT_SELECT, hitOf, type Row } from './file-columns.js';
import { modelsLike } from './model-names.js';
import { toPrefixTsquery } from './search-text.js';
import type { SqlClient } from './sql-client.js';

/** A row selected with HIT_SELECT. */
interface HitRow extends Row {
  id: string | number;
  dest_id: number | null;
}

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
            `SELECT ${HIT_SELECT} FROM files WHERE id = ANY($1::bigint[]) ORDER BY id DESC`,
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
    `SELECT ${HIT_SELECT} FROM files ${whereClause([...where, `id < ${floor}`])}
     ORDER BY id DESC LIMIT ${wanted - rows.length}`,
    [...params],
  );
  return [...rows, ...older.rows];
}

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
            `SELECT ${HIT_SELECT} FROM files ${whereClause([...where, below])}
             ORDER BY id DESC LIMIT ${wanted}`,
            params,
          )
        ).rows;
  const destinations = await destinationsOf(
    db,
    rows.map((row) => row.dest_id),
  );
  const items: SearchHit[] = rows.slice(0, query.limit).map((row) => {
    const dest = row.dest_id === null ? undefined : destinations.get(Number(row.dest_id));
    return { ...hitOf(row), destHost: dest?.host ?? null, destPath: dest?.path ?? null };
  });
  const more = rows.length > query.limit;
  return { items, nextCursor: more ? String(items.at(-1)!.id) : null };
}
