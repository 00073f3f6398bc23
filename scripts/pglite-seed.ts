// Writes the embedded catalog's seed: a fresh PGlite data folder with the catalog's schema, packed, for the installed PGlite version.
// `npm run pglite-seed` after upgrading @electric-sql/pglite; the catalog test says when it is due.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { migrate } from '../controller/catalog/migrations.js';
import {
  SEED_DIR,
  installedPgliteVersion,
  seedFileName,
  wrapPglite,
} from '../controller/catalog/pglite-client.js';

const version = await installedPgliteVersion();
const dir = new URL(SEED_DIR).pathname;
await mkdir(dir, { recursive: true });
for (const name of await readdir(dir)) await rm(join(dir, name));
// The same settings the controller opens it with; initdb runs here, once, instead of at a user's first
// sync, and so do the migrations of today (1.4 s of a first start): a later one still applies at start.
const db = await PGlite.create({ postgresqlconf: 'shared_buffers=16MB' });
const applied = await migrate(wrapPglite(db));
const blob = await db.dumpDataDir('gzip');
await db.close();
const target = join(dir, seedFileName(version));
await writeFile(target, Buffer.from(await blob.arrayBuffer()));
console.log(`wrote ${target} (${blob.size} bytes, migrations ${applied.join(', ')})`);
