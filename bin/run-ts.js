#!/usr/bin/env node
// Runs a TypeScript script (demo, bench) through tsx: node bin/run-ts.js scripts/demo.ts [args].
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { register } from 'tsx/esm/api';

register();
const [script, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], resolve(script), ...args];
await import(pathToFileURL(resolve(script)).href);
