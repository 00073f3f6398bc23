// The V8 flag the CLI sets on itself as it starts, before any work: measured on the receive path.
import { setFlagsFromString } from 'node:v8';

/**
 * Incremental marking off. While a sync streamed large files, V8 kept starting incremental major
 * collections on a heap of about 10 MB: one every 25-50 ms, 60-90 in a 900 MB cold sync, each
 * marking the whole heap on the main thread and on helper threads. With it off there were 1-4 in
 * the same sync, and the controller's user CPU fell by about a quarter (README, Performance). A
 * full collection still runs whenever the heap reaches its limit, as one pause of a few
 * milliseconds at these heap sizes.
 */
export const GC_FLAGS: readonly string[] = ['--no-incremental-marking'];

/** Of GC_FLAGS, those neither node's own flags nor NODE_OPTIONS set already, one way or the other. */
export function gcFlagsToSet(execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].filter(Boolean).map(flagName));
  return GC_FLAGS.filter((flag) => !given.has(flagName(flag)));
}

/** Sets what `gcFlagsToSet` returns for this process; V8 reads these flags as it goes. */
export function tuneGc(): void {
  for (const flag of gcFlagsToSet(process.execArgv, process.env.NODE_OPTIONS)) setFlagsFromString(flag);
}

/** The flag a word names: `--no-x`, `--x` and `--x=1` all name `x`, and V8 reads `_` as `-`. */
function flagName(word: string): string {
  return word
    .replace(/^--?(no-?)?/, '')
    .split('=')[0]!
    .replaceAll('_', '-');
}
