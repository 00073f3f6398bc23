// What `forge-sync watch` draws: bars, numbers and event lines as pure functions of the progress state.
import { formatBytes, formatEta, formatRate, percentOf } from '../common/format.js';
import type { AgentProgressState, Progress, ProgressMessage } from '../common/progress.js';

export const BAR_FULL = '█';
export const BAR_EMPTY = '░';
const BAR_MAX = 40;
const BAR_MIN = 10;
const LABEL_WIDTH = 8;
const NAME_MAX = 16;

/** A bar of exactly `width` cells; a null percent draws an empty one. */
export function renderBar(percent: number | null, width: number): string {
  const cells = Math.max(0, width);
  const full = percent === null ? 0 : Math.floor((cells * Math.max(0, Math.min(100, percent))) / 100);
  return BAR_FULL.repeat(full) + BAR_EMPTY.repeat(cells - full);
}

/**
 * The word shown for an agent: its phase, or while it is idle how its last phase ended. A purge is
 * known by its run id; otherwise the last sync is what ended (it may have failed before its own
 * run id reached the state).
 */
export function phaseLabel(state: AgentProgressState): string {
  if (!state.present) return 'lost';
  if (state.phase !== 'idle') return state.phase;
  if (!state.progress) return 'idle';
  const purge = state.lastPurge;
  if (purge && purge.runId === state.runId)
    return purge.error ? 'failed' : purge.dryRun ? 'dry-run' : 'purged';
  if (state.lastSync) return state.lastSync.error ? 'failed' : 'synced';
  return 'idle';
}

/** One row of the display: an agent, or the total. */
export interface Row {
  name: string;
  label: string;
  progress: Progress | null;
  /** Shown instead of the numbers, such as why the agent failed. */
  note?: string;
}

export function agentRow(state: AgentProgressState): Row {
  const label = phaseLabel(state);
  if (label !== 'failed') return { name: state.agent, label, progress: state.progress };
  const error = state.lastPurge?.runId === state.runId ? state.lastPurge.error : state.lastSync?.error;
  const p = state.progress;
  // A phase that failed before it counted anything has no bar to show.
  const counted = p !== null && (p.filesTotal > 0 || p.bytesTotal > 0);
  return {
    name: state.agent,
    label,
    progress: counted ? p : null,
    ...(error ? { note: `${error.code}: ${error.message}` } : {}),
  };
}

/**
 * The sum of every present agent's current (or last) phase. The rate adds up the busy agents; the
 * ETA is the longest of theirs, since agents run side by side, and unknown if any one is unknown.
 */
export function totalRow(states: Iterable<AgentProgressState>): Row {
  const sum: Progress = {
    filesDone: 0,
    filesTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
    rateBps: null,
    etaSeconds: 0,
  };
  let busy = 0;
  let any = false;
  for (const state of states) {
    if (!state.present || !state.progress) continue;
    any = true;
    const p = state.progress;
    sum.filesDone += p.filesDone;
    sum.filesTotal += p.filesTotal;
    sum.bytesDone += p.bytesDone;
    sum.bytesTotal += p.bytesTotal;
    if (state.phase === 'idle') continue;
    busy++;
    if (p.rateBps !== null) sum.rateBps = (sum.rateBps ?? 0) + p.rateBps;
    sum.etaSeconds =
      sum.etaSeconds === null || p.etaSeconds === null ? null : Math.max(sum.etaSeconds, p.etaSeconds);
  }
  if (busy === 0) sum.etaSeconds = null;
  return { name: 'total', label: busy > 0 ? `${busy} busy` : 'idle', progress: any ? sum : null };
}

/** Fits text into `width` columns, marking a cut with `…`. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

function rowParts(row: Row): { head: string; percent: number | null; pct: string; tail: (string | null)[] } {
  const percent = percentOf(row.progress);
  const head = `${row.name} ${row.label.padEnd(LABEL_WIDTH)} `;
  const pct = (percent === null ? '—' : `${percent}%`).padStart(4);
  const p = row.progress;
  let tail: (string | null)[] = [];
  if (row.note) tail = [row.note];
  else if (p) {
    // Fixed widths keep the columns, and so the bar, from shifting as the numbers grow.
    const busy = row.label !== 'idle' && percent !== 100;
    const files = `${p.filesTotal}/${p.filesTotal} files`.length;
    tail = [
      `${p.filesDone}/${p.filesTotal} files`.padStart(files),
      `${formatBytes(p.bytesDone).padStart(10)}/${formatBytes(p.bytesTotal).padEnd(10)}`,
      formatRate(p.rateBps).padStart(12),
      (busy ? `ETA ${formatEta(p.etaSeconds)}` : '').padEnd(10),
    ];
  }
  return { head, percent, pct, tail };
}

function usedWidth(parts: ReturnType<typeof rowParts>): number {
  const tail = parts.tail.reduce((n, part) => n + (part === null ? 0 : 2 + part.length), 0);
  return parts.head.length + 1 + parts.pct.length + tail;
}

/**
 * The bar width that lets every row show all its numbers in `width` columns, between 10 and 40
 * cells; rows with a note (an error) do not count, their note is cut instead.
 */
export function barWidthFor(rows: readonly Row[], width: number): number {
  const room = rows.filter((row) => !row.note).map((row) => width - usedWidth(rowParts(row)));
  return Math.max(BAR_MIN, Math.min(BAR_MAX, ...room));
}

/**
 * One row as a line of at most `width` columns, its bar `barWidth` cells (rows line up when they
 * share one). When the numbers do not fit beside the bar, the byte counts go first, then the file
 * counts, then the rate; whatever still does not fit is cut.
 */
