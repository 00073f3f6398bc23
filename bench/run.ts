// `npm run bench`: this tool against `tar | tar` + sync and rsync, side by side in one run, on the same corpora and disk.
//
// Corpus (a): media-sized PNG-shaped files; corpus (b): many small ones. For each: cold sync, a pass
// with nothing to do, and a pass after 1% of the files changed, timed as whole processes, with peak
// memory of the agent and the sync. Ratios against the baselines of the same run are what count:
// these machines are noisy. Writes bench/results/latest.json, one record per (scenario, tool).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { benchSearch } from './search-bench.js';

const REPO = resolve(import.meta.dirname, '..');
const BIN = join(REPO, 'bin/forge-sync.js');
const TOKEN = 'bench-token';
const DAY_MS = 86_400_000;

const { values } = parseArgs({
  options: {
    'a-files': { type: 'string', default: '600' },
    'a-kib': { type: 'string', default: '1536' },
    'b-files': { type: 'string', default: '20000' },
    'b-kib': { type: 'string', default: '20' },
    'search-records': { type: 'string', default: '200000' },
    only: { type: 'string', default: 'a,b,search' },
    out: { type: 'string', default: join(REPO, 'bench/results/latest.json') },
  },
});
const ONLY = new Set(values.only.split(','));

interface BenchRecord {
  corpus: string;
  scenario: 'cold' | 'no-change' | 'changed-1pct' | 'start-up' | 'search';
  tool: 'forge-sync' | 'tar|tar+sync' | 'rsync';
  files: number;
  bytes: number;
  wallMs: number;
  mibPerS?: number;
  filesPerS?: number;
  peakRssMiB?: number;
  agentPeakRssMiB?: number;
  note?: string;
}

const records: BenchRecord[] = [];

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

function pngPath(root: string, i: number): string {
  const dir = join(root, 'txt2img-images', `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`);
  return join(dir, `${String(i).padStart(6, '0')}-${100000 + i}.png`);
}

/** Structurally complete PNGs (signature, distinct filler, IEND), two days old: what the agent serves. */
async function makeTree(root: string, count: number, bytes: number, salt = ''): Promise<number> {
  const old = new Date(Date.now() - 2 * DAY_MS);
  const pool = randomBytes(bytes + 4096);
  for (let i = 0; i < count; i++) await writePng(pngPath(root, i), pool, i, bytes, `${salt}${i}`, old);
  return count * bytes;
}

async function writePng(path: string, pool: Buffer, i: number, bytes: number, tag: string, mtime: Date) {
  await mkdir(resolve(path, '..'), { recursive: true });
  const handle = await open(path, 'w');
  const filler = bytes - PNG_SIGNATURE.length - PNG_IEND.length - 16;
  await handle.write(PNG_SIGNATURE);
  await handle.write(pool, i % 4096, filler);
  await handle.write(Buffer.from(tag.padStart(16, '0').slice(-16)));
  await handle.write(PNG_IEND);
  await handle.close();
  await utimes(path, mtime, mtime);
}

/** Rewrites 1% of the files with new content (and an mtime an hour older than now, so they are settled). */
async function changeOnePercent(root: string, count: number, bytes: number): Promise<number> {
  const pool = randomBytes(bytes + 4096);
  const mtime = new Date(Date.now() - 3_600_000);
  const step = 100;
  let changed = 0;
  for (let i = 0; i < count; i += step) {
    await writePng(pngPath(root, i), pool, i, bytes, `changed${i}`, mtime);
    changed++;
  }
  return changed;
}

