// Reading an agent's manifest on the controller side: every line checked before it is trusted.
import type { Problem } from '../common/errors.js';
import { type ManifestEntry, isXxh64 } from '../common/manifest.js';
import { unsafePathReason } from '../common/path-safety.js';
import type { AgentClient } from './agent-client.js';

/** Reads and checks the manifest. A malformed file line becomes a problem; the rest still syncs. */
export async function readManifest(
  client: AgentClient,
  problems: Problem[],
  signal?: AbortSignal,
): Promise<{ entries: ManifestEntry[]; pending: number }> {
  const entries: ManifestEntry[] = [];
  let pending = 0;
  for await (const line of client.manifest(signal)) {
    if (line.type === 'end') pending = Number(line.pending) || 0;
    if (line.type !== 'file') continue;
    const reason =
      unsafePathReason(line.path) ??
      (isXxh64(line.xxh64) && Number.isSafeInteger(line.size) && line.size >= 0 ? null : 'bad size or hash');
    if (reason) {
      problems.push({
        code: 'E_PROTOCOL',
        path: String(line.path),
        message: `manifest entry refused: ${reason}`,
      });
      continue;
    }
    entries.push({
      path: line.path,
      size: line.size,
      mtimeMs: Number(line.mtimeMs) || 0,
      xxh64: line.xxh64,
      ...(Number.isSafeInteger(line.ino) ? { ino: line.ino } : {}),
    });
  }
  return { entries, pending };
}
