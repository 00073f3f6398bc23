// The dashboard in real headless Chromium against a real controller: live bars during a real sync, numbers, reconnect.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type BrowserContext, type ConsoleMessage, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../common/run-results.js';
import { fakePng, put, putLarge } from './helpers/files.js';
import {
  REPO,
  type Started,
  PURGE_TOKEN,
  TOKEN,
  freePort,
  startAgent,
  startProcess,
  tempDir,
} from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HOW = 'install it with `apt-get install chromium`, or point CHROMIUM_PATH at one';
const SCREENSHOT = join(REPO, 'test-results/dashboard.png');
const auth = { authorization: `Bearer ${TOKEN}` };
const BIG_FILES = 40;
const BIG_SIZE = 8 * 1024 * 1024;
const CARD = '[data-testid=agent-card][data-agent=gpu1]';
/** A file name that is also markup: the page must show it as text. */
const HOSTILE_NAME = 'video/<img src=x onerror="window.__xss=1">.mkv';

/**
 * `describe` for suites that need Chromium: skipped (saying why) without one, except under
 * CI=true, where .ci/run installs it and a skip would hide a broken set-up.
 */
function describeBrowser(name: string, suite: () => void): void {
  if (existsSync(CHROMIUM)) describe(name, suite);
  else if (process.env.CI === 'true')
    describe(name, () => {
      it('has Chromium to run against', () => {
        throw new Error(`no Chromium at ${CHROMIUM}, and CI=true makes that a failure: ${HOW}`);
      });
    });
  else describe.skip(`${name} [skipped: no Chromium at ${CHROMIUM}; ${HOW}]`, suite);
}

/** Polls `read` until it returns a value, or fails after `ms`; no fixed sleeps. */
const until = <T>(what: string, read: () => Promise<T | undefined>, ms = 30_000): Promise<T> =>
  waitUntil(what, read, { timeoutMs: ms, everyMs: 25 });

