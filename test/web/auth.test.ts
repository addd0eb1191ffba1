// The web UI on a server with authentication on: the static files and the browser redirect at `/`
// need no key (the Elasticsearch probe there still does), the UI asks for a key once, keeps it
// for the tab (session storage) and sends it on every call — searches, the live tail (fetch, not
// EventSource, so the header goes along), export (fetched into a file) and the server page.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { chromiumFor, collectPageErrors, launchChromium, screenshot, until } from '../helpers/browser.js';

const available = await chromiumFor('the web auth suite');

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const FROM = '2026-02-01T00:00:00.000Z';
const TO = '2026-02-02T00:00:00.000Z';

let server: ChildServer;
let dataDir: string;
let browser: Browser;
let context: BrowserContext;
let key = '';

async function post(lines: object[]): Promise<void> {
  const r = await fetch(`${server.url}/api/v1/logs`, {
    method: 'POST',
    headers: { ...server.headers, 'content-type': 'application/x-ndjson' },
    body: lines.map((l) => JSON.stringify(l)).join('\n'),
  });
  expect(r.status, await r.text()).toBe(200);
}

beforeAll(async () => {
  if (!available) return;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-web-auth-'));
  server = await startChild(dataDir, { auth: true, env: { LOGHAVEN_AUTH_ENABLED: 'true' } });
  key = server.headers.authorization!.replace(/^Bearer /, '');
  await post(Array.from({ length: 12 }, (_, i) => ({ ts: new Date(Date.parse(FROM) + i * 3_600_000).toISOString(), level: 'info', service: 'secure', message: `secret ${i}` })));
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 720 }, timezoneId: 'UTC', acceptDownloads: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopChild(server);
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(!available)('the web UI with authentication on', () => {
  it('keeps the probe behind the key while browsers reach the UI without one', async () => {
    expect((await fetch(`${server.url}/`, { headers: { accept: 'application/json' } })).status).toBe(401);
    expect((await fetch(`${server.url}/`, { headers: { accept: 'application/json', ...server.headers } })).status).toBe(200);
    const redirect = await fetch(`${server.url}/`, { headers: { accept: BROWSER_ACCEPT }, redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect((await fetch(`${server.url}/ui/`)).status).toBe(200);
    // The API itself still wants the key.
    expect((await fetch(`${server.url}/api/v1/logs`)).status).toBe(401);
  });

  it('asks for a key once, keeps it for the tab, and sends it with searches, the tail, export and the server page', async () => {
    const page = await context.newPage();
    // The first search is refused (401) before the key is given: that is the point of this test.
    const errors = collectPageErrors(page, [/status of 401/]);
    await page.goto(`${server.url}/`);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    const dialog = page.getByTestId('key-dialog');
    await dialog.waitFor();
    await screenshot(page, 'key-dialog');
    await page.getByTestId('key-input').fill(key);
    await page.getByTestId('tenant-input').fill('default');
    await page.getByTestId('key-save').click();
    expect(await dialog.count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.getItem('loghaven.key'))).toBe(key);

    await page.goto(`${server.url}/ui/?q=service:secure&from=${FROM}&to=${TO}`);
    const rows = page.locator('[data-testid=result-row] .cell.message');
    const want = Array.from({ length: 12 }, (_, i) => `secret ${11 - i}`);
    expect(await until(() => rows.allTextContents(), (m) => m.length === 12)).toEqual(want);
    expect(await page.getByTestId('key-dialog').count()).toBe(0);
    await until(() => page.getByTestId('histogram-total').textContent(), (t) => t === '12 records');
    expect(await page.getByTestId('histogram-total').textContent()).toBe('12 records');

    // Export with the key: fetched, then saved.
    await page.getByTestId('export-button').click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-ndjson').click()]);
    const file = path.join(dataDir, 'export.ndjson');
    await download.saveAs(file);
    const exported = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message);
    expect(exported).toEqual([...want].reverse());

    // The tail with the key.
    await page.getByTestId('tail-toggle').click();
    await until(() => page.getByTestId('tail-status').textContent(), (t) => t?.startsWith('Live') === true);
    await post([{ level: 'warn', service: 'secure', message: 'tailed with a key' }]);
    expect(await until(() => rows.allTextContents(), (m) => m[0] === 'tailed with a key')).toContain('tailed with a key');

    // The server page needs an admin key of every tenant: this one is.
    await page.goto(`${server.url}/ui/server`);
    await page.getByTestId('stat-rows').waitFor();
    // The store's count follows the loads (within a second), the page its readings.
    const rowsStored = () => page.getByTestId('stat-rows').locator('.stat-value').textContent();
    expect(await until(rowsStored, (t) => t === '13')).toBe('13');
    expect(await page.getByTestId('error-message').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says so when the key is wrong, and takes a better one', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await fresh.newPage();
    const errors = collectPageErrors(page, [/status of 401/]);
    await page.goto(`${server.url}/ui/?q=service:secure&from=${FROM}&to=${TO}`);
    await page.getByTestId('key-dialog').waitFor();
    await page.getByTestId('key-input').fill(`lh_0123456789abcdef_${'A'.repeat(43)}`);
    await page.getByTestId('key-save').click();
    // Refused again: the dialog comes back with the server's reason, and the page says why too.
    await page.getByTestId('key-dialog').waitFor();
    expect(await page.getByTestId('key-dialog').textContent()).toContain('The server wants a key');
    expect(await page.getByTestId('error-message').first().textContent()).toContain('API key needed');
    await page.getByTestId('key-input').fill(key);
    await page.getByTestId('tenant-input').fill('default');
    await page.getByTestId('key-save').click();
    await until(() => page.locator('[data-testid=result-row]').count(), (n) => n === 12);
    expect(await page.locator('[data-testid=result-row]').count()).toBe(12);
    expect(errors).toEqual([]);
    await fresh.close();
  });
});
