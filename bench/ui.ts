// npm run bench:ui — the web UI in a real Chromium (Debian's /usr/bin/chromium through
// playwright-core) against a real `loghaven start` on loopback:
//
// - first paint and first contentful paint of the explorer, and its first rows on screen: the
//   median of --loads loads, each in a fresh browser context (nothing cached), and again reloaded
//   (the hashed assets cached, index.html revalidated);
// - the JavaScript and CSS shipped, gzip and brotli (what the server sends);
// - Enter to rows on screen for searches over the store (the response cache purged before each
//   run), and Enter to the level histogram drawn (one histogram request, by=level);
// - the live tail at --tail-rate lines/s for --tail-seconds: rows shown against rows sent, the
//   display lag, DOM nodes and JS heap (both must stay bounded);
// - scrolling through 10,000 results (paged by the cursor): DOM nodes, JS heap before and after,
//   and frame times while scrolling.
//
//   npm run bench:ui -- [--data DIR] [--rows 200000] [--loads 7] [--runs 5]
//                       [--tail-rate 1000] [--tail-seconds 10] [--out /tmp/ui-bench.md]
//
// Without --data the store is made here: --rows records of the query benchmark's corpus
// (bench/lib/query-corpus.ts, three days ending now). With --data DIR (a store made by
// `npm run bench:query -- --data DIR`), the server runs on a copy of DIR when the disk has room
// for it (a server writes to its data directory: spool, index, migrations), else on DIR itself,
// and says which. Figures are printed and written, with the command and the machine, to --out.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { parseArgs } from 'node:util';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { startChild, stopChild, type ChildServer } from '../test/helpers/child-server.js';
import { chromiumFor, launchChromium } from '../test/helpers/browser.js';
import { waitLoaded } from './lib/loghaven-counts.js';
import { NEEDLE, PHRASE, PREFIX, USER_ID, queryCorpusBatches } from './lib/query-corpus.js';
import { fmt, machine, percentile } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    rows: { type: 'string', default: '200000' },
    loads: { type: 'string', default: '7' },
    runs: { type: 'string', default: '5' },
    'tail-rate': { type: 'string', default: '1000' },
    'tail-seconds': { type: 'string', default: '10' },
    out: { type: 'string', default: '/tmp/ui-bench.md' },
  },
});
const ROWS = Number(args.rows);
const LOADS = Number(args.loads);
const RUNS = Number(args.runs);
const TAIL_RATE = Number(args['tail-rate']);
const TAIL_SECONDS = Number(args['tail-seconds']);
if (!Number.isInteger(ROWS) || ROWS < 20_000) throw new Error(`--rows must be an integer of at least 20000, got ${args.rows}`);
if (!Number.isInteger(LOADS) || LOADS < 3) throw new Error(`--loads must be an integer of at least 3, got ${args.loads}`);
if (!Number.isInteger(RUNS) || RUNS < 3) throw new Error(`--runs must be an integer of at least 3, got ${args.runs}`);
if (!(TAIL_RATE > 0) || !(TAIL_SECONDS > 0)) throw new Error('--tail-rate and --tail-seconds must be positive');

const ROOT = path.resolve(import.meta.dirname, '..');
const WEB = path.join(ROOT, 'dist/web');
const VIEWPORT = { width: 1280, height: 720 };
const SCROLL_ROWS = 10_000;
const sleep = (ms: number) => new Promise((w) => setTimeout(w, ms));
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const ms = (n: number) => `${n.toFixed(0)} ms`;
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const lines: string[] = [];
const say = (s = '') => {
  console.log(s);
  lines.push(s);
};

// ---------------------------------------------------------------------------------------------
// What is shipped

function shipped(): { files: number; raw: number; gzip: number; brotli: number } {
  const assets = path.join(WEB, 'assets');
  if (!fs.existsSync(assets)) throw new Error(`${assets} is missing: run "npm run build" first (npm run bench:ui does)`);
  let raw = 0;
  let gzip = 0;
  let brotli = 0;
  let files = 0;
  for (const f of fs.readdirSync(assets)) {
    if (!/\.(js|css)$/.test(f)) continue;
    const body = fs.readFileSync(path.join(assets, f));
    files++;
    raw += body.length;
    gzip += zlib.gzipSync(body, { level: 9 }).length;
    brotli += zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  }
  return { files, raw, gzip, brotli };
}

