// Who a process is, beyond its pid: the kernel it runs on, its pid namespace and its start time, from /proc.
import { readFileSync, readlinkSync } from 'node:fs';

/** What names one process for as long as it lives; a reused pid has another start time. */
export interface ProcessIdentity {
  pid: number;
  /** The kernel's boot id: pids mean nothing across boots. */
  boot: string;
  /** The pid namespace: pids mean nothing across namespaces (containers). */
  pidns: string;
  /** Start time in clock ticks after boot (/proc/<pid>/stat field 22). */
  start: string;
}

/** What /proc says of a pid now: gone, a zombie (dead, not reaped yet), or running since `start`. */
export type ProcessState = { alive: false; why: 'gone' | 'zombie' } | { alive: true; start: string };

function readOr(read: () => string): string | undefined {
  try {
    return read().trim();
  } catch {
    return undefined;
  }
}

/** This process's identity; undefined where there is no /proc (not Linux). */
export function selfIdentity(): ProcessIdentity | undefined {
  const boot = readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const pidns = readOr(() => readlinkSync('/proc/self/ns/pid'));
  const state = processState(process.pid);
  if (!boot || !pidns || !state.alive) return undefined;
  return { pid: process.pid, boot, pidns, start: state.start };
}

/**
 * The state of `pid` in this pid namespace. The command name in /proc/<pid>/stat is in
 * parentheses and may hold spaces and parentheses itself, so fields are counted after the last ')'.
 */
export function processState(pid: number): ProcessState {
  const stat = readOr(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (stat === undefined) return { alive: false, why: 'gone' };
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  // Z: exited, waiting for its parent to reap it; X: being torn down. Neither runs again.
  if (state === 'Z' || state === 'X') return { alive: false, why: 'zombie' };
  return { alive: true, start: fields[19] ?? '' };
}
