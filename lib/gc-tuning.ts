// V8's incremental marking, turned off while large files stream through the process, unless the
// user gave node a flag for it: measured on the receive path.
import { setFlagsFromString } from 'node:v8';

/**
 * While a sync streamed large files, V8 kept starting incremental major collections on a heap of
 * about 10 MB: one every 25-50 ms, 60-90 in a 900 MB cold sync, each marking the whole heap on
 * the main thread and on helper threads. With incremental marking off there were 1-4 in the same
 * sync, and the controller's user CPU fell by about a quarter (README, Performance). Off all the
 * time, it cost a sync of 20,000 small files 20-40 MB more peak memory for no gain in time, so
 * it is off only while a large file streams; a full collection still runs whenever the heap
 * reaches its limit.
 */
const FLAG = 'incremental-marking';

/** Whether node's own flags or NODE_OPTIONS already say something about the flag, either way. */
export function userSetGcFlag(execArgv: readonly string[], nodeOptions = ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].filter(Boolean).some((word) => flagName(word) === FLAG);
}

/** Files of at least this size on average make a transfer one of large files. */
export const LARGE_FILE_AVERAGE_BYTES = 256 << 10;

/** Turns the flag off while any holder holds it; `set` is V8's setFlagsFromString. */
export class MarkingSwitch {
  private holders = 0;

  constructor(
    private readonly set: (flag: string) => void,
    /** The user gave node a word on the flag: it is theirs, never touched. */
    private readonly leftToUser: boolean,
  ) {}

  /**
   * For a transfer of `files` files and `bytes` bytes: incremental marking off, when the files are
   * large on average, until the returned function is called; with several such transfers at once,
   * until the last one ends. Call the release once the transfer ends, also when it fails.
   */
  forTransfer(files: number, bytes: number): () => void {
    if (this.leftToUser || files === 0 || bytes / files < LARGE_FILE_AVERAGE_BYTES) return () => undefined;
    if (this.holders++ === 0) this.set(`--no-${FLAG}`);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holders === 0) this.set(`--${FLAG}`);
    };
  }
}

const processSwitch = new MarkingSwitch(
  setFlagsFromString,
  userSetGcFlag(process.execArgv, process.env.NODE_OPTIONS),
);

/** This process's `MarkingSwitch.forTransfer`. */
export function markingOffForTransfer(files: number, bytes: number): () => void {
  return processSwitch.forTransfer(files, bytes);
}

/** The flag a word names: `--no-x`, `--x` and `--x=1` all name `x`, and V8 reads `_` as `-`. */
function flagName(word: string): string {
  return word
    .replace(/^--?(no-?)?/, '')
    .split('=')[0]!
    .replaceAll('_', '-');
}
