// The access-log dashboard and the server page in a real Chromium. The dashboard shows the
// figures of AWS's documented ALB example lines, imported with `loghaven import`; the server
// page shows an ingest rate that moves while records are sent, and every panel it promises.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { chromiumFor, collectPageErrors, launchChromium, screenshot, until } from '../helpers/browser.js';

const available = await chromiumFor('the web dashboards suite');

/** AWS's documented example lines (docs: "Access log entries" of the ALB user guide). */
const ALB_FILE = path.resolve(import.meta.dirname, '../fixtures/alb/aws-doc-examples.log');

let server: ChildServer;
let dataDir: string;
let browser: Browser;

async function stat(page: Page, name: string): Promise<string> {
  return (await page.getByTestId(`stat-${name}`).locator('.stat-value').textContent()) ?? '';
}

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, timezoneId: 'UTC' });
  return { page, errors: collectPageErrors(page) };
}

beforeAll(async () => {
  if (!available) return;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-web-dashboards-'));
  server = await startChild(dataDir);
  const imported = await runCli(['import', '--url', server.url, '--json', ALB_FILE]);
  expect(imported.code, imported.stderr).toBe(0);
  expect(JSON.parse(imported.stdout)).toMatchObject({ lines: 7, accepted: 7, rejected: 0 });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopChild(server);
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(!available)('access-log dashboard', () => {
  it('shows the figures of the imported ALB file: requests, status classes, latency, URL and error patterns, sessions and flows', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/ui/access`);
    const dashboard = page.getByTestId('access-dashboard');
    await dashboard.getByTestId('stat-requests').waitFor();
    // Seven requests: four answered 200, two WebSocket upgrades (101, in no class shown), one 502
    // made by the load balancer (a Lambda's invalid answer); three client addresses.
    expect(await stat(page, 'requests')).toBe('7');
    expect(await stat(page, 'status-2xx')).toBe('4');
    expect(await stat(page, 'status-3xx')).toBe('0');
    expect(await stat(page, 'status-4xx')).toBe('0');
    expect(await stat(page, 'status-5xx')).toBe('1');
    expect(await stat(page, 'elb-errors')).toBe('1 / 0');
    expect(await stat(page, 'clients')).toBe('3');
    expect(await stat(page, 'bytes')).toBe('543 B / 2.72 KiB');
    expect(await stat(page, 'latency')).toBe('1 ms / 171 ms / 171 ms');
    expect(await page.getByTestId('stat-requests').locator('.stat-sub').textContent()).toBe('2018-07-02 22:23:00.186 → 2018-11-30 22:23:00.186');

    // Both charts drawn (each from an answer of its own, which may come after the summary's).
    await page.getByTestId('access-traffic').locator('canvas').first().waitFor();
    await page.getByTestId('access-latency').locator('canvas').first().waitFor();

    const urls = page.getByTestId('access-urls').locator('tbody tr');
    await urls.first().waitFor();
    expect(await urls.count()).toBe(1);
    expect(await urls.first().locator('td').allTextContents()).toEqual(['GET', '/', '7', '', '14.3 %', '1 ms', '171 ms', '171 ms', '171 ms', '2.72 KiB']);
    expect(await urls.first().locator('.status-mix').getAttribute('title')).toBe('2xx: 4, 3xx: 0, 4xx: 0, 5xx: 1');
    const errorsTable = page.getByTestId('access-errors').locator('tbody tr');
    await errorsTable.first().waitFor();
    expect(await errorsTable.count()).toBe(1);
    expect(await errorsTable.first().locator('td').allTextContents()).toEqual(['502', 'LambdaInvalidResponse', '/', '–', '1']);

    const sessions = page.getByTestId('access-sessions');
    await sessions.getByTestId('stat-sessions').waitFor();
    expect(await stat(page, 'sessions')).toBe('4');
    expect(await sessions.getByTestId('stat-sessions').locator('.stat-sub').textContent()).toBe('7 requests');
    expect(await stat(page, 'session-length')).toBe('2 / 2 / 2');
    const flows = page.getByTestId('access-flows');
    await flows.locator('tbody tr').first().waitFor();
    expect(await flows.locator('tbody tr').first().locator('td').allTextContents()).toEqual(['/', '/', '3', '100.0 %']);
    await screenshot(page, 'access-dashboard');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('runs a funnel the user defines, keeps it in the URL, and matches the API', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/ui/access`);
    const input = page.getByTestId('funnel-steps');
    await input.fill('/, /, /');
    await input.press('Enter');
    const steps = page.getByTestId('access-funnel').locator('ol.funnel li');
    await until(() => steps.count(), (n) => n === 3);
    expect(new URL(page.url()).searchParams.get('funnel')).toBe('/,/,/');
    const api = (await (await fetch(`${server.url}/api/v1/analytics/access/funnel?steps=/,/,/`)).json()) as { steps: { sessions: number }[] };
    const shown = await steps.locator('.sessions').allTextContents();
    expect(shown).toEqual(api.steps.map((s) => `${s.sessions} sessions`));
    // The same view from its URL.
    await page.goto(page.url());
    await until(() => steps.count(), (n) => n === 3);
    expect(await page.getByTestId('funnel-steps').inputValue()).toBe('/,/,/');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters on access fields, says when nothing matches, and links a pattern to its records in the explorer', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/ui/access?q=${encodeURIComponent('status:>=500')}`);
    await page.getByTestId('stat-requests').waitFor();
    expect(await stat(page, 'requests')).toBe('1');
    await page.getByTestId('query-input').fill('status:>=599');
    await page.getByTestId('query-input').press('Enter');
    await page.getByTestId('access-empty').waitFor();
    expect(await page.getByTestId('access-empty').textContent()).toContain('No access logs match this filter');

    await page.goto(`${server.url}/ui/access`);
    await page.getByTestId('access-urls').locator('a').first().click();
    await page.getByTestId('result-row').first().waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/');
    expect(await page.getByTestId('query-input').inputValue()).toBe('url_pattern:"/"');
    await page.getByTestId('time-range').textContent();
    expect(await page.getByTestId('result-row').count()).toBe(7);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe.skipIf(!available)('server page', () => {
  it('shows an ingest rate that moves while records arrive, queues, cache, query latency, storage and alerts', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/ui/server`);
    const serverPage = page.getByTestId('server-page');
    await serverPage.getByTestId('stat-ingest-rate').waitFor();

    // Records every 50 ms, in batches that grow, so each reading of the rate differs.
    let sending = true;
    let batch = 1;
    const sender = (async () => {
      while (sending) {
        const lines = Array.from({ length: batch }, (_, i) => JSON.stringify({ level: 'info', service: 'rate', message: `rate ${batch} ${i}` }));
        await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines.join('\n') });
        batch = Math.min(batch + 1, 200);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const rate = async () => stat(page, 'ingest-rate');
    const perSecond = (text: string) => Number(/^([\d.,]+)\/s/.exec(text)?.[1]?.replace(/,/g, '') ?? 'NaN');
    const first = await until(rate, (t) => perSecond(t) > 0, 20_000);
    expect(perSecond(first)).toBeGreaterThan(0);
    const second = await until(rate, (t) => perSecond(t) > 0 && t !== first, 20_000);
    expect(perSecond(second)).toBeGreaterThan(0);
    expect(second).not.toBe(first);
    // By protocol: the native route, in the table.
    const row = serverPage.getByTestId('server-ingest').locator('tbody tr', { hasText: 'native' });
    expect(perSecond((await row.locator('td').nth(1).textContent()) ?? '')).toBeGreaterThan(0);
    sending = false;
    await sender;
    expect(await serverPage.getByTestId('server-ingest-chart').locator('canvas').count()).toBeGreaterThan(0);

    // Every panel the page promises, with the server's own figures.
    expect(await serverPage.getByTestId('spool-backlog').textContent()).toMatch(/B$/);
    expect(await serverPage.getByTestId('cache-hit-ratio').textContent()).toMatch(/lookups$/);
    await serverPage.getByTestId('server-latency').locator('tbody tr').first().waitFor();
    expect(await serverPage.getByTestId('server-latency').textContent()).toContain('access');
    await serverPage.getByTestId('server-storage').waitFor();
    const hot = serverPage.getByTestId('server-storage').locator('tbody tr').first();
    expect(await hot.locator('td').first().textContent()).toBe('Hot (duckdb)');
    expect(await serverPage.getByTestId('server-alerts').textContent()).toContain('Alerts');
    expect(await stat(page, 'ready')).toBe('ready');
    await screenshot(page, 'server-page');
    expect(errors).toEqual([]);
    await page.close();
  });
});
