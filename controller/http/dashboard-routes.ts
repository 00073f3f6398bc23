// The browser dashboard's static files (controller/http/dashboard/), served at / without auth: they hold no data.
// Its scripts go out bundled with the common/ modules they import: built into dist/, or bundled on demand from sources.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';

/**
 * Where the page's files are: the folder `dashboard/` beside this module. Resolved from
 * import.meta.url, so it holds when run from the repo through tsx and when bundled, as long as the
 * folder is copied beside the bundle (scripts/build.ts writes it with its scripts bundled).
 */
export const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));

/**
 * Run from sources (tsx, vitest) this module is still a `.ts` file, and the page scripts in
 * DASHBOARD_DIR still import common/*.ts, which a browser cannot load: they are bundled on demand.
 * In dist/ they were bundled at build time, and esbuild is not there to load.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

let bundled: ((path: string) => Promise<Buffer>) | undefined;

async function readAsset(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new Error(
      `dashboard file missing at ${path}: copy controller/http/dashboard/ beside the controller's code (npm run build does)`,
      { cause: err },
    );
  }
}

/** A page script as the browser gets it: the built bundle in dist/, bundled now from sources. */
async function readScript(path: string): Promise<Buffer> {
  if (!FROM_SOURCE) return readAsset(path);
  if (!bundled) {
    const bundler = await import('./dashboard-bundle.js').catch((err: unknown) => {
      throw new Error(
        'serving the dashboard from sources bundles its scripts with esbuild, a dev dependency: run npm ci (or npm run build and start dist/)',
        { cause: err },
      );
    });
    bundled ??= bundler.bundledScripts();
  }
  return bundled(path);
}

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/page-kit.js': { file: 'page-kit.js', type: 'text/javascript; charset=utf-8' },
  '/session.js': { file: 'session.js', type: 'text/javascript; charset=utf-8' },
  '/gallery': { file: 'gallery.html', type: 'text/html; charset=utf-8' },
  '/gallery.js': { file: 'gallery.js', type: 'text/javascript; charset=utf-8' },
  '/gallery.css': { file: 'gallery.css', type: 'text/css; charset=utf-8' },
};

/** The page scripts served by name: each one a bundle with everything it imports. */
export const DASHBOARD_SCRIPTS = Object.values(ASSETS)
  .map((asset) => asset.file)
  .filter((file) => file.endsWith('.js'));

// The page talks only to its own origin; 'self' in connect-src covers ws(s):// to it.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Adds GET / and the page's assets to `app`. Files are read on each request (they are small), and
 * scripts bundled from sources are made again when one of their files changed, so an edit shows on
 * reload; `no-cache` with an ETag makes the browser revalidate every time.
 */
export function mountDashboard(app: Hono, dir: string = DASHBOARD_DIR): void {
  for (const [route, asset] of Object.entries(ASSETS)) {
    app.get(route, async (c) => {
      const path = `${dir.replace(/\/?$/, '/')}${asset.file}`;
      const body = asset.file.endsWith('.js') ? await readScript(path) : await readAsset(path);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      const headers = {
        'content-type': asset.type,
        'cache-control': 'no-cache',
        etag,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        ...(asset.file.endsWith('.html') ? { 'content-security-policy': CSP } : {}),
      };
      if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
      return c.body(new Uint8Array(body), 200, headers);
    });
  }
}
