#!/usr/bin/env node
// Starts the CLI: the esbuild bundle that `npm ci` builds (npm run build), while it is newer than
// every source file; else the TypeScript itself through tsx, so an edited checkout runs its edits.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const repo = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(repo, 'dist/app/main.js');

/** The newest modification time under the source folders, in ms; Infinity if unreadable. */
function newestSource() {
  let newest = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  try {
    for (const dir of ['agent', 'controller', 'common', 'cli', 'lib']) visit(join(repo, dir));
    newest = Math.max(newest, statSync(join(repo, 'package-lock.json')).mtimeMs);
  } catch {
    return Infinity;
  }
  return newest;
}

function bundleIsFresh() {
  if (process.env.FORGE_SYNC_FROM_SOURCE === '1') return false;
  try {
    return statSync(bundle).mtimeMs > newestSource();
  } catch {
    return false;
  }
}

if (bundleIsFresh()) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
