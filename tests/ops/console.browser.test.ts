import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenHttp, type HostServer } from '../../local/httpServer';
import type { LocalHost } from '../../local/localHost';
import { APP_ROOT, startAppHost, testSettings } from '../support/testHost';
import { version } from '../../package.json';

/**
 * The ops console in a real browser (Debian's chromium, driven by playwright-core) against the app served
 * over HTTP by the local host, as `npm run serve` serves it. `CONSOLE_SCREENSHOTS_DIR=docs` saves the
 * README's screenshots instead of the test output's.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.resolve(APP_ROOT, process.env.CONSOLE_SCREENSHOTS_DIR ?? 'test-output/console');
// Runs go through the durable engine and the page polls every 5 s: generous, never asserted.
const RUN_WAIT_MS = 60_000;
const STEP_TIMEOUT_MS = 2 * RUN_WAIT_MS;

let host: LocalHost;
let server: HostServer;
let browser: Browser;
let page: Page;
const problems: string[] = [];
const requests: string[] = [];
const assets = new Map<string, string | undefined>();
let healthRunId = '';
let maintenanceRunId = '';

const shot = (name: string) => path.join(SHOTS, `console-${name}.png`);
const runRow = (id: string) => page.locator(`#runs tbody tr[data-run-id="${id}"]`);

/** Clicks a quick action and reads the started run's id from the link the page offers to open it. */
async function startFromQuickAction(workflow: string): Promise<string> {
  await page.click(`[data-quick="${workflow}"]`);
  const started = page.locator('#notice', { hasText: `Exécution ${workflow} lancée` }).locator('a');
  await shown(started);
  const link = new URL((await started.getAttribute('href')) ?? '', page.url());
  return new URLSearchParams(link.hash.slice(1)).get('run') ?? '';
}

