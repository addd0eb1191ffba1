// The log explorer in a real Chromium against a real server holding known records: a query shows
// exactly the rows it should, the histogram counts them, a row expands to every attribute and a
// clicked value filters, the time range picker and a drag on the histogram narrow the range,
// syntax errors point at their position, the cursor pages through thousands of rows with a
// bounded DOM, the live tail shows records sent during the test, export downloads the rows, and
// the URL alone reproduces the view. Also: `/` still answers Elasticsearch clients while sending
// browsers to the UI, and the UI's files are served with the right caching and compression.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { chromiumFor, collectPageErrors, launchChromium, screenshot, until } from '../helpers/browser.js';

const available = await chromiumFor('the web explorer suite');

/** What a browser sends when it opens a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

const FROM = '2026-01-15T10:00:00.000Z';
const TO = '2026-01-15T11:00:00.000Z';
/** The paging set lives on another day, so it never shows in the hour above. */
const BULK_FROM = '2026-01-16T00:00:00.000Z';
const BULK_TO = '2026-01-17T00:00:00.000Z';
const BULK = 1500;

interface Sent {
  ts: string;
  level: string;
  service: string;
  host: string;
  message: string;
  order_id: number;
  region: string;
  http: { status: number; method: string };
}

/** One record a minute for an hour; each field cycles with its own period. */
const records: Sent[] = Array.from({ length: 60 }, (_, i) => {
  const level = ['info', 'warn', 'error', 'debug'][i % 4]!;
  return {
    ts: new Date(Date.parse(FROM) + i * 60_000 + 123).toISOString(),
    level,
    service: ['api', 'web', 'worker'][i % 3]!,
    host: `web-${(i % 2) + 1}`,
    message: `order ${i} ${level === 'error' ? 'payment failed' : 'processed'}`,
    order_id: i,
    region: i % 5 < 2 ? 'eu' : 'us',
    http: { status: level === 'error' ? 500 : 200, method: i % 2 === 0 ? 'GET' : 'POST' },
  };
});

/** The messages of the records that `keep` selects, newest first as the explorer lists them. */
function expected(keep: (r: Sent) => boolean): string[] {
  return records
    .filter(keep)
    .sort((a, b) => b.ts.localeCompare(a.ts))
    .map((r) => r.message);
}

let server: ChildServer;
let dataDir: string;
let browser: Browser;
let context: BrowserContext;
const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-web-downloads-'));

