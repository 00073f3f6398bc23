// Agent-side purge: files set aside by a crashed purge are restored at start, never lost or overwritten.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QUARANTINE_PREFIX, recoverQuarantine } from './purge.js';
import { resolveRoots } from './roots.js';

const logger = pino({ level: 'silent' });

describe('recoverQuarantine', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quarantine-'));
    await mkdir(join(dir, 'output/2026-11-24'), { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('puts a set-aside file back under its own name', async () => {
    const day = join(dir, 'output/2026-11-24');
    await writeFile(join(day, `${QUARANTINE_PREFIX}a1b2c3.00001-42.png`), 'image');
    const restored = await recoverQuarantine(await resolveRoots([join(dir, 'output')]), logger);
    expect(restored).toBe(1);
    expect(await readdir(day)).toEqual(['00001-42.png']);
    expect(await readFile(join(day, '00001-42.png'), 'utf8')).toBe('image');
  });

  it('restores beside a file that took the name meanwhile, without overwriting it', async () => {
    const out = join(dir, 'output');
    await writeFile(join(out, 'ComfyUI_00001_.png'), 'new');
    await writeFile(join(out, `${QUARANTINE_PREFIX}ffee00.ComfyUI_00001_.png`), 'old');
    expect(await recoverQuarantine(await resolveRoots([out]), logger)).toBe(1);
    const names = (await readdir(out)).sort();
    expect(names).toHaveLength(3);
    expect(await readFile(join(out, 'ComfyUI_00001_.png'), 'utf8')).toBe('new');
    const restored = names.find((name) => /^ComfyUI_00001_~restored-[0-9a-f]{8}\.png$/.test(name));
    expect(restored).toBeDefined();
    expect(await readFile(join(out, restored!), 'utf8')).toBe('old');
    expect(names.some((name) => name.startsWith(QUARANTINE_PREFIX))).toBe(false);
  });

  it('leaves ordinary files alone', async () => {
    const out = join(dir, 'output');
    await writeFile(join(out, '.hidden.png'), 'x');
    await writeFile(join(out, 'ComfyUI_00002_.png'), 'y');
    expect(await recoverQuarantine(await resolveRoots([out]), logger)).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['.hidden.png', '2026-11-24', 'ComfyUI_00002_.png']);
  });
});
