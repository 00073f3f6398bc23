// Bundles the dashboard's page scripts with the common/ modules they import, for the browser: at build time into dist/, on demand when run from sources.
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';

/**
 * One self-contained ES module per page script, as the browser loads it under `script-src 'self'`:
 * no import is left for it to resolve. Not minified, so what the browser runs reads like the source.
 */
const BROWSER: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'silent',
};

/** Writes each of `scripts` (file names in `dir`) bundled into `outdir`, under the same name. */
export async function writeDashboardBundles(
  dir: string,
  scripts: readonly string[],
  outdir: string,
): Promise<void> {
  await build({ ...BROWSER, absWorkingDir: dir, entryPoints: [...scripts], outdir, write: true });
}

interface Bundle {
  body: Buffer;
  /** Every file the bundle was made from, with its mtime then. */
  inputs: { path: string; mtimeMs: number }[];
}

async function bundleOne(path: string): Promise<Bundle> {
  const cwd = dirname(path);
  const result = await build({
    ...BROWSER,
    absWorkingDir: cwd,
    entryPoints: [path],
    write: false,
    metafile: true,
  });
  const inputs = await Promise.all(
    Object.keys(result.metafile.inputs).map(async (input) => {
      const full = resolve(cwd, input);
      return { path: full, mtimeMs: (await stat(full)).mtimeMs };
    }),
  );
  return { body: Buffer.from(result.outputFiles[0]!.contents), inputs };
}

async function unchanged(bundle: Bundle): Promise<boolean> {
  const now = await Promise.all(bundle.inputs.map((input) => stat(input.path).catch(() => null)));
  return now.every((info, i) => info?.mtimeMs === bundle.inputs[i]!.mtimeMs);
}

/**
 * A reader of bundled page scripts for a controller run from sources: each script is bundled on
 * its first request and again only once one of the files it was made from has changed, so an edit
 * shows on reload. A failed bundle says which script and why (a syntax error, a missing import).
 */
export function bundledScripts(): (path: string) => Promise<Buffer> {
  const cache = new Map<string, Bundle>();
  return async (path) => {
    const known = cache.get(path);
    if (known && (await unchanged(known))) return known.body;
    let made: Bundle;
    try {
      made = await bundleOne(path);
    } catch (err) {
      const detail = (err as { errors?: { text: string }[] }).errors?.map((e) => e.text).join('; ');
      throw new Error(`cannot bundle the dashboard script ${path}: ${detail ?? String(err)}`, {
        cause: err,
      });
    }
    cache.set(path, made);
    return made.body;
  };
}
