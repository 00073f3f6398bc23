// Reading an agent's manifest on the controller side: every line checked before it is trusted.
import { AppError, type Problem } from '../../common/errors.js';
import { isXxh64 } from '../../common/manifest.js';
import { unsafePathReason } from '../../common/path-safety.js';
import type { LongPendingFile, ManifestLine, PendingReasons } from '../../common/protocol.js';
import type { Clock } from '../../common/clock.js';
import type { AgentClient } from './agent-client.js';
import { isPosition } from './agent-answers.js';
import type { AgentPosition } from '../catalog/catalog.js';
import type { ProgressReporter } from '../progress/progress-hub.js';
import { PhaseTracker } from '../progress/phase-tracker.js';
import { ManifestTable } from './manifest-table.js';

/** Refused manifest lines reported one by one before the manifest as a whole is refused: an honest agent sends none. */
export const MAX_REFUSED_MANIFEST_LINES = 1000;

/** A checked manifest: every file it lists, and whether that is all files or the changes after `since`. */
export interface Manifest {
  /** The files listed, each path once (the first listing of a path stands). */
  table: ManifestTable;
  pending: number;
  /** `pending` by reason, when the agent says. */
  pendingReasons?: PendingReasons;
  /** Files pending longer than the agent's limit, as the agent reported them (checked, at most 20). */
  longPending: LongPendingFile[];
  hashed: number;
  /** How many files the agent lists in all. */
  files: number;
  /** Only the changes after the position asked for: files not named are as they were. */
  incremental: boolean;
  /** Where the agent's index stood when it answered; null from an agent that keeps no history. */
  position: AgentPosition | null;
}

/**
 * Reads and checks the manifest. A malformed file line becomes a problem; the rest still syncs.
 * With `since`, an agent that can answers with the changes after it; one that cannot, or no longer
 * knows that position, answers in full, and the header says which.
 */
export async function readManifest(
  client: AgentClient,
  problems: Problem[],
  signal?: AbortSignal,
  onScan?: (line: Extract<ManifestLine, { type: 'scan' }>) => void,
  since?: AgentPosition,
): Promise<Manifest> {
  const manifest: Manifest = {
    table: new ManifestTable(),
    pending: 0,
    longPending: [],
    hashed: 0,
    files: 0,
    incremental: false,
    position: null,
  };
  let refused = 0;
  for await (const line of client.manifest(signal, since)) {
    if (line.type === 'scan') onScan?.(line);
    if (line.type === 'header') readHeader(line, since, manifest);
    if (line.type === 'end') {
      manifest.pending = numberOr0(line.pending);
      const reasons = pendingReasonsOf(line.pendingReasons);
      if (reasons) manifest.pendingReasons = reasons;
      manifest.longPending = checkedLongPending(line.longPending);
      manifest.hashed = numberOr0(line.hashed);
      manifest.files = Number.isSafeInteger(line.files) ? line.files : manifest.table.length;
    }
    if (line.type !== 'file') continue;
    const reason =
      unsafePathReason(line.path) ??
      (isXxh64(line.xxh64) && Number.isSafeInteger(line.size) && line.size >= 0 ? null : 'bad size or hash');
    if (reason) {
      if (++refused > MAX_REFUSED_MANIFEST_LINES) {
        throw new AppError(
          'E_AGENT_LIMIT',
          `the manifest has more than ${MAX_REFUSED_MANIFEST_LINES} malformed file lines; it is refused`,
        );
      }
      problems.push({
        code: 'E_PROTOCOL',
        path: shown(line.path),
        message: `manifest entry refused: ${reason}`,
      });
      continue;
    }
    manifest.table.add({
      path: line.path,
      size: line.size,
      mtimeMs: numberOr0(line.mtimeMs),
      xxh64: line.xxh64,
      ...(Number.isSafeInteger(line.ino) ? { ino: line.ino } : {}),
    });
  }
  return manifest;
}

/** A number an agent sent (or its decimal text), else 0: Number() of a JSON object can throw. */
function numberOr0(value: unknown): number {
  return typeof value === 'number' || typeof value === 'string' ? Number(value) || 0 : 0;
}

/**
 * A field of an agent's line, as text for a message. String() is not enough: a JSON object such as
 * {"toString":1} makes it throw a TypeError, and an agent is not trusted.
 */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/** An incremental answer must be the one asked for: any other base would skip changes unseen. */
function readHeader(
  header: Extract<ManifestLine, { type: 'header' }>,
  since: AgentPosition | undefined,
  manifest: Manifest,
): void {
  const position = { epoch: header.epoch, generation: header.generation };
  manifest.position = isPosition(position) ? position : null;
  if (header.since === null || header.since === undefined) return;
  if (!since || header.since !== since.generation || header.epoch !== since.epoch) {
    throw new AppError(
      'E_PROTOCOL',
      `the agent answered with changes after generation ${shown(header.since)} of epoch ${shown(header.epoch)}, which was not asked for`,
    );
  }
  manifest.incremental = true;
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
  since?: AgentPosition,
): Promise<Manifest> {
  progress.reporter.publish({ type: 'scan.started', ...ids });
  const tracker = new PhaseTracker(progress.reporter, progress.clock, 'scan', ids, {
    filesTotal: 0,
    bytesTotal: 0,
  });
  const manifest = await readManifest(
    client,
    problems,
    signal,
    (line) =>
      tracker.set({
        filesDone: line.filesHashed,
        filesTotal: line.filesToHash,
        bytesDone: line.bytesHashed,
        bytesTotal: line.bytesToHash,
      }),
    since,
  );
  progress.reporter.publish({
    type: 'scan.done',
    ...ids,
    files: manifest.files,
    pending: manifest.pending,
    hashed: manifest.hashed,
  });
  return manifest;
}

/** Keeps only well-formed counts from an agent's pendingReasons: reason name → whole number. */
export function pendingReasonsOf(value: unknown): PendingReasons | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const reasons: PendingReasons = {};
  for (const [reason, count] of Object.entries(value)) {
    if (/^[a-z0-9-]{1,40}$/.test(reason) && Number.isSafeInteger(count) && (count as number) > 0) {
      reasons[reason] = count as number;
    }
  }
  return Object.keys(reasons).length ? reasons : undefined;
}

/** The agent's long-pending list, keeping only well-formed entries (an agent is not trusted). */
function checkedLongPending(value: unknown): LongPendingFile[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter(
      (item): item is LongPendingFile =>
        typeof item === 'object' &&
        item !== null &&
        typeof (item as LongPendingFile).path === 'string' &&
        typeof (item as LongPendingFile).reason === 'string' &&
        Number.isFinite((item as LongPendingFile).pendingForMs),
    )
    .slice(0, 20)
    .map(({ path, reason, pendingForMs }) => ({ path, reason, pendingForMs }));
}
