// The search shapes of the wire contract: what `forge-sync search`, GET /v1/files and the gallery ask and get.
import { join } from 'node:path';
import type { GenerationMetadata, MediaKind } from './generation-metadata.js';

/** Where a file came from, beyond the agent's name: filled in when the controller knows it (Docker discovery). */
export interface Provenance {
  /** The host the controller that stored it runs on. */
  host?: string;
  containerId?: string;
  containerName?: string;
  image?: string;
}

export interface SearchQuery {
  /**
   * Words (and word parts, by prefix) of the prompt, model, sampler, LoRAs, raw metadata, ComfyUI
   * graph strings or file name; "quoted phrases", OR, -word. See toPrefixTsquery.
   */
  text?: string;
  /** Part of the model (checkpoint) name, any case. */
  model?: string;
  /** Exact seed, a decimal integer. */
  seed?: string;
  /** Words or word starts of a LoRA name, any case (`pixel` or `pixel_art` finds Pixel_Art_XL). */
  lora?: string;
  /** Sampler name, any case (A1111 `DPM++ 2M`, ComfyUI `dpmpp_2m`). */
  sampler?: string;
  agent?: string;
  /** Only files synced at or after this time. */
  since?: Date;
  /** Only files made (their modification time in the container) at or after this time. */
  madeFrom?: Date;
  /** Only files made at or before this time. */
  madeTo?: Date;
  /** Only starred (favourite) files. */
  starred?: boolean;
  /** Only files of this media kind. */
  kind?: MediaKind;
  limit: number;
  /** From a previous page's `nextCursor`. */
  cursor?: string;
}

export interface SearchHit {
  id: number;
  agent: string;
  containerPath: string;
  storedPath: string;
  size: number;
  syncedAt: string;
  purgedAt: string | null;
  metaSource: string | null;
  metaError: string | null;
  prompt: string | null;
  negativePrompt: string | null;
  seed: string | null;
  steps: number | null;
  cfg: number | null;
  sampler: string | null;
  scheduler: string | null;
  model: string | null;
  /** Generation size, as the metadata states it. */
  width: number | null;
  height: number | null;
  /** Media kind from the file's bytes; null for rows not read since it was recorded (run reindex). */
  kind: MediaKind | null;
  /** Size of the stored picture, from its headers. */
  pixelWidth: number | null;
  pixelHeight: number | null;
  /** The host and absolute --dest the copy was stored under, when the catalog knows them. */
  destHost: string | null;
  destPath: string | null;
}

/** One stored file with everything the catalog knows of it: GET /v1/files/:id. */
export interface FileDetail extends SearchHit {
  mtimeMs: number;
  xxh64: string;
  runId: string;
  provenance: Provenance;
  /** Every parsed field, and the raw text or JSON as found (`raw`, `comfyPrompt`, `comfyWorkflow`). */
  metadata: GenerationMetadata | null;
  metaFrom: string | null;
  purgeRunId: string | null;
  purgeOutcome: string | null;
  /** When it was starred (a favourite); null when it is not. */
  starredAt: string | null;
}

export interface SearchPage {
  items: SearchHit[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export type HostSearchPage = SearchPage & { items: (SearchHit & { hostPath: string })[] };

/**
 * Adds each hit's place on the host: under the destination the catalog says it was stored in,
 * else under `destRoot`, else relative to the destination.
 */
export function withHostPaths(page: SearchPage, destRoot: string | undefined): HostSearchPage {
  const hostPath = (hit: SearchHit): string => {
    const root = hit.destPath ?? destRoot;
    return root ? join(root, ...hit.storedPath.split('/')) : hit.storedPath;
  };
  return { ...page, items: page.items.map((hit) => ({ ...hit, hostPath: hostPath(hit) })) };
}
