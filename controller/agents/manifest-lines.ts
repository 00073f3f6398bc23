// The manifest body cut into lines: each a JSON object, within the line, byte and file bounds, ended by an `end` line.
import { AppError } from '../../common/errors.js';
import type { ManifestLine } from '../../common/protocol.js';
import type { ChunkReader } from '../../lib/chunk-reader.js';

/** The longest manifest line taken: a real one is a few hundred bytes; a line without end is an attack or a bug. */
export const MAX_MANIFEST_LINE_BYTES = 64 << 10;

/**
 * Yields the manifest's lines as they arrive from `reader` (destroyed at the end), refusing the
 * whole manifest past `bounds`, on a line that is not a JSON object, or when it ends without `end`.
 */
export async function* manifestLines(
  reader: ChunkReader,
  agent: string,
  bounds: { manifestBytes: number; manifestFiles: number },
  readChunk: (reader: ChunkReader) => Promise<Buffer | null>,
): AsyncIterable<ManifestLine> {
  const { manifestBytes, manifestFiles } = bounds;
  let ended = false;
  let bytes = 0;
  let files = 0;
  const parse = (bytes: Buffer): ManifestLine => {
    let line: unknown;
    try {
      line = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new AppError('E_PROTOCOL', `agent ${agent} sent a manifest line that is not JSON`);
    }
    // `null`, a number or a list is JSON too, but no line: reading its `type` must not crash.
    if (typeof line !== 'object' || line === null || Array.isArray(line)) {
      throw new AppError('E_PROTOCOL', `agent ${agent} sent a manifest line that is not a JSON object`);
    }
    return line as ManifestLine;
  };
  // Lines are cut out of the received buffers; only a line split across two chunks is copied.
  let carry: Buffer | undefined;
  try {
    for (let chunk = await readChunk(reader); chunk; chunk = await readChunk(reader)) {
      bytes += chunk.length;
      if (bytes > manifestBytes) throw manifestTooLarge(agent, `more than ${manifestBytes} bytes`);
      let start = 0;
      for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
        let text = chunk.subarray(start, newline);
        if (carry) {
          text = Buffer.concat([carry, text]);
          carry = undefined;
        }
        start = newline + 1;
        if (text.length > MAX_MANIFEST_LINE_BYTES) throw lineTooLong(agent);
        if (text.length === 0) continue;
        const line = parse(text);
        if (line.type === 'end') ended = true;
        else if (line.type === 'file' && ++files > manifestFiles) {
          throw manifestTooLarge(agent, `more than ${manifestFiles} files`);
        }
        yield line;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        carry = carry ? Buffer.concat([carry, rest]) : Buffer.from(rest);
        if (carry.length > MAX_MANIFEST_LINE_BYTES) throw lineTooLong(agent);
      }
    }
  } finally {
    reader.destroy();
  }
  if (!ended) {
    throw new AppError(
      'E_PROTOCOL',
      `the manifest from agent ${agent} was cut short; the sync of this agent is retried next pass`,
    );
  }
}

function manifestTooLarge(agent: string, what: string): AppError {
  return new AppError(
    'E_AGENT_LIMIT',
    `agent ${agent} sent a manifest of ${what}, past this controller's limit; the manifest is refused`,
  );
}

function lineTooLong(agent: string): AppError {
  return new AppError(
    'E_PROTOCOL',
    `agent ${agent} sent a manifest line longer than ${MAX_MANIFEST_LINE_BYTES} bytes; the manifest is refused`,
  );
}
