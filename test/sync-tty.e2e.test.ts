// `forge-sync sync` in a real pseudo-terminal (tmux): a live line per agent while it runs, human log lines, the summary at the end.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putLarge } from './helpers/files.js';
import { BIN, type Started, TOKEN, startAgent, tempDir } from './helpers/processes.js';
import { TmuxSession, hasTmux, shellQuote } from './helpers/tmux.js';
import { waitUntil } from './helpers/wait.js';

const TMUX = hasTmux();
const suite = TMUX || process.env.CI === 'true' ? describe : describe.skip;

suite(`sync on a terminal${TMUX ? '' : ' [skipped: no tmux; apt-get install -y tmux]'}`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let agent: Started;
  let tty: TmuxSession;

  beforeAll(async () => {
    if (!TMUX) throw new Error('tmux is missing, and CI=true makes that a failure');
    work = await tempDir('fms-sync-tty-');
    const out = join(work.path, 'output');
    for (let i = 0; i < 60; i++)
      await putLarge(out, `video/clip_${String(i).padStart(3, '0')}.mkv`, 4 * 1024 * 1024);
    agent = await startAgent([out]);
  }, 120_000);

  afterAll(async () => {
    await tty?.[Symbol.asyncDispose]();
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('shows the agent live, then the summary, with no raw JSON log lines', async () => {
    const sync = [
      process.execPath,
      BIN,
      'sync',
      '--dest',
      join(work.path, 'synced'),
      '--agent',
      `gpu1=${agent.url}`,
    ]
      .map(shellQuote)
      .join(' ');
    tty = await TmuxSession.start(`${sync}; echo "[exit $?]"; exec sleep 600`, {
      dir: work.path,
      env: { FORGE_SYNC_TOKEN: TOKEN, TERM: 'xterm-256color' },
      columns: 120,
      rows: 30,
    });
    const seen: string[][] = [];
    const done = await waitUntil(
      'the sync to exit',
      async () => {
        const screen = await tty.screen();
        seen.push(screen);
        return screen.some((line) => line.startsWith('[exit ')) ? screen : undefined;
      },
      { timeoutMs: 120_000, everyMs: 30 },
    );
    // While it ran: a line for gpu1 with a bar, its files and a percentage.
    const live = seen.flat().filter((line) => /^gpu1\b.*[█░].*%/.test(line));
    expect(live.length, seen.map((s) => s.join('\n')).join('\n---\n')).toBeGreaterThan(0);
    expect(done).toContain('[exit 0]');
    expect(done.some((line) => /^sync \w+: ok/.test(line))).toBe(true);
    expect(done.some((line) => /gpu1: 60 file\(s\) stored/.test(line))).toBe(true);
    // Human log lines, not pino's JSON; and the live line is gone once the summary is printed.
    expect(seen.flat().some((line) => line.startsWith('{"level"'))).toBe(false);
    expect(done.some((line) => /^gpu1\b.*[█░]/.test(line))).toBe(false);
  }, 180_000);
});