// ---------------------------------------------------------------------------------------------
// The server and its data

interface Prepared {
  server: ChildServer;
  dataDir: string;
  /** Removed at the end (a copy or a store made here); null: the user's directory, left as it is. */
  cleanup: string | null;
  rows: number;
  note: string;
}

function dirBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

async function prepare(): Promise<Prepared> {
  if (args.data !== undefined) {
    const src = path.resolve(args.data);
    if (!fs.existsSync(src)) throw new Error(`--data ${src} does not exist (make one with: npm run bench:query -- --data ${src})`);
    const size = dirBytes(src);
    const tmp = os.tmpdir();
    let dataDir = src;
    let cleanup: string | null = null;
    let note: string;
    // Room for the copy and what the server may write beside it.
    if (freeBytes(tmp) > size * 1.5 + 2 ** 30) {
      const parent = fs.mkdtempSync(path.join(tmp, 'loghaven-bench-ui-'));
      dataDir = path.join(parent, 'data');
      const started = performance.now();
      execFileSync('cp', ['-a', '--reflink=auto', src, dataDir]);
      cleanup = parent;
      note = `server on a copy of ${src} (${mib(size)}, copied in ${((performance.now() - started) / 1000).toFixed(1)} s)`;
    } else {
      note = `server on ${src} itself (${mib(size)}; not enough free space in ${tmp} for a copy)`;
    }
    const server = await startChild(dataDir, { env: { LOGHAVEN_LOG_LEVEL: 'warn' } });
    const rows = await waitLoaded(server.url, 0);
    await waitIndexed(server.url);
    return { server, dataDir, cleanup, rows, note };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-ui-'));
  const server = await startChild(dataDir, { env: { LOGHAVEN_LOG_LEVEL: 'warn' } });
  const started = performance.now();
  for (const batch of queryCorpusBatches(ROWS, 10_000)) {
    const body = Uint8Array.from(batch.body);
    const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    if (r.status !== 200) throw new Error(`loading the corpus: ${r.status} ${await r.text()}`);
  }
  const rows = await waitLoaded(server.url, ROWS);
  const loaded = (performance.now() - started) / 1000;
  await waitIndexed(server.url);
  return { server, dataDir, cleanup: dataDir, rows, note: `${fmt(rows)} records of the query corpus made here (loaded in ${loaded.toFixed(1)} s, indexed ${((performance.now() - started) / 1000 - loaded).toFixed(1)} s later)` };
}

/** Searches are measured once the token index has caught up with the loads, as in use. */
async function waitIndexed(url: string): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const s = (await (await fetch(`${url}/api/v1/status`)).json()) as { query_index: { pending_segments: number } };
    if (s.query_index.pending_segments === 0) return;
    if (Date.now() > deadline) throw new Error(`the index still has ${s.query_index.pending_segments} segments to do after 30 min`);
    await sleep(500);
  }
}

/** The times of the oldest and newest record: the explorer's range for the searches. */
async function storeBounds(url: string): Promise<{ from: string; to: string }> {
  const edge = async (order: string) => {
    const a = (await (await fetch(`${url}/api/v1/logs?limit=1&order=${order}`)).json()) as { items: { ts: string }[] };
    if (a.items.length === 0) throw new Error('the store is empty');
    return Date.parse(a.items[0]!.ts);
  };
  const [first, last] = await Promise.all([edge('asc'), edge('desc')]);
  return { from: new Date(first).toISOString(), to: new Date(last + 1000).toISOString() };
}

async function purgeCache(url: string): Promise<void> {
  const r = await fetch(`${url}/api/v1/cache`, { method: 'DELETE' });
  if (!r.ok) throw new Error(`purging the cache: ${r.status} ${await r.text()}`);
}

// ---------------------------------------------------------------------------------------------
// Measurements in the page

/** Resolves in the page once the explorer shows a settled answer (rows, or none), in ms since `since`. */
const SETTLED = `(since) => new Promise((resolve) => {
  const check = () => {
    const list = document.querySelector('.results');
    const status = document.querySelector('[data-testid=result-status]');
    if (list && list.getAttribute('aria-busy') === 'false' && status && !status.textContent.startsWith('Searching')) {
      resolve(performance.now() - since);
    } else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})`;

