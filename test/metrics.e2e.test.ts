// /metrics an operator can alert on: every agent's series from the start, an up gauge, success and failure times, process metrics.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakePng, put } from './helpers/files.js';
import { type Started, TOKEN, freePort, startAgent, startProcess, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const auth = { authorization: `Bearer ${TOKEN}` };

/** The samples of a Prometheus text page: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('controller /metrics', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let agent: Started;
  let controller: Started;
  let firstPage: Map<string, number>;

  beforeAll(async () => {
    work = await tempDir('fms-metrics-');
    const out = join(work.path, 'output');
    await put(out, 'a.png', fakePng(100));
    agent = await startAgent([out]);
    const dead = `http://127.0.0.1:${await freePort()}`;
    controller = await startProcess('controller', [
      '--dest',
      join(work.path, 'synced'),
      '--agent',
      `gpu1=${agent.url}`,
      '--agent',
      `gone=${dead}`,
      '--interval',
      '1h',
    ]);
    // Read at once: before the first pass has ended, every series must already be there.
    firstPage = samples(await (await fetch(`${controller.url}/metrics`, { headers: auth })).text());
  });

  afterAll(async () => {
    await controller?.stop();
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  const scrape = async (): Promise<Map<string, number>> =>
    samples(await (await fetch(`${controller.url}/metrics`, { headers: auth })).text());

  it('has every series of every known agent from the start, counters at 0', () => {
    for (const name of ['gpu1', 'gone']) {
      for (const series of [
        'forge_sync_agent_up',
        'forge_sync_last_success_timestamp_seconds',
        'forge_sync_last_failure_timestamp_seconds',
        'forge_sync_files_transferred_total',
        'forge_sync_bytes_transferred_total',
        'forge_sync_files_purged_total',
        'forge_sync_bytes_purged_total',
      ]) {
        expect(firstPage.has(`${series}{agent="${name}"}`), `${series} of ${name}`).toBe(true);
      }
      expect(
        firstPage.get(`forge_sync_errors_total{agent="${name}",code="E_AGENT_UNREACHABLE"}`),
      ).toBeDefined();
      expect(firstPage.get(`forge_sync_syncs_total{agent="${name}",outcome="failed"}`)).toBeDefined();
    }
  });

  it('says which agent is up, and when each last succeeded and failed', async () => {
    const page = await waitUntil('both agents synced once', async () => {
      const now = await scrape();
      const done = (name: string): number =>
        (now.get(`forge_sync_syncs_total{agent="${name}",outcome="ok"}`) ?? 0) +
        (now.get(`forge_sync_syncs_total{agent="${name}",outcome="failed"}`) ?? 0);
      return done('gpu1') >= 1 && done('gone') >= 1 ? now : undefined;
    });
    const nowS = Date.now() / 1000;
    expect(page.get('forge_sync_agent_up{agent="gpu1"}')).toBe(1);
    expect(page.get('forge_sync_agent_up{agent="gone"}')).toBe(0);
    expect(page.get('forge_sync_last_success_timestamp_seconds{agent="gpu1"}')).toBeGreaterThan(nowS - 600);
    // An agent that never succeeded still has the series: 0, so "too long since" fires for it.
    expect(page.get('forge_sync_last_success_timestamp_seconds{agent="gone"}')).toBe(0);
    expect(page.get('forge_sync_last_failure_timestamp_seconds{agent="gone"}')).toBeGreaterThan(nowS - 600);
    expect(page.get('forge_sync_last_failure_timestamp_seconds{agent="gpu1"}')).toBe(0);
    expect(page.get('forge_sync_files_transferred_total{agent="gpu1"}')).toBe(1);
    expect(page.get('forge_sync_files_transferred_total{agent="gone"}')).toBe(0);
    expect(page.get('forge_sync_errors_total{agent="gone",code="E_AGENT_UNREACHABLE"}')).toBe(1);
  });

  it('reports the process: resident memory, CPU seconds, open fds, start time and heap', async () => {
    const page = await scrape();
    expect(page.get('process_resident_memory_bytes')).toBeGreaterThan(10 << 20);
    expect(page.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(page.get('process_open_fds')).toBeGreaterThan(3);
    const start = page.get('process_start_time_seconds')!;
    expect(Math.abs(start - Date.now() / 1000)).toBeLessThan(600);
    expect(page.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(page.get('nodejs_heap_size_total_bytes')).toBeGreaterThanOrEqual(
      page.get('nodejs_heap_size_used_bytes')!,
    );
  });
});