async function startAgent(root: string, stateDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [BIN, 'agent', '--root', root, '--port', '0', '--settle', '1s', '--state-dir', stateDir],
    { env: { ...process.env, FORGE_SYNC_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const lines = createInterface({ input: child.stderr! });
  const url = await new Promise<string>((resolveUrl, reject) => {
    lines.on('line', (line) => {
      if (line.includes('"agent listening"')) resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  return { child, url };
}

async function stopAgent(agent: { child: ChildProcess }): Promise<void> {
  agent.child.kill('SIGTERM');
  await once(agent.child, 'exit');
}

/** Peak resident memory of a live process, from /proc. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** Runs a command to its end; wall time, and its peak RSS (GNU time is not needed: rusage of the child). */
async function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const start = performance.now();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  const wallMs = performance.now() - start;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.slice(-2000)}`);
  return { wallMs, stdout, stderr };
}

/** A one-shot `forge-sync sync`; its peak RSS is printed by bench/peak-rss.js as it exits. */
async function forgeSync(dest: string, url: string, expectTransferred: number) {
  const run = await timeCommand(
    process.execPath,
    [
      '--import',
      join(REPO, 'bench/peak-rss.js'),
      BIN,
      'sync',
      '--dest',
      dest,
      '--agent',
      `bench=${url}`,
      '--json',
      '--log-level',
      'warn',
    ],
    { FORGE_SYNC_TOKEN: TOKEN },
  );
  const peakRssMiB = Number(/peak-rss-mib=([\d.]+)/.exec(run.stderr)?.[1] ?? NaN);
  const summary = JSON.parse(run.stdout) as { totals: Record<string, number> };
  // A bench that moved nothing measures nothing: insist on the expected work.
  if (summary.totals.filesTransferred !== expectTransferred || summary.totals.errors !== 0) {
    throw new Error(`expected ${expectTransferred} files transferred, got ${JSON.stringify(summary.totals)}`);
  }
  return { wallMs: run.wallMs, peakRssMiB };
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function record(entry: Omit<BenchRecord, 'mibPerS' | 'filesPerS'>): void {
  const seconds = entry.wallMs / 1000;
  records.push({
    ...entry,
    ...(entry.bytes > 0 ? { mibPerS: round(entry.bytes / 2 ** 20 / seconds) } : {}),
    ...(entry.files > 0 ? { filesPerS: round(entry.files / seconds) } : {}),
    wallMs: round(entry.wallMs),
  });
}

const round = (n: number): number => Math.round(n * 10) / 10;

async function benchCorpus(work: string, name: string, files: number, kib: number): Promise<void> {
  const bytes = kib * 1024;
  const src = join(work, `${name}-src`, 'output');
  console.error(`(${name}) generating ${files} files of ${kib} KiB …`);
  const total = await makeTree(src, files, bytes);
  execFileSync('sync');
  const base = { corpus: `(${name}) ${files} × ${kib} KiB`, files, bytes: total };
  const rsync = hasCommand('rsync');
  if (!rsync) console.error('rsync is not installed (apt-get install rsync): its rows are left out');

  // An empty agent under the same name gives the start-up cost alone: CLI, catalog, one round trip.
  const emptyDir = join(work, `${name}-empty`);
  await mkdir(emptyDir, { recursive: true });
  const empty = await startAgent(emptyDir, join(work, `${name}-empty-state`));
  const agent = await startAgent(src, join(work, `${name}-state`));
  try {
    // Let the agent hash the tree once (it does at start), so the cold sync measures the transfer.
    await fetch(`${agent.url}/v1/manifest`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) =>
      r.text(),
    );
    const dest = join(work, `${name}-dest`);

    // 1. Cold: the copy limit (tar | tar, then sync), rsync, and this tool.
    const tarDest = join(work, `${name}-tar`);
    await mkdir(tarDest);
    const tarRun = await timeCommand('sh', [
      '-c',
      `tar -C "${src}" -cf - . | tar -C "${tarDest}" -xf - && sync`,
    ]);
    record({ ...base, scenario: 'cold', tool: 'tar|tar+sync', wallMs: tarRun.wallMs });
    await rm(tarDest, { recursive: true, force: true });
    const rsyncDest = join(work, `${name}-rsync`);
    if (rsync) {
      const cold = await timeCommand('rsync', ['-a', `${src}/`, `${rsyncDest}/`]);
      record({ ...base, scenario: 'cold', tool: 'rsync', wallMs: cold.wallMs });
    }
    execFileSync('sync');
    const cold = await forgeSync(dest, agent.url, files);
    record({
      ...base,
      scenario: 'cold',
      tool: 'forge-sync',
      wallMs: cold.wallMs,
      peakRssMiB: round(cold.peakRssMiB),
      agentPeakRssMiB: round(await peakRssMiB(agent.child.pid!)),
    });

    // 2. Nothing to do.
    if (rsync) {
      const still = await timeCommand('rsync', ['-a', `${src}/`, `${rsyncDest}/`]);
      record({ ...base, scenario: 'no-change', tool: 'rsync', wallMs: still.wallMs, bytes: 0 });
    }
    const still = await forgeSync(dest, agent.url, 0);
    record({
      ...base,
      scenario: 'no-change',
      tool: 'forge-sync',
      wallMs: still.wallMs,
      bytes: 0,
      peakRssMiB: round(still.peakRssMiB),
    });
    const startUp = await forgeSync(dest, empty.url, 0);
    record({
      ...base,
      scenario: 'start-up',
      tool: 'forge-sync',
      wallMs: startUp.wallMs,
      files: 0,
      bytes: 0,
      note: 'one-shot sync of an agent with no files into the same --dest: CLI, catalog and one round trip',
    });

    // 3. 1% of the files changed.
    const changed = await changeOnePercent(src, files, bytes);
    const changedBase = { ...base, files: changed, bytes: changed * bytes };
    if (rsync) {
      const run = await timeCommand('rsync', ['-a', `${src}/`, `${rsyncDest}/`]);
      record({ ...changedBase, scenario: 'changed-1pct', tool: 'rsync', wallMs: run.wallMs });
    }
    const run = await forgeSync(dest, agent.url, changed);
    record({
      ...changedBase,
      scenario: 'changed-1pct',
      tool: 'forge-sync',
      wallMs: run.wallMs,
      peakRssMiB: round(run.peakRssMiB),
      agentPeakRssMiB: round(await peakRssMiB(agent.child.pid!)),
    });
    await rm(rsyncDest, { recursive: true, force: true });
    await rm(dest, { recursive: true, force: true });
  } finally {
    await stopAgent(agent);
    await stopAgent(empty);
    await rm(join(work, `${name}-src`), { recursive: true, force: true });
  }
}

function find(corpus: string, scenario: BenchRecord['scenario'], tool: BenchRecord['tool']) {
  return records.find((r) => r.corpus === corpus && r.scenario === scenario && r.tool === tool);
}

function ratio(a: BenchRecord | undefined, b: BenchRecord | undefined): string {
  return a && b ? `${(a.wallMs / b.wallMs).toFixed(2)}×` : '—';
}

function printTables(searchRows: string[][]): void {
  const fmtS = (r: BenchRecord | undefined): string => (r ? `${(r.wallMs / 1000).toFixed(2)} s` : '—');
  console.log(`forge-media-sync bench (node ${process.version}, ${cpus().length} cores)\n`);
  console.log(
    '| corpus | scenario | forge-sync | tar\\|tar+sync | rsync | forge-sync ÷ tar | forge-sync ÷ rsync | sync peak RSS | agent peak RSS |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  const corpora = [...new Set(records.map((r) => r.corpus))];
  for (const corpus of corpora) {
    const startUp = find(corpus, 'start-up', 'forge-sync');
    for (const scenario of ['cold', 'no-change', 'changed-1pct'] as const) {
      const ours = find(corpus, scenario, 'forge-sync');
      const tarRun = find(corpus, scenario, 'tar|tar+sync');
      const rsync = find(corpus, scenario, 'rsync');
      console.log(
        `| ${corpus} | ${scenario} | ${fmtS(ours)} | ${fmtS(tarRun)} | ${fmtS(rsync)} | ${ratio(ours, tarRun)} | ${ratio(ours, rsync)} | ${ours?.peakRssMiB?.toFixed(0) ?? '—'} MiB | ${ours?.agentPeakRssMiB?.toFixed(0) ?? '—'} MiB |`,
      );
    }
    if (startUp) {
      const still = find(corpus, 'no-change', 'forge-sync');
      const rsync = find(corpus, 'no-change', 'rsync');
      const net = still ? still.wallMs - startUp.wallMs : NaN;
      console.log(
        `| ${corpus} | no-change less start-up (${fmtS(startUp)}) | ${(net / 1000).toFixed(2)} s | | ${fmtS(rsync)} | | ${rsync ? `${(net / rsync.wallMs).toFixed(2)}×` : '—'} | | |`,
      );
    }
  }
  if (searchRows.length) {
    console.log('\n| search case | time | | | memory |\n|---|---|---|---|---|');
    for (const row of searchRows) console.log(`| ${row.join(' | ')} |`);
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'fms-bench-'));
  let searchRows: string[][] = [];
  try {
    if (ONLY.has('a')) await benchCorpus(work, 'a', Number(values['a-files']), Number(values['a-kib']));
    if (ONLY.has('b')) await benchCorpus(work, 'b', Number(values['b-files']), Number(values['b-kib']));
    if (ONLY.has('search')) {
      console.error(`filling a catalog with ${values['search-records']} records …`);
      searchRows = await benchSearch(Number(values['search-records']));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await mkdir(resolve(values.out, '..'), { recursive: true });
  await writeFile(
    values.out,
    `${JSON.stringify({ node: process.version, cores: cpus().length, at: new Date().toISOString(), records }, null, 2)}\n`,
  );
  printTables(searchRows);
  console.error(`\nrecords written to ${values.out}`);
}

await main();