async function firstPaints(browser: Browser, url: string): Promise<{ cold: Record<string, number[]>; warm: Record<string, number[]> }> {
  const cold: Record<string, number[]> = { fp: [], fcp: [], rows: [] };
  const warm: Record<string, number[]> = { fp: [], fcp: [], rows: [] };
  const measure = async (page: Page, into: Record<string, number[]>) => {
    const rows = (await page.evaluate(`(${SETTLED})(0)`)) as number;
    const paints = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, p.startTime])));
    into.fp!.push(paints['first-paint']!);
    into.fcp!.push(paints['first-contentful-paint']!);
    into.rows!.push(rows);
  };
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    await page.goto(url);
    await measure(page, cold);
    await page.reload();
    await measure(page, warm);
    await context.close();
  }
  return { cold, warm };
}

/**
 * Installs, in the page, a watch for the next search: from the Enter keydown to the frame after
 * the result list and the histogram each stop being busy (the next paint shows them).
 */
const WATCH_NEXT_SEARCH = `window.__nextSearch = new Promise((resolve) => {
  const input = document.querySelector('[data-testid=query-input]');
  // Busy and back, however quickly: a change whose old value was busy, and not busy now.
  const settled = (el, t0) => new Promise((done) => {
    const observer = new MutationObserver((records) => {
      if (el.getAttribute('aria-busy') !== 'false' || !records.some((r) => r.oldValue === 'true')) return;
      observer.disconnect();
      requestAnimationFrame(() => done(performance.now() - t0));
    });
    observer.observe(el, { attributes: true, attributeFilter: ['aria-busy'], attributeOldValue: true });
  });
  input.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const t0 = performance.now();
    Promise.all([settled(document.querySelector('.results'), t0), settled(document.querySelector('.histogram'), t0)]).then(([rows, hist]) =>
      resolve({ rows, hist, status: document.querySelector('[data-testid=result-status]').textContent }),
    );
  }, { once: true, capture: true });
});
0 // not the promise: evaluate would wait for it, and Enter is pressed after`;

async function enterToRows(page: Page, url: string, range: { from: string; to: string }, q: string): Promise<{ rows: number[]; histogram: number[]; shown: string }> {
  const rows: number[] = [];
  const histogram: number[] = [];
  let shown = '';
  for (let run = 0; run < RUNS + 1; run++) {
    // Each run starts from another view, so that Enter is a new search, and from a cold cache.
    await page.goto(`${url}/ui/?q=${encodeURIComponent('level:fatal')}&from=${range.from}&to=${range.to}`);
    await page.locator('.results[aria-busy=false]').waitFor();
    await page.locator('.histogram[aria-busy=false]').waitFor();
    await purgeCache(url);
    await page.getByTestId('query-input').fill(q);
    await page.evaluate(WATCH_NEXT_SEARCH);
    await page.getByTestId('query-input').press('Enter');
    const t = (await page.evaluate('window.__nextSearch')) as { rows: number; hist: number; status: string };
    if (run === 0) continue; // warm-up: the page's code, the engine's caches
    rows.push(t.rows);
    histogram.push(t.hist);
    shown = t.status;
  }
  return { rows, histogram, shown };
}

