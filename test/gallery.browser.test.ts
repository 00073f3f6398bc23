// The gallery in real headless Chromium over a real sync of real sample images: thumbnails, search, detail, video, no token in URLs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../common/run-results.js';
import { fakePng } from './helpers/files.js';
import {
  PURGE_TOKEN,
  REPO,
  type Started,
  TOKEN,
  startAgent,
  startProcess,
  tempDir,
} from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SAMPLES = fileURLToPath(new URL('fixtures/sd-parsers/', import.meta.url));
const OLD = new Date(Date.now() - 3_600_000);
const auth = { authorization: `Bearer ${TOKEN}` };
const COMFY_SEED = '280823642470253';

function hasFfmpeg(): boolean {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const ready = existsSync(CHROMIUM) && hasFfmpeg();
const why = `needs Chromium at ${CHROMIUM} and ffmpeg (apt-get install chromium ffmpeg)`;
const suite = ready ? describe : process.env.CI === 'true' ? describe : describe.skip;

const until = <T>(what: string, read: () => Promise<T | undefined>, ms = 30_000): Promise<T> =>
  waitUntil(what, read, { timeoutMs: ms, everyMs: 25 });

suite(`gallery in headless Chromium${ready ? '' : ` [skipped: ${why}]`}`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let controller: Started;
  let agent: Started;
  let browser: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  const pageErrors: string[] = [];

  async function place(rel: string, sample: string): Promise<void> {
    const path = join(out, rel);
    await mkdir(dirname(path), { recursive: true });
    await copyFile(join(SAMPLES, sample), path);
    await utimes(path, OLD, OLD);
  }

  const tilePaths = async (): Promise<string[]> =>
    (
      await page
        .locator('[data-testid=tile]')
        .evaluateAll((tiles) => tiles.map((t) => t.getAttribute('data-path') ?? ''))
    ).sort();

  async function searchFor(fields: {
    q?: string;
    seed?: string;
    sampler?: string;
    lora?: string;
  }): Promise<string[]> {
    for (const name of ['q', 'seed', 'sampler', 'lora'] as const) {
      await page.fill(`[data-testid=search] input[name=${name}]`, fields[name] ?? '');
    }
    await page.click('[data-testid=search] button[type=submit]');
    await page.waitForSelector('body[data-searching=false]');
    return tilePaths();
  }

  beforeAll(async () => {
    if (!ready) throw new Error(`${why}; CI=true makes a missing one a failure`);
    work = await tempDir('fms-gallery-');
    out = join(work.path, 'output');
    const dest = join(work.path, 'synced');
    await place('txt2img-images/2026-11-24/00000-235284042.png', 'AUTOMATIC1111/automatic1111_cropped.png');
    await place('txt2img-images/2026-11-24/00001-235284042.jpg', 'AUTOMATIC1111/automatic1111_cropped.jpg');
    await place('ComfyUI_00001_.png', 'ComfyUI/img2img_cropped.png');
    await place('ComfyUI_00002_.png', 'ComfyUI/night_evening_day_morning_cropped.png');
    // No metadata at all: the detail view must say so, in the raw box.
    await writeFile(join(out, 'plain.png'), fakePng(64));
    await utimes(join(out, 'plain.png'), OLD, OLD);
    await mkdir(join(out, 'video'), { recursive: true });
    // A real, short, playable clip: one second of ffmpeg's test pattern as VP8 WebM.
    const clip = join(out, 'video/ComfyUI_00003_.webm');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=160x120:rate=10',
      '-t',
      '1',
      '-c:v',
      'libvpx',
      '-b:v',
      '200k',
      clip,
    ]);
    await utimes(clip, OLD, OLD);
    agent = await startAgent([out]);
    controller = await startProcess('controller', [
      '--dest',
      dest,
      '--agent',
      `gpu1=${agent.url}`,
      '--interval',
      '1h',
    ]);
    await waitUntil(
      'the first sync',
      async () => {
        const status = (await (
          await fetch(`${controller.url}/v1/status`, { headers: auth })
        ).json()) as ControllerStatus;
        return status.lastRun && !status.syncing ? true : undefined;
      },
      { timeoutMs: 60_000, everyMs: 50 },
    );
    browser = await chromium.launchPersistentContext(join(work.path, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--autoplay-policy=no-user-gesture-required',
      ],
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (err) => pageErrors.push(`uncaught: ${err.message}`));
    await mkdir(join(REPO, 'test-results'), { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await controller?.stop();
    await agent?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  it('shows every synced file as a thumbnail that decodes, newest first', async () => {
    await page.goto(`${controller.url}/gallery#token=${TOKEN}`);
    await page.waitForSelector('[data-testid=connection][data-state=live]');
    expect(page.url()).toBe(`${controller.url}/gallery`);
    await until('six tiles', async () =>
      (await page.locator('[data-testid=tile]').count()) === 6 ? true : undefined,
    );
    await until('every thumbnail decoded', async () => {
      const widths = await page
        .locator('[data-testid=tile] img')
        .evaluateAll((imgs) =>
          imgs.map((img) =>
            (img as unknown as { complete: boolean }).complete
              ? (img as unknown as { naturalWidth: number }).naturalWidth
              : 0,
          ),
        );
      return widths.every((w) => w > 0) ? widths : undefined;
    });
    const ids = await page
      .locator('[data-testid=tile]')
      .evaluateAll((tiles) => tiles.map((t) => Number(t.getAttribute('data-id'))));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    await page.screenshot({ path: join(REPO, 'test-results/gallery.png') });
  });

  it('finds files by a prompt word and by seed, exactly', async () => {
    expect(await searchFor({ q: 'duck' })).toEqual([
      'output/txt2img-images/2026-11-24/00000-235284042.png',
      'output/txt2img-images/2026-11-24/00001-235284042.jpg',
    ]);
    expect(await searchFor({ seed: COMFY_SEED })).toEqual(['output/ComfyUI_00001_.png']);
    expect(await searchFor({ q: 'duck -photo' })).toEqual([]);
  });

  it('filters by sampler and by LoRA', async () => {
    expect(await searchFor({ sampler: 'unipc' })).toEqual([
      'output/txt2img-images/2026-11-24/00000-235284042.png',
      'output/txt2img-images/2026-11-24/00001-235284042.jpg',
    ]);
    expect(await searchFor({ q: 'duck', sampler: 'euler' })).toEqual([]);
    // None of the samples names a LoRA.
    expect(await searchFor({ lora: 'detail' })).toEqual([]);
  });

  it('filters by the days the files were made, as the viewer counts days', async () => {
    const all = await searchFor({});
    const dayOf = (date: Date): string =>
      `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
    const madeBetween = async (from: string, to: string): Promise<string[]> => {
      await page.fill('[data-testid=made-from]', from);
      await page.fill('[data-testid=made-to]', to);
      return searchFor({});
    };
    // Every sample was made (modified) at OLD.
    expect(await madeBetween(dayOf(OLD), dayOf(OLD))).toEqual(all);
    expect(await madeBetween(dayOf(new Date(OLD.getTime() + 86_400_000)), '')).toEqual([]);
    expect(await madeBetween('', dayOf(new Date(OLD.getTime() - 86_400_000)))).toEqual([]);
    expect(await madeBetween('', '')).toEqual(all);
  });

  it('opens the detail view with the prompt, seed and the full-size image', async () => {
    await searchFor({ seed: '235284042', q: 'duck' });
    await page.click('[data-testid=tile][data-path$="00000-235284042.png"]');
    await page.waitForSelector('[data-testid=detail][open]');
    expect(await page.textContent('[data-field=prompt]')).toBe('photo of a duck');
    expect(await page.textContent('[data-field=seed]')).toBe('235284042');
    expect(await page.textContent('[data-field=negative]')).toBe('monochrome');
    expect(await page.textContent('[data-field=sampler]')).toBe('UniPC');
    // What the file itself is, from its own header (the cropped sample is 1×1), beside the generation size.
    expect(await page.textContent('[data-field=media]')).toBe('image · 1×1 px');
    expect(await page.textContent('[data-field=made]')).toBe(
      await page.evaluate((ms) => new Date(ms).toLocaleString(), OLD.getTime()),
    );
    await until('the full-size image', () =>
      page.locator('[data-testid=detail-image]').evaluate((img) => {
        const image = img as unknown as { complete: boolean; naturalWidth: number };
        return image.complete && image.naturalWidth > 0 ? true : undefined;
      }),
    );
    await page.screenshot({ path: join(REPO, 'test-results/gallery-detail.png') });
    await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: controller.url });
    await page.click('[data-testid=copy-prompt]');
    await page.waitForSelector('[data-testid=copy-prompt][data-copied=true]');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe('photo of a duck');
    await page.click('[data-testid=copy-infotext]');
    await page.waitForSelector('[data-testid=copy-infotext][data-copied=true]');
    expect(await page.evaluate('navigator.clipboard.readText()')).toContain('Seed: 235284042');
    await page.click('[data-testid=detail-close]');
  });

  it('shows the raw-metadata box open, saying so, for a file with no metadata', async () => {
    await searchFor({});
    await page.click('[data-testid=tile][data-path="output/plain.png"]');
    await page.waitForSelector('[data-testid=detail][open]');
    expect(await page.getAttribute('#detail-raw-box', 'open')).not.toBeNull();
    expect(await page.textContent('[data-testid=detail-raw]')).toBe('No metadata was found in this file.');
    expect(await page.isDisabled('[data-testid=copy-prompt]')).toBe(true);
    await page.click('[data-testid=detail-close]');
  });

  it('plays a video', async () => {
    await searchFor({});
    await page.click('[data-testid=tile][data-path$=".webm"]');
    const video = page.locator('[data-testid=detail-video]');
    await video.waitFor();
    await video.evaluate((node) => {
      const v = node as unknown as { muted: boolean; play(): Promise<void> };
      v.muted = true;
      return v.play();
    });
    await until('the video to play', () =>
      video.evaluate((node) =>
        (node as unknown as { currentTime: number }).currentTime > 0 ? true : undefined,
      ),
    );
    await page.click('[data-testid=detail-close]');
  });

  it('stars a file, keeps the star in the catalog, and finds it by the star filter', async () => {
    await searchFor({ seed: COMFY_SEED });
    await page.click('[data-testid=tile]');
    await page.waitForSelector('[data-testid=detail][open]');
    await page.click('[data-testid=star]');
    await page.waitForSelector('[data-testid=star][aria-pressed=true]');
    await page.click('[data-testid=detail-close]');
    await searchFor({});
    await page.check('[data-testid=starred-filter]');
    await page.waitForSelector('body[data-searching=false]');
    await until('only the starred tile', async () => {
      const paths = await tilePaths();
      return paths.length === 1 ? paths : undefined;
    });
    expect(await tilePaths()).toEqual(['output/ComfyUI_00001_.png']);
    // A reload asks the catalog again: the star was kept there, not in the page.
    await page.reload();
    await page.waitForSelector('[data-testid=connection][data-state=live]');
    await page.check('[data-testid=starred-filter]');
    await until('the starred tile after a reload', async () => {
      const paths = await tilePaths();
      return paths.length === 1 ? paths : undefined;
    });
    await page.uncheck('[data-testid=starred-filter]');
  });

  it('never puts the token in a request URL', () => {
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((url) => url.includes(TOKEN) || /[?&]token=/.test(url))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('status page: a same-tab /#token=… after "token needed" signs in without a reload', async () => {
    await page.goto(`${controller.url}/`);
    await page.evaluate('sessionStorage.clear()');
    await page.reload();
    await page.waitForSelector('[data-testid=token-form]:not([hidden])');
    await page.evaluate(`location.hash = 'token=${TOKEN}'`);
    await page.waitForSelector('[data-testid=connection][data-state=live]', { timeout: 10_000 });
    expect(await page.isHidden('[data-testid=token-form]')).toBe(true);
  });

  it('status page: "Sync now" starts a pass; an idle card shows no stale rate', async () => {
    // Starting a pass is control: this page is opened (a fresh load) with the purge token.
    await page.goto('about:blank');
    await page.goto(`${controller.url}/#token=${PURGE_TOKEN}`);
    await page.waitForSelector('[data-testid=connection][data-state=live]');
    const before = (await (
      await fetch(`${controller.url}/v1/status`, { headers: auth })
    ).json()) as ControllerStatus;
    await page.click('[data-testid=sync-now]');
    const runId = await until(
      'the button to report its run',
      async () => (await page.getAttribute('[data-testid=sync-now]', 'data-run-id')) || undefined,
    );
    expect(runId).not.toBe(before.lastRun?.runId);
    const card = '[data-testid=agent-card][data-agent=gpu1]';
    await until('the card to show that run, idle', async () =>
      (await page.getAttribute(card, 'data-last-sync-run-id')) === runId &&
      (await page.getAttribute(card, 'data-phase')) === 'idle'
        ? true
        : undefined,
    );
    expect(await page.textContent(`${card} [data-testid=agent-rate]`)).toBe('');
    expect(await page.textContent(`${card} [data-testid=agent-eta]`)).toBe('');
  });

  it('status page: an unreachable agent is failed, in red with its error, never a full bar', async () => {
    const other = await startProcess('controller', [
      '--dest',
      join(work.path, 'other'),
      '--agent',
      'gone=http://127.0.0.1:9',
      '--interval',
      '1h',
    ]);
    try {
      await page.goto(`${other.url}/#token=${TOKEN}`);
      const card = '[data-testid=agent-card][data-agent=gone]';
      await page.waitForSelector(`${card}[data-state=failed]`, { timeout: 30_000 });
      expect(await page.textContent(`${card} .phase`)).toBe('failed');
      expect(await page.getAttribute(`${card} [data-testid=agent-bar]`, 'data-phase')).toBe('failed');
      expect(await page.getAttribute(`${card} [data-testid=agent-bar]`, 'data-percent')).toBe('0');
      expect(await page.textContent(`${card} [data-testid=last-sync]`)).toContain('E_AGENT_UNREACHABLE');
      // Once: the last-error line does not repeat the last sync's error.
      expect(await page.textContent(`${card} [data-testid=last-error]`)).toBe('—');
      await page.screenshot({ path: join(REPO, 'test-results/status-failed-agent.png') });
    } finally {
      await other.stop();
    }
  });
});
