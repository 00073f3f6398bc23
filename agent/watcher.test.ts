// FolderWatcher with a real Scanner on a temp folder: real inotify and the real clock, so files
// written, created in new folders, renamed into place or deleted reach the index without a scan.
import { watch } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../common/clock.js';
import { fakePng, put } from '../test/helpers/files.js';
import { waitUntil } from '../test/helpers/wait.js';
import { FileIndex } from './file-index.js';
import { createFilter } from './filters.js';
import { type Root, resolveRoots } from './roots.js';
import { Scanner } from './scanner.js';
import { FolderWatcher } from './watcher.js';

const logger = pino({ level: 'silent' });
const SETTLE_MS = 200;
/** A change must reach the index within the settle window plus this (event batching, retry, hashing). */
const BUDGET_MS = SETTLE_MS + 1_000;

describe('FolderWatcher', () => {
  let dir: string;
  let out: string;
  let root: Root;
  let index: FileIndex;
  let scanner: Scanner;
  let watcher: FolderWatcher;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'watcher-'));
    out = join(dir, 'output');
    await put(out, 'before.png', fakePng(64, 'before')); // an hour old: settled at the first scan
    [root] = (await resolveRoots([out])) as [Root];
    index = new FileIndex();
    watcher = new FolderWatcher(systemClock, logger);
    scanner = new Scanner({
      roots: [root],
      filter: createFilter([], []),
      settleMs: SETTLE_MS,
      index,
      clock: systemClock,
      logger,
      onFolder: (r, rel) => watcher.watchFolder(r, rel),
    });
    watcher.attach(scanner);
    expect((await scanner.scan()).entries.map((entry) => entry.path)).toEqual(['output/before.png']);
    expect([watcher.active, watcher.folders]).toEqual([true, 1]);
  });

  afterEach(async () => {
    watcher.close();
    await scanner.settled();
    await rm(dir, { recursive: true, force: true });
  });

  const listed = (): string[] => [...index.listed()].map(([path]) => path).sort();

  /** Waits (within BUDGET_MS) until the index lists exactly `paths`; returns the generation then. */
  function indexLists(paths: string[]): Promise<number> {
    return waitUntil(
      `the index to list ${paths.join(', ')}`,
      () => (JSON.stringify(listed()) === JSON.stringify([...paths].sort()) ? index.generation : undefined),
      { timeoutMs: BUDGET_MS, everyMs: 20, seen: listed },
    );
  }

  it('lists a file written after the scan without another scan', async () => {
    const scan = vi.spyOn(scanner, 'scan');
    const before = index.generation;
    await writeFile(join(out, 'new.png'), fakePng(5_000));
    const generation = await indexLists(['output/before.png', 'output/new.png']);
    expect(generation).toBeGreaterThan(before);
    expect(scan).not.toHaveBeenCalled();
    expect(index.changesSince(index.epoch, before)?.files.map(([path]) => path)).toEqual(['output/new.png']);
  });

  it('lists a file written into a folder made after the scan, and watches that folder', async () => {
    const folders = watcher.folders;
    await mkdir(join(out, 'batch', 'deep'), { recursive: true });
    await writeFile(join(out, 'batch', 'deep', 'one.png'), fakePng());
    await indexLists(['output/batch/deep/one.png', 'output/before.png']);
    expect(watcher.folders).toBe(folders + 2);
    // A later file in that folder comes through the new folder's own watch.
    await writeFile(join(out, 'batch', 'deep', 'two.png'), fakePng());
    await indexLists(['output/batch/deep/one.png', 'output/batch/deep/two.png', 'output/before.png']);
  });

  it('lists a file renamed into place, never its temporary name', async () => {
    await writeFile(join(out, '.ComfyUI_00001_.png.tmp'), fakePng());
    await rename(join(out, '.ComfyUI_00001_.png.tmp'), join(out, 'ComfyUI_00001_.png'));
    await indexLists(['output/ComfyUI_00001_.png', 'output/before.png']);
  });

  it('unlists a deleted file, and a deleted folder with everything below it', async () => {
    await mkdir(join(out, 'sub'));
    await writeFile(join(out, 'sub', 'a.png'), fakePng());
    await indexLists(['output/before.png', 'output/sub/a.png']);
    const folders = watcher.folders;

    let before = index.generation;
    await rm(join(out, 'before.png'));
    expect(await indexLists(['output/sub/a.png'])).toBeGreaterThan(before);
    expect(index.changesSince(index.epoch, before)).toEqual({ files: [], removed: ['output/before.png'] });

    before = index.generation;
    await rm(join(out, 'sub'), { recursive: true });
    await indexLists([]);
    expect(index.changesSince(index.epoch, before)?.removed).toEqual(['output/sub/a.png']);
    await waitUntil(
      'the gone folder to be unwatched',
      () => (watcher.folders === folders - 1 ? true : undefined),
      {
        timeoutMs: BUDGET_MS,
        everyMs: 20,
      },
    );
  });

  it('watches a folder removed and made again at once: the new one, not the gone one', async () => {
    await mkdir(join(out, 'day'));
    await writeFile(join(out, 'day', 'a.png'), fakePng());
    await indexLists(['output/before.png', 'output/day/a.png']);
    const folders = watcher.folders;
    // Within one batch, often with the same inode number back.
    await rm(join(out, 'day'), { recursive: true });
    await mkdir(join(out, 'day'));
    await indexLists(['output/before.png']);
    // The old folder's watch reports nothing any more: only a watch on the new one sees this file.
    await writeFile(join(out, 'day', 'b.png'), fakePng());
    await indexLists(['output/before.png', 'output/day/b.png']);
    expect(watcher.folders).toBe(folders);
  });

  it('keeps watching when a folder is gone before its watch is set', async () => {
    const folders = watcher.folders;
    watcher.watchFolder(root, 'vanished');
    expect([watcher.active, watcher.folders]).toEqual([true, folders]);
    await writeFile(join(out, 'after.png'), fakePng());
    await indexLists(['output/after.png', 'output/before.png']);
  });

  it('drain() also waits for the changes whose events come in while it waits', async () => {
    // The first refresh is held until a second file has been written and its event seen.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const refresh = scanner.refresh.bind(scanner);
    const spy = vi.spyOn(scanner, 'refresh').mockImplementationOnce(async (paths) => {
      await gate;
      return refresh(paths);
    });
    await put(out, 'a.png', fakePng(64, 'a'));
    await waitUntil('the refresh of a.png', () => (spy.mock.calls.length > 0 ? true : undefined), {
      timeoutMs: BUDGET_MS,
      everyMs: 5,
    });
    const drained = watcher.drain();
    const witness = watch(out, { persistent: false });
    const seen = new Promise<void>((resolve) =>
      witness.on('change', (_event, name) => name === 'b.png' && resolve()),
    );
    await put(out, 'b.png', fakePng(64, 'b'));
    await seen;
    witness.close();
    release();
    await drained;
    // Listed at once: not after the next event batch, nor at the next manifest.
    expect(listed()).toEqual(['output/a.png', 'output/b.png', 'output/before.png']);
  });

  it('stops at close(): no refresh afterwards, not even a retry already scheduled', async () => {
    const refresh = vi.spyOn(scanner, 'refresh');
    // An unsettled file: its refresh leaves it pending and schedules a retry.
    await writeFile(join(out, 'pending.png'), fakePng());
    await waitUntil('pending.png to be seen', () => (scanner.stats.pendingFiles === 1 ? true : undefined), {
      timeoutMs: BUDGET_MS,
      everyMs: 10,
    });
    watcher.close();
    expect([watcher.active, watcher.folders]).toEqual([false, 0]);
    await watcher.drain();
    const calls = refresh.mock.calls.length;
    const generation = index.generation;

    // A witness watch shows the events a live watcher would have had; then give a refresh time to come.
    const witness = watch(out, { persistent: false });
    const seen = new Promise<void>((resolve) =>
      witness.on('change', (_event, name) => name === 'late.png' && resolve()),
    );
    await writeFile(join(out, 'late.png'), fakePng());
    await seen;
    witness.close();
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 300)); // a negative: nothing to wait on
    await scanner.settled();
    expect(refresh.mock.calls.length).toBe(calls);
    expect(index.generation).toBe(generation);
    expect(listed()).toEqual(['output/before.png']);
  });
});
