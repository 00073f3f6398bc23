// `npm run bench`: this tool against `tar | tar` + sync, rsync and `docker cp`, side by side in one run, on the same corpora and disk.
//
// Corpus (a): media-sized PNG-shaped files; corpus (b): many small ones. For each: cold sync, a pass
// with nothing to do, and a pass after 1% of the files changed, timed as whole processes, then the
// same through the daemon and the latency of a new file. Besides: purge, `docker cp`, one large file
// and (on request) a sweep over corpus sizes. Ratios against the baselines of the same run are what
// count: these machines are noisy. Writes bench/results/latest.json, one record per (corpus, scenario, tool).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatDuration, parseDuration } from '../common/duration.js';
import { benchCorpus } from './corpus-bench.js';
import { DEFAULT_AGENT_IMAGE, benchDocker, dockerSkipReason } from './docker-bench.js';
import { benchLargeFile } from './large-file-bench.js';
import { benchLoad } from './load-bench.js';
import { REPO, cliFlavour, hasCommand } from './processes.js';
import { benchPurge } from './purge-bench.js';
import { failures, records, runGroup, skipped } from './records.js';
import { printReport } from './report.js';
import { benchSearch } from './search-bench.js';
import { benchServe } from './serve-bench.js';
import { benchSweepPoint } from './sweep-bench.js';

const GROUPS = [
  'a',
  'b',
  'daemon',
  'latency',
  'purge',
  'docker',
  'large',
  'serve',
  'search',
  'sweep',
  'load',
] as const;
const DEFAULT_GROUPS = 'a,b,daemon,latency,purge,docker,large,serve,search';

const HELP = `npm run bench -- [flags]

Groups (--only, comma-separated; default ${DEFAULT_GROUPS}):
  a, b      corpus (a) media-sized and (b) small files: cold, no-change and 1%-changed one-shot syncs
            against tar | tar + sync and rsync -a
  daemon    on each corpus selected: no-change passes (median) and a 1%-changed pass through the
            controller daemon, POST /v1/sync until /v1/status reports the run
  latency   on each corpus selected: new files written one at a time, until GET /v1/files lists them
  purge     forge-sync purge of a synced copy of corpus (b), with rm -rf of the same tree as the floor
  docker    docker cp out of an agent container against forge-sync from it (needs an engine and the image)
  large     one large video: agent peak RSS while hashing and serving it, cold sync against tar and rsync
  serve     the agent alone serving corpus (b)'s size of small files to a client that drops them, against
            tar -c of the same folder: time and the agent's CPU a round (no file is created)
  search    catalog search latency
  sweep     cold and no-change passes (one-shot and daemon) and peak RSS for each --sweep size (or pass --sweep)
  load      (only on request) --load-agents agents with --load-files files each into one controller daemon,
            --load-clients WebSocket clients watching /v1/progress: wall time, files/s, controller and agent
            peak RSS; fails if a file or a client's end is missing, or the controller passes its memory bound

rsync rows need Debian's rsync (apt-get install rsync) and are left out without it; the docker group
needs a Docker engine and the agent image (npm run images), and is skipped, saying why, without them.

Flags (defaults in brackets):
  --a-files N [600] --a-kib N [1536] --b-files N [20000] --b-kib N [20]
  --settle D [1s]               the agents' --settle
  --rounds N [3]                cold runs of each tool, interleaved, per corpus; the median counts
  --daemon-passes N [5]         daemon passes timed: no-change, and 1%-changed (other files each)
  --daemon-interval D [10m]     the daemon's --interval (long: only a push brings new files in early)
  --latency-files N [20]        new files written
  --latency-timeout D [settle + 15s]  per file, before it counts as a miss
  --latency-give-up N [3]       stop after this many misses in a row
  --purge-files N [b-files] --purge-kib N [b-kib]
  --docker-image IMAGE [${DEFAULT_AGENT_IMAGE}] --docker-files N [a-files] --docker-kib N [a-kib]
  --large-mib N [4096]
  --sweep N,N,… [10000,50000,200000] --sweep-kib N [b-kib]
  --search-records N [200000]
  --load-agents N [8] --load-files N [20000] --load-kib N [2] --load-clients N [50] --load-timeout D [30m]
  --catalog URL                 also a cold sync of each corpus with this PostgreSQL catalog (an
                                agent name of its own per run, so rows never collide), for its
                                time and the controller's peak RSS without PGlite
  --out FILE [bench/results/latest.json]
`;

