// The agent's HTTP API on hono: health, info, the streamed manifest and tar archives.
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { AppError } from '../common/errors.js';
import { isXxh64 } from '../common/manifest.js';
import {
  ARCHIVE_CONTENT_TYPE,
  type ArchiveRequestFile,
  Capabilities,
  type ChangesResponse,
  type HealthResponse,
  type InfoResponse,
  MANIFEST_CONTENT_TYPE,
  MAX_ARCHIVE_FILES,
  MAX_CHANGES_WAIT_MS,
  MAX_PURGE_FILES,
  type PurgeRequest,
  type PurgeRequestFile,
  type PurgeResponse,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  Routes,
} from '../common/protocol.js';
import { bearerAuth, errorHandler, protocolHeader } from '../lib/http.js';
import { writeArchive } from './archive.js';
import { manifestStream } from './manifest-stream.js';
import { executePurge, type PurgeDeps } from './purge.js';
import type { FileIndex } from './file-index.js';
import type { Root } from './roots.js';
import type { Scanner } from './scanner.js';
import type { FolderWatcher } from './watcher.js';

export interface AgentAppDeps {
  /** null turns auth off (--insecure). */
  token: string | null;
  version: string;
  settleMs: number;
  roots: readonly Root[];
  scanner: Scanner;
  index: FileIndex;
  /** Keeps the index current between scans; while it is not active, each manifest scans first. */
  watcher: Pick<FolderWatcher, 'active' | 'drain'>;
  logger: Logger;
  purge: Omit<PurgeDeps, 'roots' | 'index' | 'logger'>;
}

