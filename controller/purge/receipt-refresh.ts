// Receipts for stored files an agent cannot vouch for (synced before it kept receipts, or an acknowledgement
// that was lost): the files are streamed once more, their bytes checked against the catalog's hash, then acknowledged.
import { AppError } from '../../common/errors.js';
import { ARCHIVE_REPORT_NAME, type ArchiveReport, type ArchiveRequestFile } from '../../common/protocol.js';
import { createXxh64 } from '../../common/xxh64.js';
import { TarReader } from '../../lib/tar-reader.js';
import type { AgentClient } from '../agents/agent-client.js';

const MAX_REPORT_BYTES = 1 << 20;

/**
 * Streams `files` from the agent again, hashes each entry as it arrives (nothing is written), and
 * acknowledges the ones whose bytes are exactly the catalogued ones. Returns the paths that now
 * hold receipts. Anything the stream holds besides the requested files ends it: a well-behaved
 * agent never sends one, so nothing unrequested is ever read to its end.
 */
export async function refreshReceipts(
  client: AgentClient,
  files: readonly ArchiveRequestFile[],
  signal?: AbortSignal,
): Promise<Set<string>> {
  const wanted = new Map(files.map((file) => [file.path, file]));
  const verified: { path: string; xxh64: string }[] = [];
  let archiveId: string | undefined;
  const source = await client.archive(files, signal);
  try {
    const tar = new TarReader(source);
    for (let header = await tar.nextEntry(); header; header = await tar.nextEntry()) {
      if (header.name === ARCHIVE_REPORT_NAME && header.size <= MAX_REPORT_BYTES) {
        const chunks: Buffer[] = [];
        for await (const chunk of tar.body()) chunks.push(chunk);
        archiveId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as ArchiveReport).archiveId;
        continue;
      }
      const want = wanted.get(header.name);
      if (!want || header.type !== 'file' || header.size !== want.size) {
        throw new AppError(
          'E_PROTOCOL',
          `the agent sent "${header.name}", which was not asked for as it came`,
        );
      }
      wanted.delete(header.name);
      const hasher = await createXxh64();
      let bytes = 0;
      for await (const chunk of tar.body()) {
        hasher.update(chunk);
        bytes += chunk.length;
      }
      if (bytes === want.size && hasher.hex() === want.xxh64)
        verified.push({ path: want.path, xxh64: want.xxh64 });
    }
  } finally {
    source.destroy();
  }
  if (typeof archiveId !== 'string' || verified.length === 0) return new Set();
  const answer = await client.ack(archiveId, verified, signal);
  const refused = new Set(answer.refused.map((item) => item.path));
  return new Set(verified.map((file) => file.path).filter((path) => !refused.has(path)));
}