/** Waits for `locator`, or fails at once with what the page says when it shows an error instead. */
async function shown(locator: Locator, timeout = RUN_WAIT_MS): Promise<void> {
  const failure = page.locator('#notice.error');
  await locator.or(failure).first().waitFor({ timeout });
  if (await failure.isVisible()) throw new Error(`The console reported: ${await failure.textContent()}`);
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  host = await startAppHost({ settings: testSettings({ AI_PROVIDER: 'offline' }) });
  server = await listenHttp(host, { port: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR' });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  page.on('response', (response) => {
    if (response.url().includes('/api/console/assets/'))
      assets.set(response.url(), response.headers()['cache-control']);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await host?.stop();
});

describe('ops console in Chromium', { timeout: STEP_TIMEOUT_MS }, () => {
  it('loads from the app alone, with no console error, and asks for the key', async () => {
    const response = await page.goto(`${server.url}/api/console`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(response?.headers()['cache-control']).toBe('no-cache');
    await expect(page.title()).resolves.toBe("Console d'exploitation");
    await page.locator('#key-input').waitFor();
    expect(await page.locator('#key-needed').isVisible()).toBe(true);
    // uPlot came from the app, not a CDN.
    expect(await page.evaluate(() => typeof (globalThis as { uPlot?: unknown }).uPlot)).toBe('function');
    expect(requests.filter((url) => !url.startsWith(`${server.url}/`))).toEqual([]);
    expect(problems).toEqual([]);
    // Scripts and styles are cached for good under a URL naming the app's version, so a deployment's
    // page never runs the previous version's script.
    expect([...assets.keys()].map((url) => path.basename(new URL(url).pathname))).toEqual(
      expect.arrayContaining(['uPlot.min.css', 'console.css', 'i18n.js', 'uPlot.iife.min.js', 'console.js']),
    );
    for (const [url, cache] of assets) {
      expect(new URL(url).searchParams.get('v')).toBe(version);
      expect(cache).toContain('immutable');
    }
  });

  it('takes the key once, starts a health run from the quick action and shows its score', async () => {
    await page.fill('#key-input', host.functionKey);
    await page.click('#key-form button[type=submit]');
    await page.locator('#key-saved').waitFor();
    // The key lives in the session, never in the URL.
    expect(page.url()).not.toContain(host.functionKey);

    healthRunId = await startFromQuickAction('health');
    expect(healthRunId).toMatch(/health/);

    const score = page.locator('#health-score');
    await shown(score.filter({ hasText: /^\d{1,3}\/100$/ }));
    const value = Number((await score.textContent())?.split('/')[0]);
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThanOrEqual(100);
    const colour = await score.getAttribute('class');
    expect(colour).toContain(value >= 75 ? 'good' : value >= 40 ? 'warn' : 'bad');
  });

  it('lists the health run and sees it complete', async () => {
    await shown(runRow(healthRunId));
    await shown(runRow(healthRunId).locator('.status-Completed'));
    expect(await runRow(healthRunId).locator('td').first().textContent()).toBe('health');
  });

  it('runs maintenance as a dry run in one click', async () => {
    maintenanceRunId = await startFromQuickAction('maintenance');
    await shown(runRow(maintenanceRunId).locator('.status-Completed'));
    expect(await runRow(maintenanceRunId).locator('td').first().textContent()).toBe('maintenance');
    // The status card counts both (the server may reuse its counts for a few seconds).
    const completed = page.locator('#status-counts li', { has: page.locator('.status-Completed') });
    await shown(completed.locator('strong', { hasText: /^2$/ }));
    await page.screenshot({
      path: shot('overview'),
      fullPage: true,
      clip: { x: 0, y: 0, width: 1280, height: 1400 },
    });
  });

  it('keeps the status filter in the URL: the list follows it and Back restores the previous one', async () => {
    const before = page.url();
    await page.check('#filter-statuses input[value="Failed"]');
    await page.waitForURL((url) => new URLSearchParams(url.hash.slice(1)).get('status') === 'Failed');
    await runRow(healthRunId).waitFor({ state: 'detached' });
    await shown(page.locator('#runs-empty'));

    await page.goBack();
    await page.waitForURL(before);
    await runRow(healthRunId).waitFor();
    await runRow(maintenanceRunId).waitFor();
    expect(await page.isChecked('#filter-statuses input[value="Failed"]')).toBe(false);
  });

  it('opens a run: its timeline, its input and its log', async () => {
    await runRow(maintenanceRunId).locator('a.run-link').click();
    await page.waitForURL((url) => new URLSearchParams(url.hash.slice(1)).get('run') === maintenanceRunId);
    await shown(page.locator('#run-timeline tbody tr').first());
    expect(await page.textContent('#run-id')).toBe(maintenanceRunId);
    expect(await page.locator('#run-timeline tbody .bar').count()).toBe(
      await page.locator('#run-timeline tbody tr').count(),
    );
    // The quick action asked for a dry run.
    expect(await page.textContent('#run-input')).toContain('"dryRun": true');

    await runRow(healthRunId).locator('a.run-link').click();
    await page.waitForURL((url) => new URLSearchParams(url.hash.slice(1)).get('run') === healthRunId);
    await page.locator('#run-id', { hasText: healthRunId }).waitFor();
    await shown(page.locator('#run-timeline tbody tr').first());
    await shown(page.locator('#run-log tbody tr').first());
    await page.locator('#run-detail').screenshot({ path: shot('run') });
  });

  it('charts the runs per workflow and the health history', async () => {
    await page.click('#refresh');
    await shown(page.locator('#chart-workflows canvas'));
    await shown(page.locator('#chart-health canvas'));
    await page.locator('#metrics-workflows tbody tr', { hasText: 'maintenance' }).waitFor();
    await page.locator('section[aria-labelledby="metrics-title"]').screenshot({ path: shot('metrics') });
  });

  it('logged no console error and asked nothing of any other origin', () => {
    expect(problems).toEqual([]);
    expect(requests.filter((url) => !url.startsWith(`${server.url}/`))).toEqual([]);
  });
});