async function post(lines: object[]): Promise<void> {
  const r = await fetch(`${server.url}/api/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: lines.map((l) => JSON.stringify(l)).join('\n'),
  });
  expect(r.status, await r.clone().text()).toBe(200);
  expect(((await r.json()) as { accepted: number }).accepted).toBe(lines.length);
}

async function messages(page: Page): Promise<string[]> {
  return page.locator('[data-testid=result-row] .cell.message').allTextContents();
}

/** Waits until the list shows exactly `want` (the search is done and drawn). */
async function expectRows(page: Page, want: string[]): Promise<void> {
  const got = await until(
    () => messages(page),
    (m) => JSON.stringify(m) === JSON.stringify(want),
  );
  expect(got).toEqual(want);
}

async function runQuery(page: Page, q: string): Promise<void> {
  const input = page.getByTestId('query-input');
  await input.fill(q);
  await input.press('Enter');
}

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  return { page, errors: collectPageErrors(page) };
}

beforeAll(async () => {
  if (!available) return;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-web-explorer-'));
  server = await startChild(dataDir);
  await post(records);
  const bulk = Array.from({ length: BULK }, (_, i) => ({
    ts: new Date(Date.parse(BULK_FROM) + i * 1000).toISOString(),
    level: 'info',
    service: 'batch',
    message: `bulk ${String(i).padStart(4, '0')}`,
  }));
  await post(bulk);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 720 }, timezoneId: 'UTC', acceptDownloads: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopChild(server);
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(downloads, { recursive: true, force: true });
});

describe.skipIf(!available)('log explorer', () => {
  let sharedUrl = '';

  it('shows exactly the rows of a query, with the histogram counting them, and a row expanded to every attribute', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/ui/`);
    // The time range through the picker: absolute from and to.
    await page.getByTestId('time-range').click();
    await page.getByTestId('time-from').fill(FROM);
    await page.getByTestId('time-to').fill(TO);
    await page.getByTestId('time-apply').click();
    await expect(page.getByTestId('time-range').textContent()).resolves.toContain('2026-01-15 10:00:00.000 → 2026-01-15 11:00:00.000');
    // `/` puts the cursor in the query bar from anywhere on the page.
    await page.locator('body').press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('query-input');
    await page.keyboard.type('service:api level:error');
    await page.keyboard.press('Enter');
    const want = expected((r) => r.service === 'api' && r.level === 'error');
    expect(want).toHaveLength(5);
    await expectRows(page, want);

    const histogram = page.getByTestId('histogram');
    await until(() => histogram.getByTestId('histogram-total').textContent(), (t) => t === '5 records');
    expect(await histogram.getByTestId('histogram-total').textContent()).toBe('5 records');
    expect(await histogram.locator('canvas').count()).toBeGreaterThan(0);
    expect(await histogram.locator('.legend').textContent()).toContain('error 5');
    await screenshot(page, 'explorer');

    // The newest row, expanded: every field of the record, attrs by their path.
    const first = page.getByTestId('result-row').first();
    await first.locator('.row-line').click();
    const details = first.getByTestId('row-details');
    await details.waitFor();
    const r = records.find((x) => x.message === want[0])!;
    const shown = async (field: string) => details.locator(`[data-testid=attr-value][data-field="${field}"]`).textContent();
    expect(await shown('service')).toBe(r.service);
    expect(await shown('host')).toBe(r.host);
    expect(await shown('level')).toBe(r.level);
    expect(await shown('message')).toBe(r.message);
    expect(await shown('attrs.order_id')).toBe(String(r.order_id));
    expect(await shown('attrs.region')).toBe(r.region);
    expect(await shown('attrs.http.status')).toBe(String(r.http.status));
    expect(await shown('attrs.http.method')).toBe(r.http.method);
    expect(Date.parse((await shown('ts'))!)).toBe(Date.parse(r.ts));
    await screenshot(page, 'explorer-expanded-row');

    // A value clicked: its filter is added to the query, which runs.
    await details.locator('[data-testid=attr-value][data-field="attrs.region"]').click();
    await expect(page.getByTestId('query-input').inputValue()).resolves.toBe(`service:api level:error attrs.region:${r.region}`);
    await expectRows(page, expected((x) => x.service === 'api' && x.level === 'error' && x.region === r.region));

    sharedUrl = page.url();
    const url = new URL(sharedUrl);
    expect(url.pathname).toBe('/ui/');
    expect(url.searchParams.get('q')).toBe(`service:api level:error attrs.region:${r.region}`);
    expect(url.searchParams.get('from')).toBe(FROM);
    expect(url.searchParams.get('to')).toBe(TO);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('reproduces the view from its URL alone', async () => {
    expect(sharedUrl).not.toBe('');
    const { page, errors } = await newPage();
    await page.goto(sharedUrl);
    const q = new URL(sharedUrl).searchParams.get('q')!;
    await expect(page.getByTestId('query-input').inputValue()).resolves.toBe(q);
    expect(await page.getByTestId('time-range').textContent()).toContain('2026-01-15 10:00:00.000 → 2026-01-15 11:00:00.000');
    const region = q.split('attrs.region:')[1];
    await expectRows(page, expected((x) => x.service === 'api' && x.level === 'error' && x.region === region));
    // Back returns to the query before the filter.
    await page.goto(`${server.url}/ui/?q=${encodeURIComponent('level:warn')}&from=${FROM}&to=${TO}`);
    await expectRows(page, expected((x) => x.level === 'warn'));
    await page.goBack();
    await expectRows(page, expected((x) => x.service === 'api' && x.level === 'error' && x.region === region));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('zooms to the range dragged across the histogram', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/ui/?q=level:error&from=${FROM}&to=${TO}`);
    await expectRows(page, expected((x) => x.level === 'error'));
    // The chart has bars to drag across only once its counts are in; the rows may come first.
    const total = await until(() => page.getByTestId('histogram-total').textContent(), (t) => /^\d[\d,]* records?$/.test(t ?? ''));
    expect(total).toBe(`${expected((x) => x.level === 'error').length} records`);
    const plot = page.getByTestId('histogram').locator('.u-over');
    const box = (await plot.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.05, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    // The drag zoomed: the view's range is no longer the hour it started from.
    expect(await until(async () => new URL(page.url()).searchParams.get('from'), (f) => f !== FROM)).not.toBe(FROM);
    const params = new URL(page.url()).searchParams;
    const from = Date.parse(params.get('from')!);
    const to = Date.parse(params.get('to')!);
    // Somewhere inside the hour, about its first half.
    expect(from).toBeGreaterThanOrEqual(Date.parse(FROM));
    expect(to).toBeLessThan(Date.parse(TO));
    expect(to - from).toBeGreaterThan(15 * 60_000);
    expect(to - from).toBeLessThan(45 * 60_000);
    await expectRows(page, expected((x) => x.level === 'error' && Date.parse(x.ts) >= from && Date.parse(x.ts) < to));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a syntax error at its position, under the query bar', async () => {
    const page = await context.newPage();
    // The 400 answer of the search is what this test provokes; Chromium logs it as an error.
    const errors = collectPageErrors(page, [/status of 400/]);
    await page.goto(`${server.url}/ui/?from=${FROM}&to=${TO}`);
    const q = 'service:api (level:error OR';
    await runQuery(page, q);
    const message = page.getByTestId('error-message');
    await message.waitFor();
    expect(await message.textContent()).toContain('position');
    // The caret sits under the position the server named (1-based): the end of the query here.
    const caret = (await message.locator('pre.caret').textContent())!;
    const [line, marks] = caret.split('\n');
    expect(line).toBe(q);
    expect(marks).toBe(`${' '.repeat(q.length)}^`);
    // A field the language does not know is pointed at too.
    await runQuery(page, 'attrs.a..b:1');
    await until(() => message.textContent(), (t) => t?.includes('path segment is empty') === true);
    expect(await message.locator('pre.caret').textContent()).toBe('attrs.a..b:1\n^');
    // Fixed, the error goes and the rows come.
    await runQuery(page, 'level:fatal OR order_id:7');
    await expectRows(page, expected((x) => x.order_id === 7));
    expect(await page.getByTestId('error-message').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('pages through thousands of rows with the cursor as the list scrolls, keeping the DOM small', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/ui/?q=service:batch&from=${BULK_FROM}&to=${BULK_TO}`);
    await until(() => messages(page), (m) => m[0] === 'bulk 1499');
    const list = page.locator('.results');
    let status = '';
    for (let i = 0; i < 200 && !/^1,500 rows(?! \(scroll)/.test(status); i++) {
      await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForTimeout(50);
      status = (await page.getByTestId('result-status').textContent()) ?? '';
      expect(await page.getByTestId('result-row').count()).toBeLessThan(100);
    }
    expect(status).toMatch(/^1,500 rows(?! \(scroll)/);
    const bottom = async () => {
      await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      return messages(page);
    };
    await until(bottom, (m) => m[m.length - 1] === 'bulk 0000');
    expect((await messages(page)).at(-1)).toBe('bulk 0000');
    // Keyboard: j moves the selection, Enter expands it.
    await list.evaluate((el) => el.scrollTo(0, 0));
    await list.focus();
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.getByTestId('row-details').waitFor();
    expect(await page.getByTestId('row-details').locator('[data-field=message]').textContent()).toBe('bulk 1498');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('tails the query live: records sent during the test appear, newest first, and a burst keeps a bounded DOM', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/ui/?q=${encodeURIComponent('service:api level:error')}&from=${FROM}&to=${TO}`);
    await expectRows(page, expected((x) => x.service === 'api' && x.level === 'error'));
    await page.getByTestId('tail-toggle').click();
    await until(() => page.getByTestId('tail-status').textContent(), (t) => t?.startsWith('Live') === true);
    expect(new URL(page.url()).searchParams.get('live')).toBe('1');
    const marker = `tail check ${Date.now()}`;
    await post([
      { level: 'info', service: 'api', message: `${marker} not matching` },
      { level: 'error', service: 'api', message: marker, region: 'eu' },
    ]);
    const rows = await until(() => messages(page), (m) => m[0] === marker);
    expect(rows[0]).toBe(marker);
    expect(rows).not.toContain(`${marker} not matching`);
    await screenshot(page, 'explorer-live-tail');

    // A burst far larger than a screen: every record arrives, the DOM keeps only what is in view.
    const burst = Array.from({ length: 3000 }, (_, i) => ({ level: 'error', service: 'api', message: `burst ${i}` }));
    await post(burst);
    const received = async () => Number(/([\d,]+) received/.exec((await page.getByTestId('tail-status').textContent()) ?? '')?.[1]?.replace(/,/g, '') ?? -1);
    // The backfill (the five matching records), the marker, the burst.
    expect(await until(received, (n) => n >= 5 + 1 + 3000)).toBe(5 + 1 + 3000);
    await until(() => messages(page), (m) => m[0] === 'burst 2999');
    expect((await messages(page))[0]).toBe('burst 2999');
    expect(await page.getByTestId('result-row').count()).toBeLessThan(100);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('exports the rows of the current query as NDJSON and CSV', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/ui/?q=${encodeURIComponent('service:web level:warn')}&from=${FROM}&to=${TO}`);
    const want = expected((x) => x.service === 'web' && x.level === 'warn');
    await expectRows(page, want);

    await page.getByTestId('export-button').click();
    const [ndjson] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-ndjson').click()]);
    expect(ndjson.suggestedFilename()).toMatch(/\.ndjson$/);
    const file = path.join(downloads, ndjson.suggestedFilename());
    await ndjson.saveAs(file);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { message: string; attrs: { order_id: number } });
    // An export is oldest first.
    expect(lines.map((l) => l.message)).toEqual([...want].reverse());
    expect(lines.map((l) => l.attrs.order_id)).toEqual(records.filter((x) => x.service === 'web' && x.level === 'warn').map((x) => x.order_id));

    await page.getByTestId('export-button').click();
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    expect(csv.suggestedFilename()).toMatch(/\.csv$/);
    const csvFile = path.join(downloads, csv.suggestedFilename());
    await csv.saveAs(csvFile);
    const rows = fs.readFileSync(csvFile, 'utf8').trim().split('\n');
    expect(rows).toHaveLength(want.length + 1);
    expect(rows[0]).toContain('message');
    for (const m of want) expect(rows.some((row) => row.includes(m))).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('reads in the dark theme too', async () => {
    const dark = await browser.newContext({ viewport: { width: 1280, height: 720 }, colorScheme: 'dark', timezoneId: 'UTC' });
    const page = await dark.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/ui/?q=level:error&from=${FROM}&to=${TO}`);
    await expectRows(page, expected((x) => x.level === 'error'));
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(17, 20, 24)');
    await screenshot(page, 'explorer-dark');
    expect(errors).toEqual([]);
    await dark.close();
  });
});

describe.skipIf(!available)('the UI beside the Elasticsearch probe at /', () => {
  it('answers Elasticsearch clients at / as before, and sends browsers to /ui/', async () => {
    const json = await fetch(`${server.url}/`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(200);
    expect(json.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(((await json.json()) as { version: { number: string } }).version.number).toMatch(/^\d+\.\d+\.\d+$/);
    // No Accept at all (curl, most shippers): the probe.
    const bare = await fetch(`${server.url}/`);
    expect(((await bare.json()) as { tagline: string }).tagline).toBe('You Know, for Search');
    const info = await new Client({ node: server.url }).info();
    expect(info.version.number).toMatch(/^\d+\.\d+\.\d+$/);

    const browserAsk = await fetch(`${server.url}/`, { headers: { accept: BROWSER_ACCEPT }, redirect: 'manual' });
    expect(browserAsk.status).toBe(302);
    expect(browserAsk.headers.get('location')).toBe('/ui/');

    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/`);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await page.getByTestId('query-input').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('serves the build: cached for good under assets/, index.html revalidated, compressed, every page of the app at its path', async () => {
    const index = await fetch(`${server.url}/ui/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-encoding')).toBe('gzip');
    const html = await index.text();
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${server.url}${asset}`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(js.headers.get('content-encoding')).toBe('br');
    const again = await fetch(`${server.url}${asset}`, { headers: { 'if-none-match': js.headers.get('etag')! } });
    expect(again.status).toBe(304);
    for (const page of ['access', 'server']) {
      const r = await fetch(`${server.url}/ui/${page}?q=x`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(html);
    }
    expect((await fetch(`${server.url}/ui/assets/missing-0000.js`)).status).toBe(404);
    const bare = await fetch(`${server.url}/ui`, { redirect: 'manual' });
    expect(bare.headers.get('location')).toBe('/ui/');
  });
});
