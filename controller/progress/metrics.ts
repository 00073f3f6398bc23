// Prometheus metrics (prom-client), derived from the same progress messages the dashboard sees, plus the process's own.
import { readdirSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type ErrorCode, ErrorCodes } from '../../common/errors.js';
import type { ProgressMessage } from '../../common/progress.js';
import type { ProgressListener } from './progress-hub.js';

/**
 * Listens to the progress hub and keeps per-agent counters. Everything is counted from the
 * `*.completed` results, so the numbers always equal the summaries a sync or purge returns. Every
 * series of an agent exists from the moment it is known (counters at 0, timestamps at 0 for
 * "never"), so an alert on an agent that never succeeded, or on a rate, works from the start.
 */
export class Metrics implements ProgressListener {
  readonly registry = new Registry();
  private readonly known = new Set<string>();
  private readonly bytesTransferred = this.counter(
    'forge_sync_bytes_transferred_total',
    'Bytes stored on the host',
  );
  private readonly filesTransferred = this.counter(
    'forge_sync_files_transferred_total',
    'Files stored on the host',
  );
  private readonly filesPurged = this.counter(
    'forge_sync_files_purged_total',
    'Files deleted from the container after they were stored',
  );
  private readonly bytesPurged = this.counter(
    'forge_sync_bytes_purged_total',
    'Bytes freed in the container',
  );
  private readonly syncs = new Counter({
    name: 'forge_sync_syncs_total',
    help: 'Sync passes of the agent, by outcome (ok or failed)',
    labelNames: ['agent', 'outcome'],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'forge_sync_errors_total',
    help: 'Failures by error code: whole-agent errors and rejected files',
    labelNames: ['agent', 'code'],
    registers: [this.registry],
  });
  private readonly up = this.gauge(
    'forge_sync_agent_up',
    '1 when the last sync of the agent reached it and did not fail as a whole; 0 before the first, after a failure, or when it is gone',
  );
  private readonly filesPending = this.gauge(
    'forge_sync_files_pending',
    'Files seen in the container but not settled yet',
  );
  private readonly manifestFiles = this.gauge(
    'forge_sync_manifest_files',
    'Files in the agent manifest at its last scan',
  );
  private readonly lastSuccess = this.gauge(
    'forge_sync_last_success_timestamp_seconds',
    'When the last sync without errors finished; 0: never since this controller started',
  );
  private readonly lastFailure = this.gauge(
    'forge_sync_last_failure_timestamp_seconds',
    'When the last sync with errors finished; 0: never since this controller started',
  );
  private readonly duration = new Histogram({
    name: 'forge_sync_sync_duration_seconds',
    help: 'Duration of one sync pass of one agent',
    labelNames: ['agent'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  constructor() {
    registerProcessMetrics(this.registry);
  }

  private counter(name: string, help: string): Counter<'agent'> {
    return new Counter({ name, help, labelNames: ['agent'], registers: [this.registry] });
  }

  private gauge(name: string, help: string): Gauge<'agent'> {
    return new Gauge({ name, help, labelNames: ['agent'], registers: [this.registry] });
  }

  /** Creates every series of a newly known agent at its "nothing yet" value. */
  private know(name: string): void {
    if (this.known.has(name)) return;
    this.known.add(name);
    const agent = { agent: name };
    for (const counter of [
      this.filesTransferred,
      this.bytesTransferred,
      this.filesPurged,
      this.bytesPurged,
    ]) {
      counter.inc(agent, 0);
    }
    for (const outcome of ['ok', 'failed']) this.syncs.inc({ agent: name, outcome }, 0);
    for (const code of Object.values(ErrorCodes) as ErrorCode[]) this.errors.inc({ agent: name, code }, 0);
    for (const gauge of [
      this.up,
      this.filesPending,
      this.manifestFiles,
      this.lastSuccess,
      this.lastFailure,
    ]) {
      gauge.set(agent, 0);
    }
    this.duration.zero(agent);
  }

  send(message: ProgressMessage): void {
    switch (message.type) {
      case 'snapshot':
        for (const state of message.agents) this.know(state.agent);
        return;
      case 'agent.discovered':
        this.know(message.agent);
        return;
      case 'agent.lost':
        this.know(message.agent);
        this.up.set({ agent: message.agent }, 0);
        return;
      case 'scan.done':
        this.know(message.agent);
        this.manifestFiles.set({ agent: message.agent }, message.files);
        return;
      case 'sync.completed': {
        const { result } = message;
        this.know(result.name);
        if (result.skipped) return;
        const agent = { agent: result.name };
        const finished = Date.parse(result.finishedAt) / 1000;
        this.filesTransferred.inc(agent, result.filesTransferred);
        this.bytesTransferred.inc(agent, result.bytesTransferred);
        this.filesPending.set(agent, result.filesPending);
        this.duration.observe(agent, (Date.parse(result.finishedAt) - Date.parse(result.startedAt)) / 1000);
        if (result.error) this.errors.inc({ agent: result.name, code: result.error.code });
        for (const problem of result.problems) this.errors.inc({ agent: result.name, code: problem.code });
        this.up.set(agent, result.error ? 0 : 1);
        this.syncs.inc({ agent: result.name, outcome: result.ok ? 'ok' : 'failed' });
        if (result.ok) this.lastSuccess.set(agent, finished);
        else this.lastFailure.set(agent, finished);
        return;
      }
      case 'purge.completed': {
        const { result } = message;
        this.know(result.name);
        if (result.dryRun) return;
        this.filesPurged.inc({ agent: result.name }, result.filesPurged);
        this.bytesPurged.inc({ agent: result.name }, result.bytesFreed);
        if (result.error) this.errors.inc({ agent: result.name, code: result.error.code });
        for (const problem of result.problems) this.errors.inc({ agent: result.name, code: problem.code });
        return;
      }
      default:
        return;
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * The process series every exporter has, under their usual names, read at scrape time: resident
 * memory, CPU seconds, open file descriptors, start time and the V8 heap.
 */
function registerProcessMetrics(registry: Registry): void {
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  const registers = [registry];
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent in seconds',
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  new Gauge({
    name: 'process_open_fds',
    help: 'Open file descriptors (Linux)',
    registers,
    collect() {
      try {
        // One of them is the directory being read.
        this.set(readdirSync('/proc/self/fd').length - 1);
      } catch {
        this.reset();
      }
    },
  });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since the Unix epoch in seconds',
    registers,
    collect() {
      this.set(startSeconds);
    },
  });
  new Gauge({
    name: 'nodejs_heap_size_used_bytes',
    help: 'V8 heap in use, in bytes',
    registers,
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: 'nodejs_heap_size_total_bytes',
    help: 'V8 heap reserved, in bytes',
    registers,
    collect() {
      this.set(process.memoryUsage().heapTotal);
    },
  });
}
