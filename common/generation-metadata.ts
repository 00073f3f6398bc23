// The shape of what the catalog stores about how an image or video was generated.

/**
 * Version of the metadata reader. Each catalog record keeps the version that read it; raise this
 * when a reader improves, and `forge-sync reindex` re-reads the stored copies read by older ones.
 * 1: infotext, ComfyUI PNG/WebP/video. 2: ComfyUI/Civitai JSON in UserComment, PNG eXIf, Civitai
 * resources, wildcard/Power Lora/concat graph walk, SwarmUI/Fooocus/InvokeAI/NovelAI JSON, Forge
 * .txt sidecars, unknown metadata kept raw. 3: stealth PNG info, Draw Things XMP, InvokeAI
 * `sd-metadata` and `Dream`, and each file's media kind and pixel size (MediaInfo).
 */
export const METADATA_READER_VERSION = 3;

/** Which metadata format the fields came from. */
/**
 * `civitai` is Civitai's own ComfyUI JSON (with `extraMetadata`); `unknown` is metadata that was
 * found but not understood: its text is kept in `raw` and `error` says why.
 */
export type MetadataSource =
  | 'a1111'
  | 'comfyui'
  | 'civitai'
  | 'swarmui'
  | 'fooocus'
  | 'invokeai'
  | 'novelai'
  | 'drawthings'
  | 'unknown'
  | 'none';

/** A LoRA used by a generation. */
export interface LoraRef {
  name: string;
  /** A1111 short hash, from `Lora hashes`. */
  hash?: string;
  /** Model strength: A1111 `<lora:name:strength>` in the prompt, ComfyUI `strength_model`. */
  strength?: number;
  /** Civitai model version id, from an infotext's `Civitai resources` list. */
  civitaiVersionId?: number;
}

/** One entry of the `Civitai resources: [...]` list Civitai appends to an infotext. */
export interface CivitaiResource {
  type: string;
  modelVersionId?: number;
  modelName?: string;
  modelVersionName?: string;
  weight?: number;
}

/** One ComfyUI sampler node and what it used, as far as the graph says. */
export interface SamplerSummary {
  nodeId: string;
  classType: string;
  seed?: number | string;
  steps?: number;
  cfg?: number;
  sampler?: string;
  scheduler?: string;
  denoise?: number;
  model?: string;
  loras?: LoraRef[];
  /** Texts of the text encoders behind the positive input, in graph order, joined by newlines. */
  prompt?: string;
  negativePrompt?: string;
  width?: number;
  height?: number;
}

/**
 * Generation metadata of one file. Only `source` is always set. With ComfyUI graphs holding several
 * samplers, the top-level fields are those of the first sampler in generation order (see
 * `samplers`). Nothing here is trusted: it is whatever the file claims.
 */
export interface GenerationMetadata {
  /** `a1111` for an infotext (also when ComfyUI nodes wrote one), `comfyui` for a ComfyUI graph. */
  source: MetadataSource;
  /**
   * The infotext as found; for ComfyUI, the prompt text only when it is not valid JSON; for
   * `unknown`, the metadata text that was found but not understood.
   */
  raw?: string;
  prompt?: string;
  negativePrompt?: string;
  /** A number, or a decimal string when beyond 2^53, so that no digit is lost. */
  seed?: number | string;
  steps?: number;
  cfg?: number;
  sampler?: string;
  /** A1111 `Schedule type`, ComfyUI `scheduler`. */
  scheduler?: string;
  /** Checkpoint (or UNet) name. */
  model?: string;
  modelHash?: string;
  loras?: LoraRef[];
  width?: number;
  height?: number;
  /** Every `key: value` pair of an infotext's parameters line. */
  params?: Record<string, string>;
  /** Civitai's resource list (checkpoint, LoRAs, embeddings) with their model version ids. */
  civitaiResources?: CivitaiResource[];
  /** Every ComfyUI sampler, in generation order: samplers fed by other samplers come after them. */
  samplers?: SamplerSummary[];
  /** The ComfyUI API graph (`prompt`), parsed, for a JSONB column. */
  comfyPrompt?: unknown;
  /** The ComfyUI UI graph (`workflow`), parsed, for a JSONB column. */
  comfyWorkflow?: unknown;
  /** What was wrong with the file or its metadata; whatever could be read is still filled in. */
  error?: string;
}

/**
 * `animated` is an image format holding several frames (APNG, animated WebP or GIF); `other` is
 * anything else (Forge's `.txt` sidecars, bytes of no known format).
 */
export type MediaKind = 'image' | 'animated' | 'video' | 'audio' | 'other';

/** What the file's headers say it is. Width and height are of the stored picture, not the generation's. */
export interface MediaInfo {
  kind: MediaKind;
  width?: number;
  height?: number;
}

/** Every media kind, for checking a `kind` search parameter. */
export const MEDIA_KINDS: readonly MediaKind[] = ['image', 'animated', 'video', 'audio', 'other'];

/** What the reader makes of one file: how it was generated, and what its headers say it is. */
export interface FileReading {
  metadata: GenerationMetadata;
  media: MediaInfo;
}
