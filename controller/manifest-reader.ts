// Reading an agent's manifest on the controller side: every line checked before it is trusted.
import type { Problem } from '../common/errors.js';
import { type ManifestEntry, isXxh64 } from '../common/manifest.js';
import { unsafePathReason } from '../common/path-safety.js';
import type { ManifestLine } from '../common/protocol.js';
import type { Clock } from '../common/clock.js';
import type { AgentClient } from './agent-client.js';
import type { ProgressReporter } from './progress-hub.js';
import { PhaseTracker } from './progress-tracker.js';

/** Reads and checks the manifest. A malformed file line becomes a problem; the rest still syncs. */
export async function readManifest(
  client: AgentClient,
  problems: Problem[],
  signal?: AbortSignal,
  onScan?: (line: Extract<ManifestLine, { type: 'scan' }>) => void,
): Promise<{ entries: ManifestEntry[]; pending: number; hashed: number }> {
  const entries: ManifestEntry[] = [];
  let pending = 0;
  let hashed = 0;
  for await (const line of client.manifest(signal)) {
    if (line.type === 'scan') onScan?.(line);
    if (line.type === 'end') {
      pending = Number(line.pending) || 0;
      hashed = Number(line.hashed) || 0;
    }
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
  return { entries, pending, hashed };
}

/**
 * Reads the manifest as one phase an agent goes through: `scan.started`, the agent's own hashing
 * progress as it relays it, then `scan.done`.
 */
export async function scanAgent(
  client: AgentClient,
  problems: Problem[],
  ids: { agent: string; runId: string },
  progress: { reporter: ProgressReporter; clock: Clock },
  signal?: AbortSignal,
): Promise<{ entries: ManifestEntry[]; pending: number }> {
  progress.reporter.publish({ type: 'scan.started', ...ids });
  const tracker = new PhaseTracker(progress.reporter, progress.clock, 'scan', ids, {
    filesTotal: 0,
    bytesTotal: 0,
  });
  const manifest = await readManifest(client, problems, signal, (line) =>
    tracker.set({
      filesDone: line.filesHashed,
      filesTotal: line.filesToHash,
      bytesDone: line.bytesHashed,
      bytesTotal: line.bytesToHash,
    }),
  );
  progress.reporter.publish({
    type: 'scan.done',
    ...ids,
    files: manifest.entries.length,
    pending: manifest.pending,
    hashed: manifest.hashed,
  });
  return manifest;
}