export function renderRow(row: Row, width: number, barWidth: number): string {
  const parts = rowParts(row);
  for (const index of row.note ? [] : [1, 0, 2]) {
    if (usedWidth(parts) + barWidth <= width) break;
    parts.tail[index] = null;
  }
  const rest = parts.tail.map((part) => (part === null ? '' : `  ${part}`)).join('');
  return fit(`${parts.head}${renderBar(parts.percent, barWidth)} ${parts.pct}${rest}`.trimEnd(), width);
}

export interface Screen {
  states: Iterable<AgentProgressState>;
  /** Connection state: `connected to …`, `reconnecting in 2s …`. */
  status: string;
  /** Recent errors and rejected files, oldest first. */
  problems: readonly string[];
}

/**
 * The whole live block for a terminal of `columns` × `rows`: one line per agent, the total, the
 * status, then as many recent problems as fit. Never taller than `rows - 1`, so redrawing in place
 * never scrolls.
 */
export function renderScreen(screen: Screen, columns: number, rows: number): string[] {
  const width = Math.max(20, columns);
  const maxLines = Math.max(3, rows - 1);
  const states = [...screen.states];
  const nameWidth = Math.min(NAME_MAX, Math.max(5, ...states.map((state) => state.agent.length)));
  const named = (row: Row): Row => ({ ...row, name: fit(row.name, nameWidth).padEnd(nameWidth) });
  const agentRows = states.map((state) => named(agentRow(state)));
  const total = named(totalRow(states));
  const barWidth = barWidthFor([...agentRows, total], width);
  const agentLines = agentRows.map((row) => renderRow(row, width, barWidth));
  if (agentLines.length === 0) agentLines.push(fit('no agents yet', width));
  const room = maxLines - 2;
  if (agentLines.length > room) {
    const hidden = agentLines.length - (room - 1);
    agentLines.splice(room - 1, agentLines.length, fit(`… ${hidden} more agent(s)`, width));
  }
  const lines = [...agentLines, renderRow(total, width, barWidth), fit(screen.status, width)];
  const spare = maxLines - lines.length;
  if (spare > 0 && screen.problems.length > 0) {
    lines.push(...screen.problems.slice(-spare).map((problem) => fit(`! ${problem}`, width)));
  }
  return lines;
}

/** Local wall-clock time of an ISO stamp, as HH:MM:SS. */
export function clockTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '--:--:--';
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
}

/** `12/40 files, 96.0 MiB/320.0 MiB (30%), 45.2 MiB/s, ETA 5s` */
export function progressText(progress: Progress): string {
  return (
    `${progress.filesDone}/${progress.filesTotal} files, ` +
    `${formatBytes(progress.bytesDone)}/${formatBytes(progress.bytesTotal)} (${percentOf(progress)}%), ` +
    `${formatRate(progress.rateBps)}, ETA ${formatEta(progress.etaSeconds)}`
  );
}

/**
 * Whether a message goes into the problem list. A failed agent always sends an `error` before its
 * `*.completed`, so the completions need not be counted again.
 */
export function isProblem(message: ProgressMessage): boolean {
  return message.type === 'error' || message.type === 'file.rejected';
}

/** The plain line for a message, without the time; null for `file.stored`, which gets none. */
export function eventText(message: ProgressMessage): string | null {
  switch (message.type) {
    case 'snapshot':
      return message.agents.length === 0
        ? 'no agents yet'
        : message.agents.map((state) => `${state.agent} ${phaseLabel(state)}`).join(', ');
    case 'agent.discovered':
      return `${message.agent}: discovered at ${message.url}`;
    case 'agent.lost':
      return `${message.agent}: lost`;
    case 'scan.started':
      return `${message.agent}: scan started (run ${message.runId})`;
    case 'scan.progress':
      return `${message.agent}: scanning ${progressText(message.progress)}`;
    case 'scan.done':
      return `${message.agent}: scan done: ${message.files} files, ${message.pending} pending, ${message.hashed} hashed`;
    case 'sync.started':
      return `${message.agent}: sync started: ${message.progress.filesTotal} files, ${formatBytes(message.progress.bytesTotal)} to pull`;
    case 'sync.progress':
      return `${message.agent}: syncing ${progressText(message.progress)}`;
    case 'sync.completed': {
      const r = message.result;
      if (r.error) return `${message.agent}: sync FAILED ${r.error.code}: ${r.error.message}`;
      return (
        `${message.agent}: sync completed: ${r.filesTransferred} files stored (${formatBytes(r.bytesTransferred)}), ` +
        `${r.filesUnchanged} unchanged, ${r.filesPending} pending, ${r.errors} error(s)`
      );
    }
    case 'file.stored':
      return null;
    case 'file.rejected':
      return `${message.agent}: rejected ${message.path}: ${message.code}: ${message.message}`;
    case 'purge.started':
      return `${message.agent}: purge started${message.dryRun ? ' (dry run)' : ''}: ${message.progress.filesTotal} files, ${formatBytes(message.progress.bytesTotal)}`;
    case 'purge.progress':
      return `${message.agent}: purging ${progressText(message.progress)}`;
    case 'purge.completed': {
      const r = message.result;
      if (r.error) return `${message.agent}: purge FAILED ${r.error.code}: ${r.error.message}`;
      const verb = r.dryRun ? 'would purge' : 'purged';
      return `${message.agent}: purge completed: ${verb} ${r.filesPurged} files (${formatBytes(r.bytesFreed)}), ${r.problems.length} problem(s)`;
    }
    case 'error':
      return `${message.agent ?? 'controller'}: error ${message.code}: ${message.message}`;
  }
}
