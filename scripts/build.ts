// `npm run build` (run by `npm ci` too): bundles the CLI with esbuild into dist/app, which bin/forge-sync.js
// starts while it is fresh, and the dashboard's page scripts beside it; `--images` also lays out PGlite for the
// container images (no dev dependencies inside).
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { writeDashboardBundles } from '../controller/http/dashboard-bundle.js';
import { DASHBOARD_SCRIPTS } from '../controller/http/dashboard-routes.js';

const REPO = resolve(import.meta.dirname, '..');
const OUT = join(REPO, 'dist');

await rm(OUT, { recursive: true, force: true });
await build({
  absWorkingDir: REPO,
  entryPoints: {
    main: 'cli/main.ts',
    healthcheck: 'lib/healthcheck.ts',
    'fake-generator': 'scripts/fake-generator.ts',
    // The embedded catalog's thread, started by URL beside the module that starts it.
    'pglite-worker': 'controller/catalog/pglite-worker.js',
  },
  outdir: join(OUT, 'app'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  // PGlite loads its WASM and data files beside its own module, so it ships as a package (controller
  // image only); sharp loads its prebuilt libvips beside its own module too; the others are optional
  // native speed-ups that their libraries do without. esbuild itself is only loaded by a controller run
  // from sources, to bundle the dashboard's scripts; dist/ has them bundled already.
  external: [
    'esbuild',
    '@electric-sql/pglite',
    'sharp',
    'cpu-features',
    'pg-native',
    './crypto/build/Release/sshcrypto.node',
  ],
  // Some dependencies are CommonJS and call require() for Node built-ins.
  banner: {
    js: [
      "import { createRequire as __forgeSyncRequire } from 'node:module';",
      "import { fileURLToPath as __forgeSyncPath } from 'node:url';",
      'const require = __forgeSyncRequire(import.meta.url);',
      'const __filename = __forgeSyncPath(import.meta.url);',
      "const __dirname = __forgeSyncPath(new URL('.', import.meta.url));",
    ].join(' '),
  },
});
// The page's HTML and CSS as they are; its scripts bundled with the common/ modules they import, so the
// image serves them without esbuild.
const DASHBOARD = join(REPO, 'controller/http/dashboard');
await cp(DASHBOARD, join(OUT, 'app/dashboard'), {
  recursive: true,
  filter: (source) => !source.endsWith('tsconfig.json') && !source.endsWith('.js'),
});
await writeDashboardBundles(DASHBOARD, DASHBOARD_SCRIPTS, join(OUT, 'app/dashboard'));
// The embedded catalog's seed data folder, found beside the bundle as beside its module in a checkout.
await cp(join(REPO, 'controller/catalog/pglite-seed'), join(OUT, 'app/pglite-seed'), { recursive: true });
await writeFile(
  join(OUT, 'app/package.json'),
  `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`,
);
// The controller image gets the packages the bundle leaves out (PGlite, and sharp for thumbnails with
// its prebuilt libvips as installed for this platform), each with the packages it needs, from
// node_modules as npm laid them out.
if (process.argv.includes('--images')) {
  await copyPackages(['@electric-sql/pglite', 'sharp'], join(OUT, 'controller-modules'));
}
console.log(`built ${join(OUT, 'app')}`);

/**
 * Copies each named package and everything it depends on (its dependencies, and the optional ones
 * npm installed here) from the root node_modules into `target`. A copy of sharp alone failed at
 * its first import in the image: it needs detect-libc, semver and @img/colour.
 */
async function copyPackages(names: readonly string[], target: string): Promise<void> {
  const seen = new Set<string>();
  const queue = names.map((name) => ({ name, optional: false }));
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next.name)) continue;
    seen.add(next.name);
    const from = join(REPO, 'node_modules', next.name);
    const manifest = await readFile(join(from, 'package.json'), 'utf8').catch(() => null);
    if (manifest === null) {
      if (next.optional) continue; // an optional package for another platform
      throw new Error(`${next.name} is not in node_modules; run npm ci`);
    }
    await cp(from, join(target, next.name), { recursive: true });
    const pkg = JSON.parse(manifest) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of Object.keys(pkg.dependencies ?? {})) queue.push({ name, optional: false });
    for (const name of Object.keys(pkg.optionalDependencies ?? {})) queue.push({ name, optional: true });
  }
}