interface BarReading {
  phase: string;
  runId: string;
  lastSyncRunId: string;
  percent: number;
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

describeBrowser('dashboard in headless Chromium', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let port: number;
  let agent: Started;
  let controller: Started;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  const startController = (): Promise<Started> =>
    startProcess('controller', [
      '--port',
      String(port),
      '--dest',
      dest,
      '--agent',
      `gpu1=${agent.url}`,
      '--interval',
      '1h',
      // Passes start only when the test asks: a push from the agent would start one on its own.
      '--no-push',
    ]);

  async function status(): Promise<ControllerStatus> {
    const response = await fetch(`${controller.url}/v1/status`, { headers: auth });
    expect(response.status).toBe(200);
    return (await response.json()) as ControllerStatus;
  }

  const idleRun = (runId?: string) =>
    until(`sync run ${runId ?? ''} to finish`, async () => {
      const current = await status();
      const done = current.lastRun && !current.syncing && (!runId || current.lastRun.runId === runId);
      return done ? current.lastRun! : undefined;
    });

  // Page functions name no DOM globals (document, window): the tests compile without the DOM library.
  function readBar(): Promise<BarReading> {
    return page.locator(CARD).evaluate((card) => {
      const bar = card.querySelector('[data-testid=agent-bar]');
      const number = (name: string) => Number(bar?.getAttribute(name));
      return {
        phase: card.getAttribute('data-phase') ?? '',
        runId: card.getAttribute('data-run-id') ?? '',
        lastSyncRunId: card.getAttribute('data-last-sync-run-id') ?? '',
        percent: number('data-percent'),
        bytesDone: number('data-bytes-done'),
        bytesTotal: number('data-bytes-total'),
        filesDone: number('data-files-done'),
        filesTotal: number('data-files-total'),
      };
    });
  }

  const connection = () => page.getAttribute('[data-testid=connection]', 'data-state');

  beforeAll(async () => {
    work = await tempDir('fms-dash-');
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    for (let i = 0; i < 3; i++) await put(out, `ComfyUI_0000${i}_.png`, fakePng(100));
    agent = await startAgent([out]);
    port = await freePort();
    controller = await startController();
    await idleRun();
    browser = await chromium.launchPersistentContext(join(work.path, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (err) => pageErrors.push(`uncaught: ${err.message}`));
    page.on('console', (message: ConsoleMessage) => {
      // While the controller is down, Chromium logs the refused connections; anything else is a fault.
      const expected =
        /WebSocket connection to .* failed|Failed to load resource: (net::ERR_CONNECTION_REFUSED|the server responded with a status of 401)/;
      if (message.type() === 'error' && !expected.test(message.text())) pageErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await controller?.stop();
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('serves the page and its assets without auth, uncached, with their content types', async () => {
    const expected = {
      '/': 'text/html; charset=utf-8',
      '/dashboard.js': 'text/javascript; charset=utf-8',
      '/dashboard.css': 'text/css; charset=utf-8',
    };
    for (const [path, type] of Object.entries(expected)) {
      const response = await fetch(`${controller.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe(type);
      expect(response.headers.get('cache-control'), path).toBe('no-cache');
      const again = await fetch(`${controller.url}${path}`, {
        headers: { 'if-none-match': response.headers.get('etag')! },
      });
      expect(again.status, path).toBe(304);
    }
    expect((await fetch(`${controller.url}/v1/status`)).status).toBe(401);
    expect((await fetch(`${controller.url}/metrics`)).status).toBe(401);
  });

  it('shows a real sync live: the bar moves, then the numbers match /v1/status', async () => {
    await page.goto(`${controller.url}/#token=${TOKEN}`);
    await page.waitForSelector('[data-testid=connection][data-state=live]');
    // The token left the address bar and stayed in the tab.
    expect(page.url()).toBe(`${controller.url}/`);
    expect(await page.evaluate('sessionStorage.getItem("forge-sync-token")')).toBe(TOKEN);
    const startup = (await status()).lastRun!;
    const lastSync = page.locator(`${CARD} [data-testid=last-sync]`);
    expect(await lastSync.getAttribute('data-run-id')).toBe(startup.runId);
    expect(await lastSync.getAttribute('data-files')).toBe('3');
    // The start-up sync's files come from the catalog: the snapshot has no file history.
    await until('the catalog fill of recent files', async () =>
      (await page.locator('[data-testid=recent-file]').count()) === 3 ? true : undefined,
    );

    for (let i = 0; i < BIG_FILES; i++) {
      await putLarge(out, `video/ComfyUI_${String(i).padStart(5, '0')}_.mkv`, BIG_SIZE);
    }
    await put(out, HOSTILE_NAME, 'not really a video');
    const response = await fetch(`${controller.url}/v1/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PURGE_TOKEN}` },
    });
    const { started, runId } = (await response.json()) as { started: boolean; runId: string };
    expect(started).toBe(true);

    // Watch the bar as a person would: read it again and again until the run is over.
    const readings: BarReading[] = [];
    const startedAt = Date.now();
    let shot = false;
    const final = await until(
      'the page to show the end of the sync',
      async () => {
        const bar = await readBar();
        if (bar.runId === runId && bar.phase === 'syncing') {
          readings.push(bar);
          if (!shot && bar.percent >= 30) {
            shot = true;
            await mkdir(join(REPO, 'test-results'), { recursive: true });
            await page.screenshot({ path: join(REPO, 'test-results/dashboard-syncing.png'), fullPage: true });
          }
        }
        return bar.lastSyncRunId === runId && bar.phase === 'idle' ? bar : undefined;
      },
      90_000,
    );
    const seconds = (Date.now() - startedAt) / 1000;

    const percents = readings.map((r) => r.percent);
    const below = [...new Set(percents.filter((p) => p < 100))];
    expect(
      below.length,
      `distinct values below 100% in ${seconds}s: ${percents.join(' ')}`,
    ).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < readings.length; i++) {
      expect(readings[i]!.bytesDone, 'the bar never goes back').toBeGreaterThanOrEqual(
        readings[i - 1]!.bytesDone,
      );
    }
    expect(readings.every((r) => r.bytesTotal === BIG_FILES * BIG_SIZE + 18)).toBe(true);
    expect(final.percent).toBe(100);

    // The page's numbers are the controller's summary.
    const summary = await idleRun(runId);
    const agentResult = summary.agents.find((a) => a.name === 'gpu1')!;
    expect(agentResult).toMatchObject({ ok: true, filesTransferred: BIG_FILES + 1, filesUnchanged: 3 });
    expect(final).toMatchObject({
      filesDone: agentResult.filesTransferred,
      filesTotal: agentResult.filesTransferred,
      bytesDone: agentResult.bytesTransferred,
      bytesTotal: agentResult.bytesTransferred,
    });
    expect(await lastSync.getAttribute('data-files')).toBe(String(agentResult.filesTransferred));
    expect(await lastSync.getAttribute('data-bytes')).toBe(String(agentResult.bytesTransferred));
    expect(await lastSync.getAttribute('data-unchanged')).toBe('3');
    expect(await lastSync.locator('[data-testid=last-sync-files]').textContent()).toBe(
      `${agentResult.filesTransferred} files`,
    );
    expect(await lastSync.locator('[data-testid=last-sync-bytes]').textContent()).toBe('320.0 MiB');
    expect(summary.totals).toMatchObject({
      filesTransferred: agentResult.filesTransferred,
      bytesTransferred: agentResult.bytesTransferred,
    });

    // Recently stored: newest first, capped at 50, this run's files at the top, the markup name as text.
    const rows = page.locator('[data-testid=recent-file]');
    const paths = await rows.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-path')));
    expect(paths.length).toBe(BIG_FILES + 1 + 3);
    expect(paths.slice(0, BIG_FILES + 1).sort()).toEqual(
      [
        ...Array.from(
          { length: BIG_FILES },
          (_, i) => `output/video/ComfyUI_${String(i).padStart(5, '0')}_.mkv`,
        ),
        `output/${HOSTILE_NAME}`,
      ].sort(),
    );
    expect(await page.getByText(`output/${HOSTILE_NAME}`, { exact: true }).count()).toBe(1);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('[data-testid=error]').count()).toBe(0);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('shows that it is reconnecting while the controller is down, and the new snapshot after', async () => {
    await controller.stop();
    await until('the reconnecting state', async () =>
      (await connection()) === 'reconnecting' ? true : undefined,
    );
    await page.screenshot({ path: join(REPO, 'test-results/dashboard-reconnecting.png'), fullPage: true });

    controller = await startController();
    const summary = await idleRun();
    await until('the page to be live again', async () =>
      (await connection()) === 'live' ? true : undefined,
    );
    // The new controller's snapshot replaced the old state: its own start-up sync, with nothing new.
    const lastSync = page.locator(`${CARD} [data-testid=last-sync]`);
    await until('the new start-up sync on the card', async () =>
      (await lastSync.getAttribute('data-run-id')) === summary.runId ? true : undefined,
    );
    expect(await lastSync.getAttribute('data-files')).toBe('0');
    expect(await lastSync.getAttribute('data-unchanged')).toBe(String(BIG_FILES + 1 + 3));
    expect(await page.locator('[data-testid=agent-card]').count()).toBe(1);
    expect(await page.locator('[data-testid=recent-file]').count()).toBe(BIG_FILES + 1 + 3);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('asks for a token when it has none, and says so when the controller refuses one', async () => {
    await page.evaluate('sessionStorage.clear()');
    await page.goto(`${controller.url}/`);
    await page.waitForSelector('[data-testid=token-form]:not([hidden])');
    expect(await connection()).toBe('token');
    await page.fill('[data-testid=token-form] input', 'wrong-token');
    await page.click('[data-testid=token-form] button[type=submit]');
    await page.waitForSelector('[data-testid=token-form] .problem:not([hidden])');
    expect(await page.textContent('[data-testid=token-form] .problem')).toContain('refused');
    await page.fill('[data-testid=token-form] input', TOKEN);
    await page.click('[data-testid=token-form] button[type=submit]');
    await page.waitForSelector('[data-testid=connection][data-state=live]');
    expect(await page.locator('[data-testid=agent-card]').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  });
});
