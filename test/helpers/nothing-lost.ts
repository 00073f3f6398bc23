// The check every fault test ends with: each file written into a container is still there, byte for byte,
// or stored on the host byte for byte and catalogued; and nothing on the host holds bytes never written.
import { access, readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { expect } from 'vitest';
import { createXxh64 } from '../../common/xxh64.js';

export async function xxh64Of(bytes: Buffer): Promise<string> {
  const hasher = await createXxh64();
  hasher.update(bytes);
  return hasher.hex();
}

export interface CatalogRow {
  agent: string;
  container_path: string;
  stored_path: string;
  xxh64: string;
  purged_at: Date | null;
  purge_run_id: string | null;
  purge_outcome: string | null;
}

/** Every catalog row of `dest`'s embedded catalog; no forge-sync process may have it open. */
export async function catalogRows(dest: string): Promise<CatalogRow[]> {
  const dataDir = join(dest, '.forge-sync/catalog');
  // A run killed before its catalog was made has recorded nothing; opening would create one.
  if (
    !(await access(join(dataDir, 'PG_VERSION')).then(
      () => true,
      () => false,
    ))
  )
    return [];
  const db = await PGlite.create(dataDir);
  try {
    const { rows } = await db.query<CatalogRow>(
      `SELECT agent, container_path, stored_path, xxh64, purged_at, purge_run_id, purge_outcome
       FROM files ORDER BY id`,
    );
    return rows;
  } finally {
    await db.close();
  }
}

async function filesBelow(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const dirent of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, dirent.name);
      if (dirent.isDirectory()) await walk(path);
      else out.push(relative(root, path).split('\\').join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

export interface Container {
  agent: string;
  /** The agent's root folder, served as `rootName`. */
  rootDir: string;
  rootName: string;
  /** What was written there: path below the root → bytes. */
  written: ReadonlyMap<string, Buffer>;
}

/**
 * Fails unless every written file is in its container with its bytes, or stored and catalogued on
 * the host with its bytes (or both); every file under `<dest>/<agent>` is catalogued and holds bytes
 * that were written; and no file is left set aside by a purge. Returns how many were where.
 */
export async function expectNothingLost(
  dest: string,
  containers: readonly Container[],
): Promise<{ inContainer: number; onHost: number; onlyOnHost: number }> {
  const rows = await catalogRows(dest);
  const counts = { inContainer: 0, onHost: 0, onlyOnHost: 0 };
  for (const { agent, rootDir, rootName, written } of containers) {
    const left = await filesBelow(rootDir);
    expect(
      left.filter((path) => path.split('/').some((part) => part.startsWith('.forge-sync-purge.'))),
      'files a purge set aside',
    ).toEqual([]);
    const hashes = new Map<string, string>();
    for (const [rel, bytes] of written) hashes.set(rel, await xxh64Of(bytes));
    for (const [rel, bytes] of written) {
      const here = await readFile(join(rootDir, rel)).catch(() => null);
      const inContainer = here !== null && here.equals(bytes);
      const row = rows.find(
        (r) => r.agent === agent && r.container_path === `${rootName}/${rel}` && r.xxh64 === hashes.get(rel),
      );
      const stored = row ? await readFile(join(dest, ...row.stored_path.split('/'))).catch(() => null) : null;
      const onHost = stored !== null && stored.equals(bytes);
      expect(inContainer || onHost, `${agent}:${rel} is neither in its container nor on the host`).toBe(true);
      if (inContainer) counts.inContainer++;
      if (onHost) counts.onHost++;
      if (onHost && !inContainer) counts.onlyOnHost++;
    }
    // Nothing on the host but catalogued copies of written bytes: no partial, no wrong content.
    const known = new Set([...hashes.values()]);
    for (const rel of await filesBelow(join(dest, agent))) {
      const storedPath = `${agent}/${rel}`;
      const row = rows.find((r) => r.stored_path === storedPath);
      expect(row, `${storedPath} is on the host but not catalogued`).toBeDefined();
      const bytes = await readFile(join(dest, storedPath));
      const hash = await xxh64Of(bytes);
      expect(hash, `${storedPath} holds the bytes its row names`).toBe(row!.xxh64);
      expect(known.has(hash), `${storedPath} holds bytes that were written in the container`).toBe(true);
    }
  }
  return counts;
}
