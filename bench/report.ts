// The bench's printed report: a table per corpus with ratios against the baselines of the same run, the sweep's cost curve, and what failed or was skipped.
import { cpus } from 'node:os';
import { type BenchRecord, failures, find, records, skipped } from './records.js';
import { sweepCorpus } from './sweep-bench.js';

const BASELINES: BenchRecord['tool'][] = ['tar|tar+sync', 'rsync', 'docker cp+sync', 'rm -rf', 'tar -c'];

const seconds = (ms: number | null | undefined): string => (ms == null ? '—' : `${(ms / 1000).toFixed(2)} s`);
const mib = (n: number | undefined): string => (n === undefined ? '—' : `${n.toFixed(0)} MiB`);
const times = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

function timeCell(r: BenchRecord): string {
  if (r.scenario === 'new-file-latency') {
    const p = (ms: number | null | undefined): string => (ms === null ? 'miss' : seconds(ms));
    return `p50 ${p(r.p50Ms)}, p95 ${p(r.p95Ms)}`;
  }
  return r.agentCpuMs === undefined
    ? seconds(r.wallMs)
    : `${seconds(r.wallMs)} (agent CPU ${seconds(r.agentCpuMs)})`;
}

/** This record's wall time over each baseline's in the same corpus and scenario. */
function ratioCell(r: BenchRecord): string {
  if (r.scenario === 'new-file-latency') {
    return `settle ${seconds(r.settleMs)}; ${r.misses} of ${r.files} missed (timeout ${seconds(r.timeoutMs)})`;
  }
  if (BASELINES.includes(r.tool)) return r.tool === 'rm -rf' ? 'the floor' : 'baseline';
  return BASELINES.map((tool) => [tool, find(r.corpus, r.scenario, tool)] as const)
    .filter(([, base]) => base !== undefined)
    .map(([tool, base]) => `${times(r.wallMs, base!.wallMs)} ${tool}`)
    .join(', ');
}

function rate(r: BenchRecord): string {
  if (r.scenario === 'new-file-latency') return '';
  const parts = [
    r.mibPerS !== undefined ? `${r.mibPerS} MiB/s` : '',
    r.filesPerS !== undefined && r.files > 1 ? `${r.filesPerS} files/s` : '',
  ];
  return parts.filter(Boolean).join(', ');
}

function printCorpus(corpus: string): void {
  console.log(`\n### ${corpus}\n`);
  console.log(
    '| scenario | tool | time | rate | ratio (time ÷ baseline) | sync/controller peak RSS | agent peak RSS |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const rows = records.filter((r) => r.corpus === corpus && r.scenario !== 'start-up');
  const order: BenchRecord['scenario'][] = [
    'cold',
    'no-change',
    'changed-1pct',
    'new-file-latency',
    'purge',
    'serve',
  ];
  rows.sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario));
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.tool} | ${timeCell(r)} | ${rate(r)} | ${ratioCell(r)} | ${mib(r.peakRssMiB)} | ${mib(r.agentPeakRssMiB)} |`,
    );
  }
  const startUp = find(corpus, 'start-up', 'forge-sync');
  const still = find(corpus, 'no-change', 'forge-sync');
  if (startUp && still) {
    const rsync = find(corpus, 'no-change', 'rsync');
    // Below zero when the pass over the corpus took no longer than the one over an empty agent.
    const net = Math.max(0, still.wallMs - startUp.wallMs);
    const cell = net === 0 ? '≈ 0 s (start-up alone)' : seconds(net);
    console.log(
      `| no-change less start-up (${seconds(startUp.wallMs)}) | forge-sync | ${cell} | | ${rsync ? `${times(net, rsync.wallMs)} rsync` : ''} | | |`,
    );
  }
}

function printSweep(sizes: number[], kib: number): void {
  if (!sizes.some((n) => records.some((r) => r.corpus === sweepCorpus(n, kib)))) return;
  console.log(`\n### sweep: the cost curve (${kib} KiB files)\n`);
  console.log(
    '| files | rsync cold | forge-sync cold | rsync no-change | forge-sync no-change | daemon no-change | daemon ÷ rsync no-change | sync peak RSS (cold) | controller peak RSS | agent peak RSS |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const n of sizes) {
    const corpus = sweepCorpus(n, kib);
    const get = (scenario: BenchRecord['scenario'], tool: BenchRecord['tool']) =>
      find(corpus, scenario, tool);
    const daemon = get('no-change', 'forge-sync daemon');
    const rsyncStill = get('no-change', 'rsync');
    console.log(
      `| ${n} | ${seconds(get('cold', 'rsync')?.wallMs)} | ${seconds(get('cold', 'forge-sync')?.wallMs)} | ${seconds(rsyncStill?.wallMs)} | ${seconds(get('no-change', 'forge-sync')?.wallMs)} | ${daemon ? `${daemon.wallMs} ms` : '—'} | ${daemon && rsyncStill ? times(daemon.wallMs, rsyncStill.wallMs) : '—'} | ${mib(get('cold', 'forge-sync')?.peakRssMiB)} | ${mib(daemon?.peakRssMiB)} | ${mib(daemon?.agentPeakRssMiB ?? get('cold', 'forge-sync')?.agentPeakRssMiB)} |`,
    );
  }
}

export function printReport(
  searchRows: string[][],
  sweep: { sizes: number[]; kib: number },
  cli: string,
): void {
  console.log(
    `forge-media-sync bench (node ${process.version}, ${cpus().length} cores, forge-sync from the ${cli})`,
  );
  const sweepCorpora = new Set(sweep.sizes.map((n) => sweepCorpus(n, sweep.kib)));
  for (const corpus of new Set(records.map((r) => r.corpus))) {
    if (!sweepCorpora.has(corpus)) printCorpus(corpus);
  }
  printSweep(sweep.sizes, sweep.kib);
  if (searchRows.length) {
    console.log('\n| search case | time | | | memory |\n|---|---|---|---|---|');
    for (const row of searchRows) console.log(`| ${row.join(' | ')} |`);
  }
  for (const { group, message } of skipped) console.log(`\nskipped ${group}: ${message}`);
  for (const { group, message } of failures) console.log(`\nFAILED ${group}: ${message}`);
}
