// Looking files rows up for a sync: the hashes stored per container path, a stored path's row, catalogued metadata.
import type { GenerationMetadata } from '../../common/generation-metadata.js';
import type { StoredPathInfo } from './catalog.js';
import { METADATA_SELECT, metadataOf } from './file-columns.js';
import type { SqlClient } from './sql-client.js';

export async function storedIndex(db: SqlClient, agent: string): Promise<Map<string, Set<string>>> {
  const { rows } = await db.query<{ container_path: string; xxh64: string }>(
    'SELECT container_path, xxh64 FROM files WHERE agent = $1',
    [agent],
  );
  return hashesByPath(rows);
}

export async function storedIndexOf(
  db: SqlClient,
  agent: string,
  paths: readonly string[],
): Promise<Map<string, Set<string>>> {
  if (paths.length === 0) return new Map();
  const { rows } = await db.query<{ container_path: string; xxh64: string }>(
    'SELECT container_path, xxh64 FROM files WHERE agent = $1 AND container_path = ANY($2::text[])',
    [agent, paths],
  );
  return hashesByPath(rows);
}

export async function findByStoredPaths(
  db: SqlClient,
  storedPaths: readonly string[],
): Promise<Map<string, StoredPathInfo>> {
  const found = new Map<string, StoredPathInfo>();
  if (storedPaths.length === 0) return found;
  const { rows } = await db.query<{
    agent: string;
    container_path: string;
    stored_path: string;
    xxh64: string;
    size: string | number;
  }>(
    'SELECT agent, container_path, stored_path, xxh64, size FROM files WHERE stored_path = ANY($1::text[])',
    [storedPaths],
  );
  for (const row of rows) {
    found.set(row.stored_path, {
      agent: row.agent,
      containerPath: row.container_path,
      xxh64: row.xxh64,
      size: Number(row.size),
    });
  }
  return found;
}

export async function findMetadata(
  db: SqlClient,
  agent: string,
  containerPaths: readonly string[],
): Promise<Map<string, GenerationMetadata>> {
  const found = new Map<string, GenerationMetadata>();
  if (containerPaths.length === 0) return found;
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT DISTINCT ON (container_path) container_path, ${METADATA_SELECT}
     FROM files WHERE agent = $1 AND container_path = ANY($2::text[])
       AND meta_source IS NOT NULL AND meta_source <> 'none'
     ORDER BY container_path, id DESC`,
    [agent, containerPaths],
  );
  for (const row of rows) {
    const metadata = metadataOf(row);
    if (metadata) found.set(row.container_path as string, metadata);
  }
  return found;
}

export async function countFiles(db: SqlClient, agent?: string): Promise<number> {
  const { rows } = agent
    ? await db.query<{ n: number }>('SELECT count(*)::int AS n FROM files WHERE agent = $1', [agent])
    : await db.query<{ n: number }>('SELECT count(*)::int AS n FROM files');
  return rows[0]?.n ?? 0;
}

function hashesByPath(rows: readonly { container_path: string; xxh64: string }[]): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  for (const row of rows) {
    let hashes = index.get(row.container_path);
    if (!hashes) index.set(row.container_path, (hashes = new Set()));
    hashes.add(row.xxh64);
  }
  return index;
}