export function createAgentApp(deps: AgentAppDeps): Hono {
  const app = new Hono();
  app.use('*', protocolHeader());
  app.onError(errorHandler(deps.logger));
  app.notFound((c) =>
    c.json({ error: { code: 'E_NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  );

  app.get(Routes.health, (c) => c.json({ ok: true, protocol: PROTOCOL_VERSION } satisfies HealthResponse));

  app.use('/v1/*', bearerAuth(deps.token));

  app.get(Routes.info, (c) =>
    c.json({
      protocol: PROTOCOL_VERSION,
      version: deps.version,
      roots: deps.roots.map((root) => ({ name: root.name })),
      capabilities: [
        Capabilities.manifestNdjson,
        Capabilities.archiveTar,
        Capabilities.xxh64,
        Capabilities.purge,
        Capabilities.manifestSince,
        Capabilities.changes,
      ],
      settleMs: deps.settleMs,
      stats: deps.scanner.stats,
    } satisfies InfoResponse),
  );

  app.get(Routes.manifest, async (c) => {
    const since = parsePosition(c.req.query('since'), c.req.query('epoch'), 'since');
    // A full manifest is a fresh look at the disk; an incremental one trusts the watch when it runs.
    const rescan = !since || !deps.watcher.active;
    // Changes the watch saw but has not handed on yet (it gathers them for a moment) go in first.
    if (!rescan) await deps.watcher.drain();
    return new Response(manifestStream(deps.scanner, { rescan, since }), {
      headers: { 'content-type': MANIFEST_CONTENT_TYPE },
    });
  });

  // The push channel: a long poll that answers as soon as the index moves past the client's position.
  app.get(Routes.changes, async (c) => {
    const after = parsePosition(c.req.query('after'), c.req.query('epoch'), 'after');
    const waitMs = parseWait(c.req.query('wait'));
    if (!deps.watcher.active) await deps.scanner.scan();
    await deps.scanner.settled();
    const { index } = deps;
    index.commit();
    if (after && after.epoch === index.epoch && after.generation === index.generation && waitMs > 0) {
      await index.waitForChange(waitMs, c.req.raw.signal);
      await deps.scanner.settled();
      index.commit();
    }
    return c.json({
      protocol: PROTOCOL_VERSION,
      epoch: index.epoch,
      generation: index.generation,
      files: index.size,
      pending: deps.scanner.stats.pendingFiles,
    } satisfies ChangesResponse);
  });

  app.post(
    Routes.archive,
    bodyLimit({
      maxSize: 16 << 20,
      onError: () => {
        throw new AppError(
          'E_BAD_REQUEST',
          'archive request body is larger than 16 MiB; send fewer files per request',
        );
      },
    }),
    async (c) => {
      const body: unknown = await c.req.json().catch(() => {
        throw new AppError('E_BAD_REQUEST', 'archive request body is not JSON');
      });
      const files = parseArchiveRequest(body);
      deps.logger.debug({ files: files.length }, 'archive requested');
      // The tar goes straight onto the socket, not through a web stream.
      const { outgoing } = c.env as { outgoing: ServerResponse };
      await writeArchive(files, deps, outgoing, {
        'content-type': ARCHIVE_CONTENT_TYPE,
        [PROTOCOL_HEADER]: String(PROTOCOL_VERSION),
      });
      return RESPONSE_ALREADY_SENT;
    },
  );
  // One purge at a time: each checks and deletes in turn, and the next waits for it.
  let purging: Promise<unknown> = Promise.resolve();
  app.post(
    Routes.purge,
    bodyLimit({
      maxSize: 16 << 20,
      onError: () => {
        throw new AppError(
          'E_BAD_REQUEST',
          'purge request body is larger than 16 MiB; send fewer files per request',
        );
      },
    }),
    async (c) => {
      const body: unknown = await c.req.json().catch(() => {
        throw new AppError('E_BAD_REQUEST', 'purge request body is not JSON');
      });
      const request = parsePurgeRequest(body);
      const run = purging.then(() =>
        executePurge(request, { ...deps.purge, roots: deps.roots, index: deps.index, logger: deps.logger }),
      );
      purging = run.catch(() => undefined);
      const results = await run;
      deps.index.commit();
      await deps.index
        .save()
        .catch((err: unknown) => deps.logger.warn({ err }, 'could not save the file index'));
      return c.json({ protocol: PROTOCOL_VERSION, results } satisfies PurgeResponse);
    },
  );
  return app;
}

/** `?since=G&epoch=E` (or `after=`): a position in the agent's history; both or neither. */
function parsePosition(
  generation: string | undefined,
  epoch: string | undefined,
  name: string,
): { epoch: string; generation: number } | undefined {
  if (generation === undefined && epoch === undefined) return undefined;
  const value = Number(generation);
  if (generation === undefined || !/^\d{1,15}$/.test(generation) || !epoch || epoch.length > 64) {
    throw new AppError(
      'E_BAD_REQUEST',
      `${name}= needs a generation (a whole number) and epoch= the epoch it counts in`,
    );
  }
  return { epoch, generation: value };
}

function parseWait(wait: string | undefined): number {
  if (wait === undefined) return 0;
  if (!/^\d{1,9}$/.test(wait))
    throw new AppError('E_BAD_REQUEST', 'wait= needs a whole number of milliseconds');
  return Math.min(Number(wait), MAX_CHANGES_WAIT_MS);
}

export function parsePurgeRequest(body: unknown): PurgeRequest {
  const { runId, dryRun, files } = (body ?? {}) as Partial<PurgeRequest>;
  if (typeof runId !== 'string' || typeof dryRun !== 'boolean' || !Array.isArray(files)) {
    throw new AppError(
      'E_BAD_REQUEST',
      'purge request needs {"runId": string, "dryRun": boolean, "files": [...]}',
    );
  }
  if (files.length > MAX_PURGE_FILES) {
    throw new AppError(
      'E_BAD_REQUEST',
      `purge request names ${files.length} files; the most is ${MAX_PURGE_FILES}`,
    );
  }
  return {
    runId,
    dryRun,
    files: files.map((file: unknown, i) => {
      const { path, xxh64, size, mtimeMs, ino } = (file ?? {}) as Partial<PurgeRequestFile>;
      const valid =
        typeof path === 'string' &&
        isXxh64(xxh64) &&
        Number.isSafeInteger(size) &&
        typeof mtimeMs === 'number' &&
        Number.isFinite(mtimeMs) &&
        Number.isSafeInteger(ino);
      if (!valid)
        throw new AppError(
          'E_BAD_REQUEST',
          `purge request file ${i}: needs path, xxh64, size, mtimeMs and ino`,
        );
      return { path, xxh64, size: size!, mtimeMs, ino: ino! };
    }),
  };
}

export function parseArchiveRequest(body: unknown): ArchiveRequestFile[] {
  const files = (body as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) throw new AppError('E_BAD_REQUEST', 'archive request needs {"files": [...]}');
  if (files.length > MAX_ARCHIVE_FILES) {
    throw new AppError(
      'E_BAD_REQUEST',
      `archive request names ${files.length} files; the most is ${MAX_ARCHIVE_FILES}`,
    );
  }
  return files.map((file: unknown, i) => {
    const { path, xxh64, size } = (file ?? {}) as Partial<ArchiveRequestFile>;
    if (typeof path !== 'string' || !isXxh64(xxh64) || !Number.isSafeInteger(size) || (size as number) < 0) {
      throw new AppError(
        'E_BAD_REQUEST',
        `archive request file ${i}: needs path, xxh64 (16 hex digits) and size`,
      );
    }
    return { path, xxh64, size: size as number };
  });
}
