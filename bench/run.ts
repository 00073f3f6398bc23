// `npm run bench`: throughput and memory of a real agent and a real sync over a generated tree, against cp -r.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, open, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { benchSearch } from './search-bench.js';

const REPO = resolve(import.meta.dirname, '..');
const BIN = join(REPO, 'bin/forge-sync.js');
const TOKEN = 'bench-token';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '2000' },
    'file-kib': { type: 'string', default: '1400' },
    'small-files': { type: 'string', default: '20000' },
    'search-records': { type: 'string', default: '200000' },
  },
});
const FILES = Number(values.files);
const FILE_BYTES = Number(values['file-kib']) * 1024;
const SMALL_FILES = Number(values['small-files']);
const SEARCH_RECORDS = Number(values['search-records']);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

async function makeTree(root: string, count: number, bytes: number): Promise<number> {
  const old = new Date(Date.now() - 3_600_000);
  const pool = randomBytes(bytes + 4096);
  for (let i = 0; i < count; i++) {
    const dir = join(root, 'txt2img-images', `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`);
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${String(i).padStart(5, '0')}-${100000 + i}.png`);
    const handle = await open(path, 'w');
    // A structurally complete PNG: signature, distinct filler (a window of the random pool plus the
    // index), then the IEND chunk. The agent would hold back anything less as unfinished.
    await handle.write(PNG_SIGNATURE);
    await handle.write(pool, i % 4096, bytes - PNG_SIGNATURE.length - PNG_IEND.length - 8);
    await handle.write(Buffer.from(String(i).padStart(8, '0')));
    await handle.write(PNG_IEND);
    await handle.close();
    await utimes(path, old, old);
  }
  return count * bytes;
}

async function startAgent(root: string, stateDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'agent',
      '--root',
      root,
      '--port',
      '0',
      '--settle',
      '0s',
      '--state-dir',
      stateDir,
      '--include',
      '*',
    ],
    {
      env: { ...process.env, FORGE_SYNC_TOKEN: TOKEN },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
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

/** Peak resident memory of a live process, from /proc. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/** Runs a one-shot sync and reports its wall time and peak memory (GNU time is not needed: /proc is read just before exit). */
async function runSync(
  dest: string,
  url: string,
  expectTransferred: number,
): Promise<{ ms: number; peakMiB: number; summary: { totals: Record<string, number> } }> {
  const start = performance.now();
  const child = spawn(
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
    { env: { ...process.env, FORGE_SYNC_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  const ms = performance.now() - start;
  if (code !== 0) throw new Error(`sync failed (${code}): ${stderr}`);
  const peak = Number(/peak-rss-mib=([\d.]+)/.exec(stderr)?.[1] ?? NaN);
  const summary = JSON.parse(stdout) as { totals: Record<string, number> };
  // A bench that moved nothing measures nothing: insist on the expected work.
  if (summary.totals.filesTransferred !== expectTransferred) {
    throw new Error(`expected ${expectTransferred} files transferred, got ${JSON.stringify(summary.totals)}`);
  }
  return { ms, peakMiB: peak, summary };
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits);

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'fms-bench-'));
  const rows: string[][] = [];
  const empty: ChildProcess[] = [];
  // The same agent name as the real one, so the destination's catalog is exactly what the real sync uses.
  const emptyAgentUrl = async (): Promise<string> => {
    const dir = await mkdtemp(join(work, 'empty-'));
    const agent = await startAgent(dir, join(dir, '.state'));
    empty.push(agent.child);
    return agent.url;
  };
  try {
    // 1. Media-sized files: cold sync throughput, against cp -r of the same tree.
    const big = join(work, 'big');
    console.error(`generating ${FILES} files of ${FILE_BYTES / 1024} KiB …`);
    const bytes = await makeTree(big, FILES, FILE_BYTES);
    const agent = await startAgent(big, join(work, 'state-big'));
    try {
      // Create the destination's catalog first (PGlite's initdb, a one-time cost), so the cold sync
      // below measures the transfer itself.
      const created = await runSync(join(work, 'dest-big'), await emptyAgentUrl(), 0);
      rows.push([
        `first sync into a new --dest (creates the catalog)`,
        `${fmt(created.ms / 1000, 2)} s`,
        '',
        '',
        `sync peak RSS ${fmt(created.peakMiB, 0)} MiB`,
      ]);
      const cold = await runSync(join(work, 'dest-big'), agent.url, FILES);
      const mib = bytes / 2 ** 20;
      rows.push([
        `cold sync, ${FILES} × ${FILE_BYTES / 1024} KiB (${fmt(mib / 1024, 2)} GiB)`,
        `${fmt(cold.ms / 1000, 2)} s`,
        `${fmt(mib / (cold.ms / 1000))} MiB/s`,
        `${fmt(FILES / (cold.ms / 1000), 0)} files/s`,
        `sync peak RSS ${fmt(cold.peakMiB, 0)} MiB`,
      ]);
      const warm = await runSync(join(work, 'dest-big'), agent.url, 0);
      rows.push([
        `second sync, nothing new`,
        `${fmt(warm.ms / 1000, 2)} s`,
        '',
        `${warm.summary.totals.filesUnchanged} unchanged`,
        `sync peak RSS ${fmt(warm.peakMiB, 0)} MiB`,
      ]);
      rows.push([
        `agent after both`,
        '',
        '',
        '',
        `agent peak RSS ${fmt(await peakRssMiB(agent.child.pid!), 0)} MiB`,
      ]);
      const cp = await timed(async () => execFileSync('cp', ['-r', big, join(work, 'cp-copy')]));
      execFileSync('sync');
      rows.push([
        `baseline: cp -r of the same tree (no hashing, no fsync)`,
        `${fmt(cp.ms / 1000, 2)} s`,
        `${fmt(mib / (cp.ms / 1000))} MiB/s`,
        '',
        '',
      ]);
    } finally {
      agent.child.kill('SIGTERM');
      await once(agent.child, 'exit');
    }
    await rm(join(work, 'cp-copy'), { recursive: true, force: true });
    await rm(join(work, 'dest-big'), { recursive: true, force: true });

    // 2. Many small files: scan cost cold (hashing) and warm (cache only), and a restart with --state-dir.
    const small = join(work, 'small');
    console.error(`generating ${SMALL_FILES} small files …`);
    await makeTree(small, SMALL_FILES, 256);
    const state = join(work, 'state-small');
    let smallAgent = await startAgent(small, state);
    const manifest = async (url: string): Promise<void> => {
      const response = await fetch(`${url}/v1/manifest`, { headers: { authorization: `Bearer ${TOKEN}` } });
      await response.text();
    };
    // The agent warms its cache at start; time a fresh scan of a cold tree through the manifest route.
    const first = await timed(() => manifest(smallAgent.url));
    const second = await timed(() => manifest(smallAgent.url));
    rows.push([`manifest of ${SMALL_FILES} files, first request`, `${fmt(first.ms)} ms`, '', '', '']);
    rows.push([
      `manifest of ${SMALL_FILES} files, unchanged (cache hits)`,
      `${fmt(second.ms)} ms`,
      '',
      `${fmt(SMALL_FILES / (second.ms / 1000), 0)} files/s`,
      `agent peak RSS ${fmt(await peakRssMiB(smallAgent.child.pid!), 0)} MiB`,
    ]);
    smallAgent.child.kill('SIGTERM');
    await once(smallAgent.child, 'exit');
    smallAgent = await startAgent(small, state);
    const restarted = await timed(() => manifest(smallAgent.url));
    const info = (await (
      await fetch(`${smallAgent.url}/v1/info`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { stats: { filesHashed: number } };
    rows.push([
      `manifest after an agent restart with --state-dir`,
      `${fmt(restarted.ms)} ms`,
      '',
      `${info.stats.filesHashed} files re-hashed`,
      '',
    ]);
    await runSync(join(work, 'dest-small'), await emptyAgentUrl(), 0);
    const smallSync = await runSync(join(work, 'dest-small'), smallAgent.url, SMALL_FILES);
    rows.push([
      `cold sync of ${SMALL_FILES} × 256 B files`,
      `${fmt(smallSync.ms / 1000, 2)} s`,
      '',
      `${fmt(SMALL_FILES / (smallSync.ms / 1000), 0)} files/s`,
      `sync peak RSS ${fmt(smallSync.peakMiB, 0)} MiB`,
    ]);
    smallAgent.child.kill('SIGTERM');
    await once(smallAgent.child, 'exit');
    // 3. The catalog: search latency over many records.
    console.error(`filling a catalog with ${SEARCH_RECORDS} records …`);
    rows.push(...(await benchSearch(SEARCH_RECORDS)));
  } finally {
    for (const child of empty) child.kill('SIGTERM');
    await rm(work, { recursive: true, force: true });
  }
  console.log(
    `forge-media-sync bench (node ${process.version}, ${(await import('node:os')).cpus().length} cores)\n`,
  );
  console.log('| case | time | throughput | files | memory |\n|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

await main();
