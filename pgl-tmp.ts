import { openPgliteClient } from './controller/catalog/pglite-client.js';
import { SqlCatalog } from './controller/catalog/sql-catalog.js';
import { mkdtemp } from 'node:fs/promises';
for (const where of ['dir', 'memory://', 'dir']) {
  let t = Date.now();
  const c = await openPgliteClient(where === 'dir' ? await mkdtemp('/tmp/pgl-') : where);
  const t1 = Date.now() - t; t = Date.now();
  const cat = await SqlCatalog.open(c);
  const t2 = Date.now() - t; t = Date.now();
  await cat.close();
  console.log(where, t1, t2, Date.now() - t);
}
