// The catalog's thread started early: the next catalog opened takes it and works; one never taken
// lets its process exit as it would have.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/processes.js';
import { openPgliteClient } from './pglite-client.js';
import { startCatalogThreadEarly, takeEarlyThread } from './pglite-preload.js';

const RUN_TS = resolve(import.meta.dirname, '../../bin/run-ts.js');

describe('the catalog thread started early', () => {
  it('is taken by the next catalog opened, which then answers', async () => {
    const work = await tempDir('pglite-early-');
    try {
      startCatalogThreadEarly();
      const db = await openPgliteClient(join(work.path, 'catalog'));
      try {
        // openPgliteClient took it: there is none left to take.
        expect(takeEarlyThread()).toBeUndefined();
        const { rows } = await db.query<{ n: number }>('SELECT 41 + 1 AS n');
        expect(rows).toEqual([{ n: 42 }]);
      } finally {
        await db.close();
      }
    } finally {
      await work[Symbol.asyncDispose]();
    }
  });

  it('holds nothing open when no catalog takes it', async () => {
    const work = await tempDir('pglite-early-exit-');
    const script = join(work.path, 'start-only.mts');
    const preload = pathToFileURL(resolve(import.meta.dirname, 'pglite-preload.ts')).href;
    await writeFile(
      script,
      `import { startCatalogThreadEarly } from ${JSON.stringify(preload)};\nstartCatalogThreadEarly();\nconsole.log('started');\n`,
    );
    const run = spawnSync(process.execPath, [RUN_TS, script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe('started');
    await work[Symbol.asyncDispose]();
  });
});