const { values } = parseArgs({
  options: {
    'a-files': { type: 'string', default: '600' },
    'a-kib': { type: 'string', default: '1536' },
    'b-files': { type: 'string', default: '20000' },
    'b-kib': { type: 'string', default: '20' },
    settle: { type: 'string', default: '1s' },
    rounds: { type: 'string', default: '3' },
    'daemon-passes': { type: 'string', default: '5' },
    'daemon-interval': { type: 'string', default: '10m' },
    'latency-files': { type: 'string', default: '20' },
    'latency-timeout': { type: 'string' },
    'latency-give-up': { type: 'string', default: '3' },
    'purge-files': { type: 'string' },
    'purge-kib': { type: 'string' },
    'docker-image': { type: 'string', default: DEFAULT_AGENT_IMAGE },
    'docker-files': { type: 'string' },
    'docker-kib': { type: 'string' },
    'large-mib': { type: 'string', default: '4096' },
    sweep: { type: 'string' },
    'sweep-kib': { type: 'string' },
    'search-records': { type: 'string', default: '200000' },
    'load-agents': { type: 'string', default: '8' },
    'load-files': { type: 'string', default: '20000' },
    'load-kib': { type: 'string', default: '2' },
    'load-clients': { type: 'string', default: '50' },
    'load-timeout': { type: 'string', default: '30m' },
    only: { type: 'string', default: DEFAULT_GROUPS },
    catalog: { type: 'string' },
    out: { type: 'string', default: join(REPO, 'bench/results/latest.json') },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function count(name: keyof typeof values, fallback?: string): number {
  const text = (values[name] as string | undefined) ?? fallback;
  const n = Number(text);
  if (!text || !Number.isInteger(n) || n < 1) {
    throw new Error(`--${name}: expected a whole number of at least 1, got "${text}"`);
  }
  return n;
}

const ONLY = new Set(values.only.split(',').map((group) => group.trim()));
for (const group of ONLY) {
  if (!(GROUPS as readonly string[]).includes(group)) {
    throw new Error(`--only: unknown group "${group}"; expected some of ${GROUPS.join(', ')}`);
  }
}
if (values.sweep !== undefined) ONLY.add('sweep');

const settleMs = parseDuration(values.settle, '--settle');
const rounds = count('rounds');
const catalogUrl = values.catalog;
if (catalogUrl !== undefined && !/^postgres(ql)?:\/\//.test(catalogUrl)) {
  throw new Error(`--catalog: expected a postgres:// URL, got "${catalogUrl}"`);
}
const settle = formatDuration(settleMs);
const latencyTimeoutMs =
  values['latency-timeout'] !== undefined
    ? parseDuration(values['latency-timeout'], '--latency-timeout')
    : settleMs + 15_000;
const sweepSizes = (values.sweep ?? '10000,50000,200000').split(',').map((n) => {
  const size = Number(n);
  if (!Number.isInteger(size) || size < 1) throw new Error(`--sweep: expected whole numbers, got "${n}"`);
  return size;
});
const sweepKib = count('sweep-kib', values['b-kib']);

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'fms-bench-'));
  const cli = cliFlavour();
  if (cli !== 'bundle') {
    console.error(
      'the bundle in dist/ is older than the source: forge-sync runs through tsx, slower to start and bigger (npm run build)',
    );
  }
  const rsync = hasCommand('rsync');
  if (!rsync)
    skipped.push({ group: 'rsync rows', message: 'rsync is not installed (apt-get install rsync)' });
  let searchRows: string[][] = [];
  const daemon = ONLY.has('daemon')
    ? { passes: count('daemon-passes'), interval: values['daemon-interval'], passTimeoutMs: 600_000 }
    : null;
  const latency = ONLY.has('latency')
    ? {
        files: count('latency-files'),
        settleMs,
        timeoutMs: latencyTimeoutMs,
        giveUpAfter: count('latency-give-up'),
      }
    : null;
  try {
    for (const name of ['a', 'b'] as const) {
      if (!ONLY.has(name)) continue;
      const files = count(`${name}-files`);
      const kib = count(`${name}-kib`);
      await runGroup(name, () =>
        benchCorpus({ work, name, files, kib, rsync, settle, rounds, daemon, latency, catalogUrl }),
      );
    }
    if (ONLY.has('purge')) {
      const files = count('purge-files', values['b-files']);
      await runGroup('purge', () => benchPurge(work, files, count('purge-kib', values['b-kib']), settle));
    }
    if (ONLY.has('docker')) {
      const image = values['docker-image'];
      const reason = await dockerSkipReason(image);
      if (reason) {
        skipped.push({ group: 'docker', message: reason });
        console.error(`(docker) skipped: ${reason}`);
      } else {
        const files = count('docker-files', values['a-files']);
        const kib = count('docker-kib', values['a-kib']);
        await runGroup('docker', () => benchDocker(work, files, kib, image, settle));
      }
    }
    if (ONLY.has('large')) {
      await runGroup('large', () => benchLargeFile(work, count('large-mib'), rsync, settle));
    }
    if (ONLY.has('serve')) {
      const files = count('b-files');
      await runGroup('serve', () => benchServe(work, files, count('b-kib'), settle, rounds));
    }
    if (ONLY.has('sweep')) {
      for (const size of sweepSizes) {
        await runGroup(`sweep ${size}`, () =>
          benchSweepPoint(size, {
            work,
            kib: sweepKib,
            rsync,
            settle,
            passes: count('daemon-passes'),
            passTimeoutMs: 3_600_000,
          }),
        );
      }
    }
    if (ONLY.has('load')) {
      await runGroup('load', () =>
        benchLoad(work, {
          agents: count('load-agents'),
          files: count('load-files'),
          kib: count('load-kib'),
          clients: count('load-clients'),
          timeoutMs: parseDuration(values['load-timeout'], '--load-timeout'),
        }),
      );
    }
    if (ONLY.has('search')) {
      console.error(`filling a catalog with ${values['search-records']} records …`);
      await runGroup('search', async () => {
        searchRows = await benchSearch(count('search-records'));
      });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await mkdir(resolve(values.out, '..'), { recursive: true });
  await writeFile(
    values.out,
    `${JSON.stringify(
      {
        node: process.version,
        cores: cpus().length,
        at: new Date().toISOString(),
        cli,
        records,
        skipped,
        failures,
      },
      null,
      2,
    )}\n`,
  );
  printReport(searchRows, { sizes: ONLY.has('sweep') ? sweepSizes : [], kib: sweepKib }, cli);
  console.error(`\nrecords written to ${values.out}`);
  if (failures.length > 0) process.exitCode = 1;
}

await main();