async function heap(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  return ((await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
}

async function domNodes(page: Page): Promise<number> {
  return page.evaluate(() => document.getElementsByTagName('*').length);
}

async function tail(browser: Browser, url: string): Promise<string[]> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await page.goto(`${url}/ui/?q=service:ui-bench-tail&live=1`);
  await page.getByTestId('tail-status').filter({ hasText: /^Live/ }).waitFor();
  const heapBefore = await heap(cdp);
  const nodesBefore = await domNodes(page);
  const total = Math.round(TAIL_RATE * TAIL_SECONDS);
  const tick = 50;
  const perTick = TAIL_RATE / (1000 / tick);
  let sent = 0;
  let maxNodes = nodesBefore;
  const lags: number[] = [];
  const started = performance.now();
  // The sender keeps to the rate by the clock; the sampler reads the newest row's send time.
  const sender = (async () => {
    while (sent < total) {
      const due = Math.min(total, Math.round(((performance.now() - started) / tick + 1) * perTick));
      const batch: string[] = [];
      for (; sent < due; sent++) batch.push(JSON.stringify({ level: 'info', service: 'ui-bench-tail', message: `tail ${sent} sent ${Date.now()}` }));
      if (batch.length > 0) {
        const r = await fetch(`${url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: batch.join('\n') });
        if (r.status !== 200) throw new Error(`tail sender: ${r.status} ${await r.text()}`);
      }
      await sleep(Math.max(0, started + ((sent / perTick) * tick) - performance.now()));
    }
  })();
  const sampler = (async () => {
    while (sent < total) {
      const newest = await page.locator('[data-testid=result-row] .cell.message').first().textContent().catch(() => null);
      const m = newest === null ? null : / sent (\d+)$/.exec(newest);
      if (m !== null) lags.push(Date.now() - Number(m[1]));
      maxNodes = Math.max(maxNodes, await domNodes(page));
      await sleep(200);
    }
  })();
  await Promise.all([sender, sampler]);
  const sendSeconds = (performance.now() - started) / 1000;
  const received = async () => Number(/([\d,]+) received/.exec((await page.getByTestId('tail-status').textContent()) ?? '')?.[1]?.replace(/,/g, '') ?? 0);
  const deadline = Date.now() + 10_000;
  let got = await received();
  while (got < total && Date.now() < deadline) {
    await sleep(100);
    got = await received();
  }
  const caughtUp = (await page.locator('[data-testid=result-row] .cell.message').first().textContent())?.startsWith(`tail ${total - 1} `) ?? false;
  const heapAfter = await heap(cdp);
  const nodesAfter = await domNodes(page);
  await context.close();
  lags.sort((a, b) => a - b);
  return [
    `- Sent ${fmt(total)} records at ${fmt(TAIL_RATE)}/s (${(total / sendSeconds).toFixed(0)}/s achieved over ${sendSeconds.toFixed(1)} s); the page received ${fmt(got)} (${((got / total) * 100).toFixed(1)} %), newest on top at the end: ${caughtUp ? 'yes' : 'no'}`,
    `- Display lag (send → newest row on screen, sampled every 200 ms): p50 ${ms(percentile(lags, 50))}, p95 ${ms(percentile(lags, 95))}, max ${ms(lags[lags.length - 1] ?? NaN)} (${lags.length} samples)`,
    `- DOM elements: ${fmt(nodesBefore)} before, at most ${fmt(maxNodes)} during, ${fmt(nodesAfter)} after (rows kept: the newest 5,000; in the DOM only those in view)`,
    `- JS heap after GC: ${mib(heapBefore)} before, ${mib(heapAfter)} after`,
  ];
}

async function scrolling(browser: Browser, url: string, range: { from: string; to: string }): Promise<string[]> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await page.goto(`${url}/ui/?from=${range.from}&to=${range.to}`);
  await page.evaluate(`(${SETTLED})(0)`);
  const heapBefore = await heap(cdp);
  const nodesBefore = await domNodes(page);
  // Scrolls a screen a frame, as a fast wheel or a held Page Down does, recording each frame's
  // time; pages load as the end comes near.
  const result = (await page.evaluate(`new Promise((resolve) => {
    const list = document.querySelector('.results');
    const frames = [];
    let last = performance.now();
    let maxNodes = 0;
    const started = last;
    const step = () => {
      const now = performance.now();
      frames.push(now - last);
      last = now;
      maxNodes = Math.max(maxNodes, document.getElementsByTagName('*').length);
      const rows = Number(list.getAttribute('aria-rowcount'));
      const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 2;
      if (rows >= ${SCROLL_ROWS} && atEnd) return resolve({ frames, maxNodes, rows, ms: now - started });
      if (now - started > 120000) return resolve({ frames, maxNodes, rows, ms: now - started, timedOut: true });
      list.scrollTop += list.clientHeight;
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  })`)) as { frames: number[]; maxNodes: number; rows: number; ms: number; timedOut?: boolean };
  const heapAfter = await heap(cdp);
  const nodesAfter = await domNodes(page);
  // Back to the top: the rows stay loaded, the DOM goes back to a screenful.
  await page.locator('.results').evaluate((el) => el.scrollTo(0, 0));
  await sleep(200);
  const nodesTop = await domNodes(page);
  await context.close();
  const frames = result.frames.slice(1).sort((a, b) => a - b);
  const long = frames.filter((f) => f > 50).length;
  return [
    `- Scrolled a screen per frame to row ${fmt(result.rows)} in ${(result.ms / 1000).toFixed(1)} s${result.timedOut ? ' (stopped at 120 s)' : ''}: ${fmt(frames.length)} frames, frame time p50 ${ms(percentile(frames, 50))}, p95 ${ms(percentile(frames, 95))}, max ${ms(frames[frames.length - 1] ?? NaN)}, ${long} frames over 50 ms`,
    `- DOM elements: ${fmt(nodesBefore)} with the first page, at most ${fmt(result.maxNodes)} while scrolling, ${fmt(nodesAfter)} at row ${fmt(result.rows)}, ${fmt(nodesTop)} back at the top`,
    `- JS heap after GC: ${mib(heapBefore)} with 200 rows loaded, ${mib(heapAfter)} with ${fmt(result.rows)} (the records themselves; the DOM does not grow)`,
  ];
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!(await chromiumFor('bench:ui'))) throw new Error('bench:ui needs Chromium');
  const command = `npm run bench:ui -- ${process.argv.slice(2).join(' ')}`.trim();
  say(`# bench:ui — the web UI in Chromium on loopback`);
  say();
  say(`- Command: \`${command}\``);
  say(`- Machine: ${machine()}; nproc ${os.cpus().length}; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  say(`- Date: ${new Date().toISOString()}`);
  const size = shipped();
  say();
  say(`## Shipped`);
  say(`- JS + CSS: ${size.files} files, ${(size.raw / 1024).toFixed(1)} KiB raw, ${(size.gzip / 1024).toFixed(1)} KiB gzip, ${(size.brotli / 1024).toFixed(1)} KiB brotli (target ≤ 150 KB gzip)`);

  const prepared = await prepare();
  const { server } = prepared;
  const browser = await launchChromium();
  say(`- Chromium ${browser.version()}; ${prepared.note}; ${fmt(prepared.rows)} rows in the store`);
  try {
    const range = await storeBounds(server.url);
    const paints = await firstPaints(browser, `${server.url}/ui/?from=${range.from}&to=${range.to}`);
    say();
    say(`## First paint of the explorer (median of ${LOADS} loads)`);
    say(`- Fresh context: first paint ${ms(median(paints.cold.fp!))}, first contentful paint ${ms(median(paints.cold.fcp!))}, first rows on screen ${ms(median(paints.cold.rows!))} (target first paint ≤ 500 ms)`);
    say(`- Reloaded (assets cached): first paint ${ms(median(paints.warm.fp!))}, first contentful paint ${ms(median(paints.warm.fcp!))}, first rows on screen ${ms(median(paints.warm.rows!))}`);

    say();
    say(`## Enter to rows on screen (${fmt(prepared.rows)} rows, whole range ${range.from} → ${range.to}, cache purged before each run; median and max of ${RUNS} after a warm-up)`);
    say(`| query | rows on screen | histogram drawn | what the page said |`);
    say(`|---|---|---|---|`);
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    for (const q of ['', 'level:error', NEEDLE, `"${PHRASE}"`, `${PREFIX}*`, `user_id:${USER_ID}`, 'service:svc-payments level:>=warn']) {
      const t = await enterToRows(page, server.url, range, q);
      const worst = (xs: number[]) => Math.max(...xs);
      say(`| \`${q === '' ? '(empty: the latest)' : q}\` | ${ms(median(t.rows))} (max ${ms(worst(t.rows))}) | ${ms(median(t.histogram))} (max ${ms(worst(t.histogram))}) | ${t.shown} |`);
    }
    await context.close();

    say();
    say(`## Live tail at ${fmt(TAIL_RATE)} lines/s for ${TAIL_SECONDS} s`);
    for (const l of await tail(browser, server.url)) say(l);

    say();
    say(`## Scrolling through ${fmt(SCROLL_ROWS)} results`);
    for (const l of await scrolling(browser, server.url, range)) say(l);
  } finally {
    await browser.close();
    await stopChild(server);
    if (prepared.cleanup !== null) fs.rmSync(prepared.cleanup, { recursive: true, force: true });
  }
  fs.writeFileSync(args.out!, `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${args.out}`);
}

await main();
