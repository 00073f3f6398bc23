// xxh64 over chunks, through xxhash-wasm: the one hash both sides agree on.
import xxhash, { type XXHashAPI } from 'xxhash-wasm';

let api: Promise<XXHashAPI> | undefined;

/** The xxhash-wasm instance, compiled once per process. */
export function xxhashApi(): Promise<XXHashAPI> {
  api ??= xxhash();
  return api;
}

/** 16 lowercase hex digits, the form used on the wire and in the catalog. */
export function toHex64(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

/** An incremental xxh64: feed chunks, then read the hex digest. */
export interface Xxh64 {
  update(chunk: Uint8Array): void;
  hex(): string;
}

export async function createXxh64(): Promise<Xxh64> {
  const hasher = (await xxhashApi()).create64();
  return {
    update: (chunk) => void hasher.update(chunk),
    hex: () => toHex64(hasher.digest()),
  };
}

/** The xxh64 of bytes already in memory. */
export async function xxh64Of(bytes: Uint8Array): Promise<string> {
  const hasher = await createXxh64();
  hasher.update(bytes);
  return hasher.hex();
}

/** Hashes a stream of chunks without holding more than one chunk at a time. */
export async function hashChunks(
  chunks: AsyncIterable<Uint8Array>,
): Promise<{ xxh64: string; bytes: number }> {
  const hasher = await createXxh64();
  let bytes = 0;
  for await (const chunk of chunks) {
    hasher.update(chunk);
    bytes += chunk.byteLength;
  }
  return { xxh64: hasher.hex(), bytes };
}
