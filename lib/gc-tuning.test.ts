import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GC_FLAGS, gcFlagsToSet } from './gc-tuning.js';

describe('gcFlagsToSet', () => {
  it('sets the tuning when node was given nothing of it', () => {
    expect(gcFlagsToSet([], '')).toEqual(GC_FLAGS);
    expect(gcFlagsToSet(['--max-semi-space-size=2'], '--enable-source-maps')).toEqual(GC_FLAGS);
  });

  it("leaves a flag the user chose, either way, on node's command line or in NODE_OPTIONS", () => {
    expect(gcFlagsToSet(['--incremental-marking'])).toEqual([]);
    expect(gcFlagsToSet([], '--max-semi-space-size=2 --incremental_marking')).toEqual([]);
    expect(gcFlagsToSet(['--no-incremental-marking'])).toEqual([]);
    expect(gcFlagsToSet([], ' --noincremental-marking ')).toEqual([]);
  });

  it("is a flag this node's V8 knows", () => {
    // V8 says "unrecognized flag" on stderr, and goes on, for a flag it does not have.
    const run = spawnSync(
      process.execPath,
      ['-e', `for (const flag of ${JSON.stringify(GC_FLAGS)}) require('node:v8').setFlagsFromString(flag)`],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
  });
});
