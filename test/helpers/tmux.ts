// A pseudo-terminal for tests: a command in a detached tmux session on a private server, and what its screen shows.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether tmux can be run here. */
export function hasTmux(): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Quotes one word for the shell tmux runs a command with. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * One session on its own tmux server (`-S`, a socket in the test's folder, so a person's tmux is
 * never touched), running commands with /bin/sh. Dispose kills the server.
 */
export class TmuxSession {
  private constructor(
    private readonly socket: string,
    readonly name: string,
  ) {}

  /** Starts `command` (a shell command line) in a `columns` × `rows` pane with `env` set for it. */
  static async start(
    command: string,
    options: { dir: string; env: Record<string, string>; columns: number; rows: number },
  ): Promise<TmuxSession> {
    const id = `fms-${process.pid}-${randomBytes(4).toString('hex')}`;
    const config = join(options.dir, `${id}.conf`);
    await writeFile(config, 'set -g default-shell /bin/sh\nset -g history-limit 1000\n');
    // The socket lives in the test's folder, so nothing is left in /tmp/tmux-UID once it is removed.
    const session = new TmuxSession(join(options.dir, `${id}.sock`), id);
    const env = Object.entries(options.env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
    await session.tmux(
      '-f',
      config,
      'new-session',
      '-d',
      '-s',
      id,
      '-x',
      String(options.columns),
      '-y',
      String(options.rows),
      ...env,
      command,
    );
    return session;
  }

  private async tmux(...args: string[]): Promise<string> {
    const clientEnv: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C.UTF-8' };
    delete clientEnv.TMUX;
    const { stdout } = await run('tmux', ['-u', '-S', this.socket, ...args], { env: clientEnv });
    return stdout;
  }

  /** The scrollback and the visible screen, one string per row, trailing blanks trimmed. */
  async screen(): Promise<string[]> {
    const text = await this.tmux('capture-pane', '-p', '-S', '-', '-t', this.name);
    return text.split('\n').map((line) => line.trimEnd());
  }

  /** Whether the pane shows its cursor (a program that hid it should have restored it). */
  async cursorVisible(): Promise<boolean> {
    return (await this.tmux('display-message', '-p', '-t', this.name, '#{cursor_flag}')).trim() === '1';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
  }
}
