// The controller's HTTP API on hono: health, status, sync-now, catalog search and stored files behind auth; the pages.
import { Hono } from 'hono';
import type { Clock } from '../../common/clock.js';
import type { Logger } from 'pino';
import { type HealthResponse, PROTOCOL_VERSION, Routes } from '../../common/protocol.js';
import { AuthFailureLimiter } from '../../lib/auth-limit.js';
import { bearerAuth, errorHandler, protocolHeader } from '../../lib/http.js';
import type { Catalog } from '../catalog/catalog.js';
import { mountDashboard } from './dashboard-routes.js';
import { mountFileRoutes } from './file-routes.js';
import type { Metrics } from '../progress/metrics.js';
import { withHostPaths } from '../../common/search.js';
import { toSearchQuery } from '../config/search-config.js';
import type { ControllerService } from '../daemon/service.js';
import {
  type ApiTokens,
  type SessionStore,
  requestAuth,
  requireControl,
  sessionHandlers,
} from './session.js';
import { Thumbnailer } from './thumbnails.js';

export function createControllerApp(deps: {
  /** The read token, and the one that also controls (equal when no purge token is set). */
  tokens: ApiTokens;
  /** Failed authentications per address, shared with the progress socket; made here when not given. */
  authLimiter?: AuthFailureLimiter;
  service: ControllerService;
  catalog: Pick<Catalog, 'search' | 'getFile' | 'setStarred'>;
  metrics: Metrics;
  /** Absolute --dest, so search results carry host paths. */
  destRoot: string;
  clock: Clock;
  logger: Logger;
  /** Browser sessions, shared with the progress socket, which accepts their cookie too. */
  sessions: SessionStore;
  /** Made from destRoot when not given. */
  thumbnails?: Thumbnailer;
}): Hono {
  const app = new Hono();
  app.use('*', protocolHeader());
  app.onError(errorHandler(deps.logger));
  app.notFound((c) =>
    c.json({ error: { code: 'E_NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  );

  app.get(Routes.health, (c) => c.json({ ok: true, protocol: PROTOCOL_VERSION } satisfies HealthResponse));
  // The dashboard page and its assets are public: they hold no data, and the page brings its own token.
  mountDashboard(app);
  const limiter = deps.authLimiter ?? new AuthFailureLimiter();
  // Only a token opens a session, with that token's access: a session cannot mint more sessions.
  const session = sessionHandlers(deps.sessions, deps.tokens, limiter);
  app.post(Routes.session, session.create);
  app.use('/v1/*', requestAuth(deps.tokens, deps.sessions, limiter));
  app.delete(Routes.session, session.remove);
  app.use('/metrics', bearerAuth([deps.tokens.read, deps.tokens.control], { limiter }));
  app.get(Routes.status, (c) => c.json(deps.service.status()));
  app.get('/metrics', async (c) =>
    c.body(await deps.metrics.text(), 200, { 'content-type': deps.metrics.registry.contentType }),
  );
  // Starting work is control; everything else here reads (a star only marks a favourite).
  app.post(Routes.sync, requireControl('POST /v1/sync'), (c) => {
    const { started, runId } = deps.service.syncNow();
    return c.json({ started, runId }, 202);
  });
  app.get(Routes.files, async (c) => {
    const page = await deps.catalog.search(toSearchQuery(c.req.query(), deps.clock.now(), ''));
    return c.json(withHostPaths(page, deps.destRoot));
  });
  mountFileRoutes(app, {
    catalog: deps.catalog,
    destRoot: deps.destRoot,
    thumbnails: deps.thumbnails ?? new Thumbnailer(deps.destRoot),
    clock: deps.clock,
  });
  return app;
}
