// walkFolders on a real tree: every listed file once, in batches; folders closed even when the
// reader stops early; the event loop gets its turns while a large folder is listed.
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers/processes.js';
import { createFilter } from './filters.js';
import { walkFolders } from './folder-walk.js';
import type { Root } from './roots.js';

const OPTIONS = { filter: createFilter(['*.png'], []), logger: pino({ level: 'silent' }) };

/** Open descriptors of this process that name a folder below `dir`. */
function foldersOpenUnder(dir: string): number {
  let open = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) open++;
    } catch {
      // Closed while we looked (the descriptor readdirSync itself used).
    }
  }
  return open;
}

describe('walkFolders', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let root: Root;

  beforeEach(async () => {
    work = await tempDir('folder-walk-');
    root = { name: 'output', dir: work.path };
    await mkdir(join(work.path, 'big'));
    await mkdir(join(work.path, 'small', 'deeper'), { recursive: true });
    for (let i = 0; i < 1_000; i++) await writeFile(join(work.path, 'big', `${i}.png`), '');
    await writeFile(join(work.path, 'small', 'a.png'), '');
    await writeFile(join(work.path, 'small', 'skip.txt'), '');
    await writeFile(join(work.path, 'small', 'deeper', 'b.png'), '');
  });

  afterEach(async () => {
    await work[Symbol.asyncDispose]();
  });

  it('lists every file the filter takes, once, in bounded batches', async () => {
    const paths: string[] = [];
    for await (const batch of walkFolders(root, '', OPTIONS)) {
      expect(batch.length).toBeLessThanOrEqual(256);
      paths.push(...batch.map((candidate) => candidate.path));
    }
    expect(paths).toHaveLength(1_002);
    expect(new Set(paths).size).toBe(1_002);
    expect(paths).toContain('output/small/deeper/b.png');
    expect(paths).not.toContain('output/small/skip.txt');
  });

  it('closes the folder it was reading when the reader stops early', async () => {
    for await (const batch of walkFolders(root, 'big', OPTIONS)) {
      expect(batch.length).toBeGreaterThan(0);
      expect(foldersOpenUnder(work.path)).toBe(1);
      break;
    }
    expect(foldersOpenUnder(work.path)).toBe(0);
  });

  it('lets timers run while a large folder is listed', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let batches = 0;
    try {
      for await (const _batch of walkFolders(root, 'big', OPTIONS)) batches++;
    } finally {
      clearInterval(timer);
    }
    expect(batches).toBe(4);
    expect(ticks).toBeGreaterThanOrEqual(2);
  });
});
