// Prometheus metrics (prom-client), derived from the same progress messages the dashboard sees.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProgressMessage } from '../common/progress.js';
import type { ProgressListener } from './progress-hub.js';

/**
 * Listens to the progress hub and keeps per-agent counters. Everything is counted from the
 * `*.completed` results, so the numbers always equal the summaries a sync or purge returns.
 */
export class Metrics implements ProgressListener {
  readonly registry = new Registry();
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
  private readonly errors = new Counter({
    name: 'forge_sync_errors_total',
    help: 'Failures by error code: whole-agent errors and rejected files',
    labelNames: ['agent', 'code'],
    registers: [this.registry],
  });
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
    'When the last sync without errors finished',
  );
  private readonly duration = new Histogram({
    name: 'forge_sync_sync_duration_seconds',
    help: 'Duration of one sync pass of one agent',
    labelNames: ['agent'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  private counter(name: string, help: string): Counter<'agent'> {
    return new Counter({ name, help, labelNames: ['agent'], registers: [this.registry] });
  }

  private gauge(name: string, help: string): Gauge<'agent'> {
    return new Gauge({ name, help, labelNames: ['agent'], registers: [this.registry] });
  }

  send(message: ProgressMessage): void {
    switch (message.type) {
      case 'scan.done':
        this.manifestFiles.set({ agent: message.agent }, message.files);
        return;
      case 'sync.completed': {
        const { result } = message;
        const agent = { agent: result.name };
        this.filesTransferred.inc(agent, result.filesTransferred);
        this.bytesTransferred.inc(agent, result.bytesTransferred);
        this.filesPending.set(agent, result.filesPending);
        this.duration.observe(agent, (Date.parse(result.finishedAt) - Date.parse(result.startedAt)) / 1000);
        if (result.error) this.errors.inc({ agent: result.name, code: result.error.code });
        for (const problem of result.problems) this.errors.inc({ agent: result.name, code: problem.code });
        if (result.ok && !result.skipped) this.lastSuccess.set(agent, Date.parse(result.finishedAt) / 1000);
        return;
      }
      case 'purge.completed': {
        const { result } = message;
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
