// The dashboard's scripts as a controller run from sources serves them: bundled, cached, and made again after an edit.
import { cp, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_DIR, DASHBOARD_SCRIPTS, mountDashboard } from './dashboard-routes.js';

/** An import (static, bare `import '…'`, or dynamic) of a relative path, which a browser would fetch. */
const RELATIVE_IMPORT = /\bimport\b[^;'"]*?['"]\.{1,2}\/|\bimport\s*\(\s*['"]\.{1,2}\//;
const REPO = join(DASHBOARD_DIR, '../../..');

describe('dashboard scripts served from sources', () => {
  const app = new Hono();
  mountDashboard(app);

  it('serves the scripts the pages load, and only those', () => {
    expect([...DASHBOARD_SCRIPTS].sort()).toEqual([
      'dashboard.js',
      'gallery.js',
      'page-kit.js',
      'session.js',
    ]);
  });

  it.each(DASHBOARD_SCRIPTS)('%s is one bundle: no relative import left for the browser', async (script) => {
    const response = await app.request(`/${script}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const code = await response.text();
    expect(code).not.toMatch(RELATIVE_IMPORT);
    const again = await app.request(`/${script}`, {
      headers: { 'if-none-match': response.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
  });

  it('puts the shared rules in, not copies of them', async () => {
    const code = await (await app.request('/dashboard.js')).text();
    // common/progress-state.ts's fold, common/format.ts's percent and common/backoff.ts's wait.
    for (const name of ['applyProgress', 'percentOf', 'formatEta', 'backoffDelay']) {
      expect(code, name).toMatch(new RegExp(`function ${name}\\(`));
    }
    // Sanity check of the test itself: the source it came from does import relatively.
    expect(await readFile(join(DASHBOARD_DIR, 'dashboard.js'), 'utf8')).toMatch(RELATIVE_IMPORT);
  });

  it('keeps the page under its CSP: scripts from its own origin only', async () => {
    const response = await app.request('/');
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});

describe('the on-demand bundle', () => {
  let root: string;
  let dir: string;
  const app = new Hono();

  beforeAll(async () => {
    // A copy of the page and of common/, laid out as in the repo, so the test can edit it.
    root = await mkdtemp(join(tmpdir(), 'fms-dash-bundle-'));
    dir = join(root, 'controller/http/dashboard');
    await cp(DASHBOARD_DIR, dir, { recursive: true });
    await cp(join(REPO, 'common'), join(root, 'common'), { recursive: true });
    mountDashboard(app, dir);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is made again when a file it was made from changes, and not before', async () => {
    const first = await app.request('/dashboard.js');
    const etag = first.headers.get('etag');
    expect(await first.text()).toContain('"KiB"');
    expect((await app.request('/dashboard.js')).headers.get('etag')).toBe(etag);

    const format = join(root, 'common/format.ts');
    await writeFile(format, (await readFile(format, 'utf8')).replace("'KiB'", "'kB'"));
    // A later mtime however coarse the file system's clock is.
    const later = new Date(Date.now() + 10_000);
    await utimes(format, later, later);

    const edited = await app.request('/dashboard.js');
    expect(edited.headers.get('etag')).not.toBe(etag);
    const code = await edited.text();
    expect(code).toContain('"kB"');
    expect(code).not.toContain('"KiB"');
  });

  it('says which script failed and why when it cannot be bundled', async () => {
    const cards = join(dir, 'agent-cards.js');
    await writeFile(cards, `${await readFile(cards, 'utf8')}\nexport const broken = ;\n`);
    const later = new Date(Date.now() + 20_000);
    await utimes(cards, later, later);
    app.onError((err) => new Response(err.message, { status: 500 }));
    const response = await app.request('/dashboard.js');
    expect(response.status).toBe(500);
    expect(await response.text()).toMatch(/cannot bundle the dashboard script .*dashboard\.js: .+/);
  });
});
