// The agent's HTTP API on hono: health, info, the streamed manifest and tar archives, acknowledgements, purge.
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { AppError } from '../common/errors.js';
import {
  type AckResponse,
  ARCHIVE_CONTENT_TYPE,
  Capabilities,
  type ChangesResponse,
  type HealthResponse,
  type InfoResponse,
  MANIFEST_CONTENT_TYPE,
  type PurgeResponse,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  Routes,
} from '../common/protocol.js';
import { AuthFailureLimiter } from '../lib/auth-limit.js';
import { errorHandler, matchBearer, protocolHeader } from '../lib/http.js';
import { writeArchive } from './archive.js';
import { manifestStream } from './manifest-stream.js';
import { executePurge, type PurgeDeps } from './purge.js';
import type { FileIndex } from './file-index.js';
import type { ReceiptLedger } from './receipts.js';
import {
  parseAckRequest,
  parseArchiveRequest,
  parsePosition,
  parsePurgeRequest,
  parseWait,
} from './request-bodies.js';
import type { Root } from './roots.js';
import type { Scanner } from './scanner.js';
import type { FolderWatcher } from './watcher.js';

export interface AgentAppDeps {
  /** The read token: every route but purge. null turns auth off for those (--insecure). */
  token: string | null;
  /** The only credential `POST /v1/purge` accepts; null: this agent deletes nothing. */
  purgeToken: string | null;
  version: string;
  settleMs: number;
  roots: readonly Root[];
  scanner: Scanner;
  index: FileIndex;
  /** Keeps the index current between scans; while it is not active, each manifest scans first. */
  watcher: Pick<FolderWatcher, 'active' | 'drain'>;
  logger: Logger;
  /** What this agent streamed whole and controllers acknowledged. */
  receipts: ReceiptLedger;
  purge: Omit<PurgeDeps, 'roots' | 'index' | 'logger' | 'receipts'>;
  /** Failed authentications per address; made here when not given. */
  authLimiter?: AuthFailureLimiter;
}

export function createAgentApp(deps: AgentAppDeps): Hono {
  const app = new Hono();
  app.use('*', protocolHeader());
  app.onError(errorHandler(deps.logger));
  app.notFound((c) =>
    c.json({ error: { code: 'E_NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  );

  app.get(Routes.health, (c) => c.json({ ok: true, protocol: PROTOCOL_VERSION } satisfies HealthResponse));

  app.use('/v1/*', agentAuth(deps.token, deps.purgeToken, deps.authLimiter ?? new AuthFailureLimiter()));

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
        Capabilities.receipts,
        Capabilities.purgeAge,
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
  // The controller stored these files of an archive: each one sent whole with that hash gets a receipt.
  app.post(
    Routes.ack,
    bodyLimit({
      maxSize: 4 << 20,
      onError: () => {
        throw new AppError('E_BAD_REQUEST', 'ack request body is larger than 4 MiB; acknowledge fewer files');
      },
    }),
    async (c) => {
      const body: unknown = await c.req.json().catch(() => {
        throw new AppError('E_BAD_REQUEST', 'ack request body is not JSON');
      });
      const request = parseAckRequest(body);
      const result = await deps.receipts.acknowledge(request.archiveId, request.files);
      deps.logger.debug(
        { acknowledged: result.acknowledged, refused: result.refused.length },
        'archive acknowledged',
      );
      return c.json({ protocol: PROTOCOL_VERSION, ...result } satisfies AckResponse);
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
        executePurge(request, {
          ...deps.purge,
          roots: deps.roots,
          index: deps.index,
          receipts: deps.receipts,
          logger: deps.logger,
        }),
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

/**
 * Two credentials: the read token for every route but purge, the purge token for purge alone. Each
 * is refused where the other belongs, so a stolen read token deletes nothing and a stolen purge
 * token cannot have files streamed (and so acknowledged) to delete them. Failures are rate-limited.
 */
function agentAuth(
  readToken: string | null,
  purgeToken: string | null,
  limiter: AuthFailureLimiter,
): MiddlewareHandler {
  return async (c, next) => {
    const purging = c.req.path === Routes.purge;
    if (purging && purgeToken === null) {
      throw new AppError(
        'E_FORBIDDEN',
        'this agent has no purge token (FORGE_SYNC_PURGE_TOKEN or --purge-token-file), so it deletes nothing',
      );
    }
    const tokens = [purging ? purgeToken : readToken, purging ? readToken : purgeToken].filter(
      (token): token is string => token !== null,
    );
    if (!purging && readToken === null) {
      // --insecure: reads are open; the purge token is still not a read credential.
      await next();
      return;
    }
    if (matchBearer(c, tokens, { limiter }) !== 0) {
      throw new AppError(
        'E_FORBIDDEN',
        purging
          ? 'the read token cannot purge: POST /v1/purge takes the purge token (FORGE_SYNC_PURGE_TOKEN)'
          : `the purge token only purges: ${c.req.path} takes the read token (FORGE_SYNC_TOKEN)`,
      );
    }
    await next();
  };
}
