// `forge-sync reindex`: re-reads the stored copies whose catalog rows came from an older metadata reader.
import { join } from 'node:path';
import type { Catalog, MetadataUpdate, ReindexCandidate } from '../catalog/catalog.js';
import { type FileReading, readStoredFile } from '../metadata/extract.js';
import { METADATA_READER_VERSION } from '../../common/generation-metadata.js';

export interface ReindexProgress {
  done: number;
  total: number;
  updated: number;
  /** Stored copies that are gone from the destination; their rows are left as they were. */
  missing: number;
}

export interface ReindexOptions {
  all: boolean;
  batchSize: number;
  onProgress?: (progress: ReindexProgress) => void;
}

/**
 * Re-reads each selected row's stored copy under `destRoot` and rewrites its metadata and media
 * columns, batch by batch in id order, so memory stays bounded and an interrupted run resumes where
 * the reader version says. Rows that borrow their metadata from a companion file come last, so
 * they take the companion's new reading; one whose own bytes now have metadata keeps its own. A
 * stored copy that is missing is counted and skipped, not an error.
 */
export async function runReindex(
  catalog: Pick<Catalog, 'listForReindex' | 'countForReindex' | 'updateMetadata' | 'findMetadata'>,
  destRoot: string,
  options: ReindexOptions,
): Promise<ReindexProgress> {
  const select = { all: options.all, belowVersion: METADATA_READER_VERSION };
  const progress: ReindexProgress = {
    done: 0,
    total: await catalog.countForReindex(select),
    updated: 0,
    missing: 0,
  };
  for (const borrowed of [false, true]) {
    let afterId = 0;
    for (;;) {
      const batch = await catalog.listForReindex({ ...select, borrowed, afterId, limit: options.batchSize });
      if (batch.length === 0) break;
      for (const row of batch) {
        const reading = await readStoredFile(join(destRoot, row.storedPath));
        if (reading.metadata.error?.startsWith('cannot open the file: ENOENT')) {
          progress.missing++;
        } else {
          await catalog.updateMetadata(row.id, await update(catalog, row, reading));
          progress.updated++;
        }
        progress.done++;
        afterId = row.id;
      }
      options.onProgress?.({ ...progress });
    }
  }
  return progress;
}

/** The new reading of a row, or for a row that borrows its metadata, the companion's with the row's own media. */
async function update(
  catalog: Pick<Catalog, 'findMetadata'>,
  row: ReindexCandidate,
  reading: FileReading,
): Promise<MetadataUpdate> {
  if (row.metaFrom === null) return reading;
  if (reading.metadata.source === 'none') {
    const borrowed = (await catalog.findMetadata(row.agent, [row.metaFrom])).get(row.metaFrom);
    if (borrowed) return { metadata: borrowed, media: reading.media };
  }
  return { ...reading, metaFrom: null };
}
