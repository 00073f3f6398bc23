// The controller's HTTP API on hono: health, status, sync-now, catalog search and stored files behind auth; the pages.
import { Hono } from 'hono';
import type { Clock } from '../common/clock.js';
import type { Logger } from 'pino';
import { type HealthResponse, PROTOCOL_VERSION, Routes } from '../common/protocol.js';
import { bearerAuth, errorHandler, protocolHeader } from '../lib/http.js';
import type { Catalog } from './catalog/catalog.js';
import { mountDashboard } from './dashboard.js';
import { mountFileRoutes } from './file-routes.js';
import type { Metrics } from './metrics.js';
import { toSearchQuery, withHostPaths } from './search.js';
import type { ControllerService } from './service.js';
import { type SessionStore, requestAuth, sessionHandlers } from './session.js';
import { Thumbnailer } from './thumbnails.js';

export function createControllerApp(deps: {
  token: string;
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
  // Only the token itself opens a session: a session cannot mint more sessions.
  const session = sessionHandlers(deps.sessions);
  app.post(Routes.session, bearerAuth(deps.token), session.create);
  app.use('/v1/*', requestAuth(deps.token, deps.sessions));
  app.delete(Routes.session, session.remove);
  app.use('/metrics', bearerAuth(deps.token));
  app.get(Routes.status, (c) => c.json(deps.service.status()));
  app.get('/metrics', async (c) =>
    c.body(await deps.metrics.text(), 200, { 'content-type': deps.metrics.registry.contentType }),
  );
  app.post(Routes.sync, (c) => {
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
