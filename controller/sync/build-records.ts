// Turning stored files into catalog records: provenance, and the generation metadata read from each stored copy.
import type { ManifestEntry } from '../../common/manifest.js';
import type { Catalog, Provenance, StoredFileRecord } from '../catalog/catalog.js';
import { companionImageFor, sidecarTextFor } from '../metadata/companion.js';
import type { FileReading, GenerationMetadata, MediaInfo } from '../metadata/extract.js';

export interface IngestContext {
  agent: string;
  runId: string;
  syncedAt: Date;
  provenance: Provenance;
  catalog: Pick<Catalog, 'findMetadata'>;
}

const PARSE_TIMEOUT_MS = 20_000;

/**
 * Builds the records of a batch of durable files, with the metadata read as each arrived; a file
 * without it, or whose metadata is broken or slow to read, is recorded all the same, with what went
 * wrong in `metadata.error`. A video without metadata of its own borrows its first-frame image's
 * (VideoHelperSuite), and an image without its own takes its Forge `.txt` sidecar's, from the same
 * batch or the catalog; `metaFrom` links the record to the file the metadata came from. The media
 * kind and pixel size are always the file's own.
 */
export async function buildRecords(
  stored: readonly {
    entry: ManifestEntry;
    storedPath: string;
    metadata: GenerationMetadata;
    media?: MediaInfo;
  }[],
  ctx: IngestContext,
): Promise<StoredFileRecord[]> {
  // Read from the verified bytes as they arrived (extract.ts); here only looked up by path.
  const metadata = new Map(stored.map((file) => [file.entry.path, file.metadata]));
  const companionOf = (file: (typeof stored)[number]): string | undefined =>
    file.metadata.source === 'none'
      ? (companionImageFor(file.entry.path) ?? sidecarTextFor(file.entry.path))
      : undefined;
  // Companions that came in an earlier batch are asked for all at once: one query per batch, not per file.
  const earlier = new Set<string>();
  for (const file of stored) {
    const companion = companionOf(file);
    if (companion && !metadata.has(companion)) earlier.add(companion);
  }
  const catalogued = await ctx.catalog.findMetadata(ctx.agent, [...earlier]);
  const records: StoredFileRecord[] = [];
  for (const file of stored) {
    const { entry, storedPath, media } = file;
    let meta = file.metadata;
    let metaFrom: string | undefined;
    const companion = companionOf(file);
    if (companion) {
      const borrowed = metadata.get(companion) ?? catalogued.get(companion);
      if (borrowed && borrowed.source !== 'none') {
        meta = borrowed;
        metaFrom = companion;
      }
    }
    records.push({
      agent: ctx.agent,
      containerPath: entry.path,
      storedPath,
      size: entry.size,
      mtimeMs: entry.mtimeMs,
      xxh64: entry.xxh64,
      runId: ctx.runId,
      syncedAt: ctx.syncedAt,
      provenance: ctx.provenance,
      metadata: meta,
      // The borrowed metadata says how it was generated; what the file is stays its own.
      ...(media ? { media } : {}),
      ...(metaFrom ? { metaFrom } : {}),
    });
  }
  return records;
}

/**
 * Runs a metadata read, giving up after PARSE_TIMEOUT_MS: a file whose metadata is that slow to
 * read is recorded with the reason instead.
 */
export async function readMetadataWithin(
  read: () => Promise<FileReading>,
  timeoutMs = PARSE_TIMEOUT_MS,
): Promise<FileReading> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<FileReading>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          metadata: { source: 'none', error: `metadata not read within ${timeoutMs / 1000}s` },
          media: { kind: 'other' },
        }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([read(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
