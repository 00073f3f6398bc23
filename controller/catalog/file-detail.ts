// Reading one stored file's whole catalog row (GET /v1/files/:id), apart from the search SQL.
import type { GenerationMetadata, MediaKind } from '../metadata/extract.js';
import type { FileDetail } from './catalog.js';
import type { SqlClient } from './sql-client.js';

type Row = Record<string, unknown>;

const iso = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value as string).toISOString();
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** JSONB arrives parsed from PGlite and node-postgres alike; a string is parsed to be safe. */
function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** The metadata columns of a files row (with `seed` selected as text) as GenerationMetadata; null without any. */
export function metadataOf(row: Row): GenerationMetadata | null {
  if (row.meta_source === null || row.meta_source === undefined) return null;
  const meta: Record<string, unknown> = {
    source: row.meta_source,
    error: row.meta_error,
    raw: row.infotext,
    prompt: row.prompt,
    negativePrompt: row.negative_prompt,
    seed: row.seed,
    steps: row.steps,
    cfg: row.cfg,
    sampler: row.sampler,
    scheduler: row.scheduler,
    model: row.model,
    modelHash: row.model_hash,
    loras: parseJson(row.loras),
    width: row.width,
    height: row.height,
    params: parseJson(row.params),
    samplers: parseJson(row.samplers),
    comfyPrompt: parseJson(row.comfy_prompt),
    comfyWorkflow: parseJson(row.comfy_workflow),
  };
  for (const key of Object.keys(meta)) if (meta[key] === null || meta[key] === undefined) delete meta[key];
  return meta as unknown as GenerationMetadata;
}

/** Sets or clears the star of the row with this id; false when there is none. */
export async function writeStarred(db: SqlClient, id: number, starred: boolean, at: Date): Promise<boolean> {
  const { rows } = await db.query<{ id: unknown }>(
    'UPDATE files SET starred_at = $2 WHERE id = $1 RETURNING id',
    [id, starred ? at.toISOString() : null],
  );
  return rows.length > 0;
}

/** The row with this id, every column, and its destination; null when there is none. */
export async function readFileDetail(db: SqlClient, id: number): Promise<FileDetail | null> {
  const { rows } = await db.query<Row>(
    `SELECT f.*, f.seed::text AS seed_text, d.host AS dest_host, d.path AS dest_path
     FROM files f LEFT JOIN destinations d ON d.id = f.dest_id WHERE f.id = $1`,
    [id],
  );
  if (!rows[0]) return null;
  // NUMERIC since migration 5: read as exact text, whatever the driver makes of numerics.
  const row: Row = { ...rows[0], seed: rows[0].seed_text };
  const provenance: FileDetail['provenance'] = {};
  if (row.host) provenance.host = String(row.host);
  if (row.container_id) provenance.containerId = String(row.container_id);
  if (row.container_name) provenance.containerName = String(row.container_name);
  if (row.image) provenance.image = String(row.image);
  return {
    id: Number(row.id),
    agent: String(row.agent),
    containerPath: String(row.container_path),
    storedPath: String(row.stored_path),
    size: Number(row.size),
    mtimeMs: Number(row.mtime_ms),
    xxh64: String(row.xxh64).trim(),
    runId: String(row.run_id),
    syncedAt: iso(row.synced_at)!,
    purgedAt: iso(row.purged_at),
    purgeRunId: text(row.purge_run_id),
    purgeOutcome: text(row.purge_outcome),
    starredAt: iso(row.starred_at),
    provenance,
    metaSource: text(row.meta_source),
    metaError: text(row.meta_error),
    metaFrom: text(row.meta_from),
    prompt: text(row.prompt),
    negativePrompt: text(row.negative_prompt),
    seed: text(row.seed),
    steps: num(row.steps),
    cfg: num(row.cfg),
    sampler: text(row.sampler),
    scheduler: text(row.scheduler),
    model: text(row.model),
    width: num(row.width),
    height: num(row.height),
    kind: text(row.media_kind) as MediaKind | null,
    pixelWidth: num(row.pixel_width),
    pixelHeight: num(row.pixel_height),
    destHost: text(row.dest_host),
    destPath: text(row.dest_path),
    metadata: metadataOf(row),
  };
}
