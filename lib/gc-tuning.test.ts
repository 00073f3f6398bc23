import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LARGE_FILE_AVERAGE_BYTES, MarkingSwitch, userSetGcFlag } from './gc-tuning.js';

const LARGE = { files: 10, bytes: 10 * LARGE_FILE_AVERAGE_BYTES };

function recording(leftToUser = false): { flags: string[]; marking: MarkingSwitch } {
  const flags: string[] = [];
  return { flags, marking: new MarkingSwitch((flag) => flags.push(flag), leftToUser) };
}

describe('MarkingSwitch', () => {
  it('turns incremental marking off for a transfer of large files, and on again after it', () => {
    const { flags, marking } = recording();
    const release = marking.forTransfer(LARGE.files, LARGE.bytes);
    expect(flags).toEqual(['--no-incremental-marking']);
    release();
    release();
    expect(flags).toEqual(['--no-incremental-marking', '--incremental-marking']);
  });

  it('keeps it off until the last of overlapping transfers ends', () => {
    const { flags, marking } = recording();
    const first = marking.forTransfer(LARGE.files, LARGE.bytes);
    const second = marking.forTransfer(LARGE.files, LARGE.bytes);
    first();
    expect(flags).toEqual(['--no-incremental-marking']);
    second();
    expect(flags).toEqual(['--no-incremental-marking', '--incremental-marking']);
  });

  it('leaves it alone for small files, empty transfers, and when the user set it', () => {
    const { flags, marking } = recording();
    marking.forTransfer(20_000, 20_000 * 20 * 1024)();
    marking.forTransfer(0, 0)();
    expect(flags).toEqual([]);
    const user = recording(true);
    user.marking.forTransfer(LARGE.files, LARGE.bytes)();
    expect(user.flags).toEqual([]);
  });
});

describe('userSetGcFlag', () => {
  it("sees the flag either way, on node's command line or in NODE_OPTIONS", () => {
    expect(userSetGcFlag(['--incremental-marking'])).toBe(true);
    expect(userSetGcFlag([], '--max-semi-space-size=2 --incremental_marking')).toBe(true);
    expect(userSetGcFlag(['--no-incremental-marking'])).toBe(true);
    expect(userSetGcFlag([], ' --noincremental-marking ')).toBe(true);
  });

  it('sees nothing in other flags', () => {
    expect(userSetGcFlag([], '')).toBe(false);
    expect(userSetGcFlag(['--max-semi-space-size=2'], '--enable-source-maps')).toBe(false);
  });
});

describe('the flag', () => {
  it("is one this node's V8 knows, both ways, in a running process", () => {
    // V8 says "unrecognized flag" on stderr, and goes on, for a flag it does not have.
    const run = spawnSync(
      process.execPath,
      [
        '-e',
        `const { setFlagsFromString } = require('node:v8');
         setFlagsFromString('--no-incremental-marking');
         Buffer.alloc(1 << 20);
         setFlagsFromString('--incremental-marking');`,
      ],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
  });
});
