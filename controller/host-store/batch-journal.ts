// The batch journal: the names a batch will create in place, on disk before any of them is, and what a stopped run's journals leave to remove.
import { open, readFile, readdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { unsafePathReason } from '../../common/path-safety.js';
import type { Catalog } from '../catalog/catalog.js';
import { STATE_DIR } from './destination.js';
import { fsyncDir } from './durable.js';

/** Writes a new journal and fsyncs it; it must not exist yet. */
export async function writeDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Reads the batch journals a stopped run left in `journalDir`: every listed name the catalog does not
 * record is removed (it was created in place and never catalogued, maybe half-written; the agent
 * still has the file, since nothing uncatalogued is ever purged), then the journal. Returns how many
 * files went.
 */
export async function recoverInflight(
  journalDir: string,
  destRoot: string,
  catalog: Pick<Catalog, 'findByStoredPaths'>,
): Promise<number> {
  let removed = 0;
  for (const entry of await readdir(journalDir)) {
    const journal = join(journalDir, entry);
    const names = parseJournal(await readFile(journal, 'utf8').catch(() => ''));
    const recorded = await catalog.findByStoredPaths(names);
    const touched = new Set<string>();
    for (const name of names) {
      if (recorded.has(name)) continue;
      const path = join(destRoot, ...name.split('/'));
      try {
        await unlink(path);
        removed++;
        touched.add(dirname(path));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    // The removals are on disk before the list that explains them goes.
    for (const dir of touched) await fsyncDir(dir);
    await unlink(journal);
  }
  return removed;
}

/** The names of a journal; none when it is unreadable (cut short while written: nothing was created yet). */
function parseJournal(text: string): string[] {
  try {
    const { names } = JSON.parse(text) as { names?: unknown };
    if (!Array.isArray(names)) return [];
    // Only names a batch could have made: relative, inside an agent's folder, never the state folder.
    return names.filter(
      (name): name is string =>
        typeof name === 'string' && unsafePathReason(name) === null && !name.startsWith(`${STATE_DIR}/`),
    );
  } catch {
    return [];
  }
}
