// Per-agent locks: work for one agent runs one at a time, tryRun gives way, other agents never wait.
import { describe, expect, it } from 'vitest';
import { AgentLocks } from './agent-locks.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('AgentLocks', () => {
  it('runs work for one agent in order, never overlapping', async () => {
    const locks = new AgentLocks();
    const events: string[] = [];
    const first = gate();
    const a = locks.run('gpu1', async () => {
      events.push('sync start');
      await first.promise;
      events.push('sync end');
    });
    const b = locks.run('gpu1', async () => {
      events.push('purge start');
      events.push('purge end');
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(locks.isBusy('gpu1')).toBe(true);
    first.open();
    await Promise.all([a, b]);
    expect(events).toEqual(['sync start', 'sync end', 'purge start', 'purge end']);
    expect(locks.isBusy('gpu1')).toBe(false);
  });

  it('tryRun skips an agent that is busy or has work waiting, and runs when it is free', async () => {
    const locks = new AgentLocks();
    const held = gate();
    const sync = locks.run('gpu1', () => held.promise);
    let ran = false;
    expect(
      await locks.tryRun('gpu1', async () => {
        ran = true;
      }),
    ).toBeNull();
    expect(ran).toBe(false);
    held.open();
    await sync;
    expect(await locks.tryRun('gpu1', async () => 'purged')).toBe('purged');
  });

  it('does not hold one agent up for another', async () => {
    const locks = new AgentLocks();
    const held = gate();
    const slow = locks.run('gpu1', () => held.promise);
    expect(await locks.run('gpu2', async () => 'done')).toBe('done');
    expect(await locks.tryRun('gpu2', async () => 'free')).toBe('free');
    held.open();
    await slow;
  });

  it('keeps going after a failure', async () => {
    const locks = new AgentLocks();
    await expect(locks.run('gpu1', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await locks.run('gpu1', async () => 'after')).toBe('after');
    expect(locks.isBusy('gpu1')).toBe(false);
  });
});
