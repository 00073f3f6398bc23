// Versioned schema migrations, plain SQL that PGlite and PostgreSQL both run.
import { type SqlClient, leaseKey } from './sql-client.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The words of a row's LoRA names, cut at . _ / - (the text parser would take a name with an
 * extension as one word). Migration 5's search column is built from it, so it must never change:
 * a new expression needs a new migration and a new constant.
 */
export const LORA_WORDS =
  "regexp_replace(coalesce(jsonb_path_query_array(loras, '$[*].name'), '[]'::jsonb)::text, '[._/-]+', ' ', 'g')";

/** Append only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'files',
    sql: `
      CREATE TABLE files (
        id           BIGSERIAL PRIMARY KEY,
        agent        TEXT        NOT NULL,
        container_path TEXT      NOT NULL,
        stored_path  TEXT        NOT NULL UNIQUE,
        size         BIGINT      NOT NULL CHECK (size >= 0),
        mtime_ms     DOUBLE PRECISION NOT NULL,
        xxh64        CHAR(16)    NOT NULL,
        synced_at    TIMESTAMPTZ NOT NULL,
        run_id       TEXT        NOT NULL,
        purged_at    TIMESTAMPTZ,
        purge_run_id TEXT,
        UNIQUE (agent, container_path, xxh64)
      );
      CREATE INDEX files_agent_path ON files (agent, container_path);
      CREATE INDEX files_run ON files (run_id);
    `,
  },
  {
    version: 2,
    name: 'purge-audit',
    sql: `
      ALTER TABLE files ADD COLUMN purge_outcome TEXT;
      CREATE INDEX files_purge_run ON files (purge_run_id);
      CREATE TABLE agent_syncs (
        agent       TEXT PRIMARY KEY,
        run_id      TEXT        NOT NULL,
        ok          BOOLEAN     NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'provenance-and-generation-metadata',
    sql: `
      ALTER TABLE files
        ADD COLUMN host            TEXT,
        ADD COLUMN container_id    TEXT,
        ADD COLUMN container_name  TEXT,
        ADD COLUMN image           TEXT,
        ADD COLUMN meta_source     TEXT,
        ADD COLUMN meta_error      TEXT,
        ADD COLUMN meta_from       TEXT,
        ADD COLUMN infotext        TEXT,
        ADD COLUMN prompt          TEXT,
        ADD COLUMN negative_prompt TEXT,
        ADD COLUMN seed            TEXT,
        ADD COLUMN steps           INTEGER,
        ADD COLUMN cfg             DOUBLE PRECISION,
        ADD COLUMN sampler         TEXT,
        ADD COLUMN scheduler       TEXT,
        ADD COLUMN model           TEXT,
        ADD COLUMN model_hash      TEXT,
        ADD COLUMN loras           JSONB,
        ADD COLUMN width           INTEGER,
        ADD COLUMN height          INTEGER,
        ADD COLUMN params          JSONB,
        ADD COLUMN samplers        JSONB,
        ADD COLUMN comfy_prompt    JSONB,
        ADD COLUMN comfy_workflow  JSONB;
      ALTER TABLE files ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(prompt, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(model, '') || ' ' || coalesce(sampler, '')), 'B') ||
        setweight(to_tsvector('simple', regexp_replace(container_path, '[/_.-]+', ' ', 'g')), 'C')
      ) STORED;
      CREATE INDEX files_search ON files USING GIN (search);
      CREATE INDEX files_seed ON files (seed);
      CREATE INDEX files_model ON files (lower(model));
      CREATE INDEX files_synced_at ON files (synced_at);
    `,
  },
  {
    version: 4,
    name: 'agent-positions',
    sql: `
      CREATE TABLE agent_positions (
        agent       TEXT PRIMARY KEY,
        epoch       TEXT        NOT NULL,
        generation  BIGINT      NOT NULL CHECK (generation >= 0),
        run_id      TEXT        NOT NULL,
        updated_at  TIMESTAMPTZ NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'metadata-search-and-reader-version',
    sql: `
      -- Seeds compare and sort as integers (970527942 < 93806664037998), exactly past 2^53.
      DROP INDEX files_seed;
      ALTER TABLE files ALTER COLUMN seed TYPE NUMERIC
        USING (CASE WHEN seed ~ '^-?[0-9]{1,40}$' THEN seed::numeric END);
      ALTER TABLE files ADD CONSTRAINT files_seed_integer CHECK (seed = trunc(seed));
      CREATE INDEX files_seed ON files (seed);
      ALTER TABLE files ADD COLUMN meta_version INTEGER;
      UPDATE files SET meta_version = 1 WHERE meta_source IS NOT NULL;
      CREATE INDEX files_meta_version ON files (meta_version);
      CREATE INDEX files_sampler ON files (lower(sampler));
      -- Word parts: 1girl is also indexed as 1 and girl, so "girl" finds it; the default parser
      -- already splits blue_hair and (masterpiece:1.2), but takes Pixel_Art_XL.safetensors for a
      -- file name, one word, so model and LoRA names are cut at . _ / - first. Raw metadata (infotext, or text no reader
      -- understood), LoRA names and every string input of a ComfyUI graph are searchable too.
      ALTER TABLE files DROP COLUMN search;
      ALTER TABLE files ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(prompt, '')), 'A') ||
        setweight(to_tsvector('simple',
          regexp_replace(coalesce(prompt, ''), '([0-9])([[:alpha:]])', '\\1 \\2', 'g')), 'A') ||
        setweight(to_tsvector('simple', coalesce(model, '') || ' ' || coalesce(sampler, '')), 'B') ||
        setweight(to_tsvector('simple', regexp_replace(coalesce(model, ''), '[._/-]+', ' ', 'g')), 'B') ||
        setweight(to_tsvector('simple', ${LORA_WORDS}), 'B') ||
        setweight(to_tsvector('simple',
          regexp_replace(coalesce(infotext, ''), '([0-9])([[:alpha:]])', '\\1 \\2', 'g')), 'C') ||
        setweight(to_tsvector('simple', regexp_replace(
          coalesce(jsonb_path_query_array(comfy_prompt, 'strict $.*.inputs.*'), '[]'::jsonb)::text,
          '([0-9])([[:alpha:]])|\\\\[nrt]', '\\1 \\2', 'g')), 'C') ||
        setweight(to_tsvector('simple', regexp_replace(container_path, '[/_.-]+', ' ', 'g')), 'D')
      ) STORED;
      CREATE INDEX files_search ON files USING GIN (search);
      COMMENT ON COLUMN files.agent IS 'Agent (source container) the file came from';
      COMMENT ON COLUMN files.container_path IS 'Path inside the agent''s output root, as the generator wrote it';
      COMMENT ON COLUMN files.stored_path IS 'Path of the stored copy, relative to the controller destination folder';
      COMMENT ON COLUMN files.meta_source IS 'Metadata format: a1111, comfyui, civitai, unknown (raw kept, see meta_error) or none';
      COMMENT ON COLUMN files.meta_error IS 'Why metadata was not (fully) understood; NULL when it was';
      COMMENT ON COLUMN files.meta_version IS 'Version of the metadata reader that wrote the metadata columns; reindex upgrades older rows';
      COMMENT ON COLUMN files.infotext IS 'Raw metadata text: the A1111 infotext, or text no reader understood';
      COMMENT ON COLUMN files.seed IS 'Generation seed, an exact integer (NUMERIC, may exceed 2^63)';
      COMMENT ON COLUMN files.width IS 'Generation width in pixels, as the metadata states it';
      COMMENT ON COLUMN files.height IS 'Generation height in pixels, as the metadata states it';
      COMMENT ON COLUMN files.loras IS 'LoRAs as JSON [{name, hash?, strength?, civitaiVersionId?}]';
      COMMENT ON COLUMN files.search IS 'Full-text index: prompt and its word parts, model, sampler, LoRAs, raw metadata, ComfyUI graph strings, path';
      `,
  },
  {
    version: 6,
    name: 'favourites',
    sql: `
      ALTER TABLE files ADD COLUMN starred_at TIMESTAMPTZ;
      CREATE INDEX files_starred ON files (id) WHERE starred_at IS NOT NULL;
    `,
  },
  {
    version: 7,
    name: 'media-kind-pixel-size-and-destinations',
    sql: `
      -- Where each copy is on its host: a row names its destination, and a destination its absolute
      -- path, so an indexer reading a shared catalog finds every file (see the file_locations view)
      -- and a moved --dest is one UPDATE. Rows written before this migration have none until a
      -- controller with an embedded catalog opens it, or a reindex reads them from a destination.
      CREATE TABLE destinations (
        id            SERIAL PRIMARY KEY,
        host          TEXT        NOT NULL,
        path          TEXT        NOT NULL,
        first_used_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (host, path)
      );
      ALTER TABLE files
        ADD COLUMN dest_id      INTEGER REFERENCES destinations (id),
        ADD COLUMN media_kind   TEXT,
        ADD COLUMN pixel_width  INTEGER,
        ADD COLUMN pixel_height INTEGER;
      CREATE INDEX files_media_kind ON files (media_kind, id);
      -- Every model name in use, lower-cased: a --model substring is matched against these few
      -- names and their rows found through files_model, instead of reading every row. Writers add
      -- the names they store; a name no row uses any more costs one index lookup, nothing else.
      CREATE TABLE model_names (name TEXT PRIMARY KEY);
      INSERT INTO model_names SELECT DISTINCT lower(model) FROM files WHERE model IS NOT NULL;
      CREATE VIEW file_locations AS
        SELECT f.id, f.agent, f.container_path, d.host, d.path || '/' || f.stored_path AS host_path
        FROM files f JOIN destinations d ON d.id = f.dest_id;
      COMMENT ON TABLE destinations IS 'Each destination folder (--dest) a controller stored files in';
      COMMENT ON COLUMN destinations.host IS 'Host name of the machine the controller ran on';
      COMMENT ON COLUMN destinations.path IS 'Absolute path of --dest on that host, symlinks resolved';
      COMMENT ON COLUMN files.dest_id IS 'Destination the copy was stored under: it is at destinations.path || ''/'' || stored_path';
      COMMENT ON COLUMN files.media_kind IS 'What the bytes are: image, animated (APNG, animated WebP or GIF), video, audio or other; NULL until read';
      COMMENT ON COLUMN files.pixel_width IS 'Width of the stored picture in pixels, from the file''s headers (width is the generation''s)';
      COMMENT ON COLUMN files.pixel_height IS 'Height of the stored picture in pixels, from the file''s headers (height is the generation''s)';
      COMMENT ON COLUMN files.meta_source IS 'Metadata format: a1111, comfyui, civitai, swarmui, fooocus, invokeai, novelai, drawthings, unknown (raw kept, see meta_error) or none';
      COMMENT ON TABLE model_names IS 'Lower-cased model names of files rows, for substring search; may hold names no row uses any more';
      COMMENT ON VIEW file_locations IS 'Absolute host path of every copy whose destination is known';
    `,
  },
  {
    version: 8,
    name: 'drop-redundant-agent-path-index',
    sql: `
      -- The unique index on (agent, container_path, xxh64) answers every lookup by agent and path
      -- (its leading columns); this one only cost each inserted row another B-tree insert, about a
      -- tenth of the embedded catalog's insert time.
      DROP INDEX IF EXISTS files_agent_path;
    `,
  },
  {
    version: 9,
    name: 'requested-purges-index',
    sql: `
      -- The rows of purges not yet settled, found at each purge's start without reading the whole
      -- table (a sequential scan of 200,000 rows took 80-120 ms in PGlite and pushed its cache
      -- out). A row is in it only while its purge is requested, so an insert never touches it.
      CREATE INDEX files_purge_requested ON files (agent, id) WHERE purge_outcome = 'requested';
      -- No query looks rows up by the purge run's id: the index only cost each insert.
      DROP INDEX IF EXISTS files_purge_run;
    `,
  },
];

/**
 * Applies pending migrations in one transaction, under a transaction-scoped advisory lock, so
 * controllers starting together against one PostgreSQL database never apply a migration twice.
 * Returns the versions applied.
 */
export async function migrate(client: SqlClient): Promise<number[]> {
  return client.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${leaseKey('migrations')})`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => Number(row.version)));
    const done: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      done.push(migration.version);
    }
    return done;
  });
}
