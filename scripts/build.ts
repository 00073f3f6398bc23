// `npm run build` (run by `npm ci` too): bundles the CLI with esbuild into dist/app, which bin/forge-sync.js
// starts while it is fresh; `--images` also lays out PGlite for the container images (no dev dependencies inside).
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const REPO = resolve(import.meta.dirname, '..');
const OUT = join(REPO, 'dist');

await rm(OUT, { recursive: true, force: true });
await build({
  absWorkingDir: REPO,
  entryPoints: {
    main: 'cli/main.ts',
    healthcheck: 'lib/healthcheck.ts',
    'fake-generator': 'scripts/fake-generator.ts',
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
  // native speed-ups that their libraries do without.
  external: [
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
await cp(join(REPO, 'controller/dashboard'), join(OUT, 'app/dashboard'), {
  recursive: true,
  filter: (source) => !source.endsWith('tsconfig.json'),
});
// The embedded catalog's seed data folder, found beside the bundle as beside its module in a checkout.
await cp(join(REPO, 'controller/catalog/pglite-seed'), join(OUT, 'app/pglite-seed'), { recursive: true });
await writeFile(
  join(OUT, 'app/package.json'),
  `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`,
);
// The controller image gets PGlite as a package beside the bundle; in a checkout, node_modules has it.
if (process.argv.includes('--images')) {
  await mkdir(join(OUT, 'controller-modules/@electric-sql'), { recursive: true });
  await cp(
    join(REPO, 'node_modules/@electric-sql/pglite'),
    join(OUT, 'controller-modules/@electric-sql/pglite'),
    { recursive: true },
  );
  // Thumbnails: sharp and its prebuilt libvips packages (@img/*), as installed for this platform.
  await cp(join(REPO, 'node_modules/sharp'), join(OUT, 'controller-modules/sharp'), { recursive: true });
  await cp(join(REPO, 'node_modules/@img'), join(OUT, 'controller-modules/@img'), { recursive: true });
}
console.log(`built ${join(OUT, 'app')}`);
