// npm run bench:query — searches and aggregations over a large store, timed as an HTTP client sees
// them, beside the same questions asked in the same run of DuckDB itself (the server's own
// database file, once the server has stopped) and of SQLite (the same records, typed columns,
// indexes on the filtered columns).
//
// A real `loghaven start` (production profile, default configuration) is loaded with --rows records
// of bench/lib/query-corpus.ts over POST /api/v1/logs, and waits until its search index has caught
// up. Then, whole time range, the cache bypassed (`Cache-Control: no-cache`), one warm-up and
// --runs timed runs of each question: top values and the hourly histogram; a needle word in 10
// records; a phrase and a prefix; two attribute conditions; the latest 100 rows and page 50 of a
// cursor while --ingest-rate lines/s of fresh records arrive; and the two heavy aggregations again
// with the cache on.
//
//   npm run bench:query -- [--rows 10000000] [--runs 5] [--data DIR] [--ingest-rate 20000]
//                          [--no-sqlite] [--only top-service,needle,...]
//
// --data DIR keeps the loaded server: a later run with the same --rows reuses it without loading
// (DIR/bench-query.json says what it holds). Results are also written to .bench/query-<time>.json.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, startChild, stopChild, type ChildServer } from '../test/helpers/child-server.js';
import { HttpPoster } from './lib/http-post.js';
import { status, waitLoaded } from './lib/loghaven-counts.js';
import { BASELINE_SQL, duckdbDirect, sqliteLoad, sqliteTimes, type Timing } from './lib/query-baselines.js';
import {
  CorpusStats,
  NEEDLE,
  NEEDLE_RECORDS,
  PHRASE,
  PREFIX,
  QueryCorpus,
  USER_ID,
  corpusEnd,
  prng,
  queryCorpusBatches,
} from './lib/query-corpus.js';
import { fmt, machine } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '5' },
    data: { type: 'string' },
    'ingest-rate': { type: 'string', default: '20000' },
    'no-sqlite': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const INGEST_RATE = Number(args['ingest-rate']);
if (!Number.isInteger(ROWS) || ROWS < 10_000) throw new Error(`--rows must be an integer of at least 10000, got ${args.rows}`);
if (!Number.isInteger(RUNS) || RUNS < 5) throw new Error(`--runs must be an integer of at least 5, got ${args.runs}`);
if (!(INGEST_RATE > 0)) throw new Error(`--ingest-rate must be positive, got ${args['ingest-rate']}`);

const SEED = 1;
const LOAD_CLIENTS = 8;
const LIVE_BATCH = 200;
const CURSOR_PAGE = 50;
const ROOT = path.resolve(import.meta.dirname, '..');
const SERVER_ENV = { LOGHAVEN_PROFILE: 'production', LOGHAVEN_LOG_LEVEL: 'warn' };
/** The key every request carries (production profile: authentication on); set at each start. */
let AUTH: Record<string, string> = {};
const NODE_ARGS = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [];
const sleep = (ms: number) => new Promise((w) => setTimeout(w, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---------------------------------------------------------------------------------------------
// The questions

type Group = 'counts' | 'needle' | 'text' | 'attrs' | 'live' | 'cached';

interface Top {
  values: { value: string | null; count: number }[];
}
interface Histogram {
  buckets: { ts: string; count: number }[];
}
interface Item {
  ts: string;
  level: string | null;
  service: string | null;
  message: string | null;
  attrs: Record<string, unknown>;
}
interface Search {
  items: Item[];
  next_cursor: string | null;
}

interface QueryDef {
  name: string;
  group: Group;
  /** The request (for the cursor: page 1's; page 50 is what is timed). */
  path: string;
  /** The q of a search, for the exact count asked of /top once, untimed. */
  q?: string;
  targetMs: number;
  /** loghaven / DuckDB at most this (counts), or DuckDB / loghaven at least this (needle). */
  vsDuckdb?: { maxRatio: number } | { minSpeedup: number };
  /** A problem with the answer, or null. */
  check: (body: unknown, expect: CorpusStats) => string | null;
}

const enc = encodeURIComponent;

function checkTop(expected: (s: CorpusStats) => Record<string, number>) {
  return (body: unknown, s: CorpusStats): string | null => {
    const want = expected(s);
    const values = (body as Top).values;
    const top = Object.entries(want).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    if (values.length !== Math.min(10, top.length)) return `${values.length} values, expected ${Math.min(10, top.length)}`;
    for (const [i, v] of values.entries()) {
      if (v.value === null || want[v.value] !== v.count) return `${v.value}: ${v.count}, expected ${v.value === null ? 0 : want[v.value] ?? 0}`;
      if (i > 0 && v.count > values[i - 1]!.count) return 'not in descending order';
    }
    const tenth = values[values.length - 1]!.count;
    if (top.length > values.length && top[values.length]![1] > tenth) return `${top[values.length]![0]} missing from the top`;
    return null;
  };
}

function checkHistogram(body: unknown, s: CorpusStats): string | null {
  const buckets = (body as Histogram).buckets;
  let total = 0;
  for (const b of buckets) {
    total += b.count;
    const hour = String(Math.floor(Date.parse(b.ts) / 3_600_000));
    if ((s.hours[hour] ?? 0) !== b.count) return `bucket ${b.ts}: ${b.count}, expected ${s.hours[hour] ?? 0}`;
  }
  if (total !== s.rows) return `${total} rows in the buckets, expected ${s.rows}`;
  return null;
}

/** A search answer: min(100, expected) items, newest first, each passing `each`. */
function checkSearch(expected: (s: CorpusStats) => number, each: (it: Item) => boolean, what: string) {
  return (body: unknown, s: CorpusStats): string | null => {
    const items = (body as Search).items;
    const want = Math.min(100, expected(s));
    if (items.length !== want) return `${items.length} items, expected ${want}`;
    for (let i = 0; i < items.length; i++) {
      if (!each(items[i]!)) return `item ${i} is not ${what}: ${JSON.stringify(items[i]).slice(0, 200)}`;
      if (i > 0 && items[i]!.ts > items[i - 1]!.ts) return `item ${i} is newer than item ${i - 1}`;
    }
    return null;
  };
}

const textOf = (it: Item) => `${it.message ?? ''} ${JSON.stringify(it.attrs)}`.toLowerCase();
const attr = (it: Item, ...p: string[]): unknown => p.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], it.attrs);

const QUERIES: QueryDef[] = [
  { name: 'top-service', group: 'counts', path: '/api/v1/logs/top?field=service', targetMs: 150, vsDuckdb: { maxRatio: 1.5 }, check: checkTop((s) => s.services) },
  { name: 'top-level', group: 'counts', path: '/api/v1/logs/top?field=level', targetMs: 150, vsDuckdb: { maxRatio: 1.5 }, check: checkTop((s) => s.levels) },
  {
    name: 'top-service-error',
    group: 'counts',
    path: `/api/v1/logs/top?field=service&q=${enc('level:error')}`,
    targetMs: 150,
    vsDuckdb: { maxRatio: 1.5 },
    check: checkTop((s) => s.errorServices),
  },
  { name: 'histogram-1h', group: 'counts', path: '/api/v1/logs/histogram?step=1h', targetMs: 150, vsDuckdb: { maxRatio: 1.5 }, check: checkHistogram },
  {
    name: 'needle',
    group: 'needle',
    path: `/api/v1/logs?q=${enc(NEEDLE.toUpperCase())}&limit=100`,
    q: NEEDLE.toUpperCase(),
    targetMs: 300,
    vsDuckdb: { minSpeedup: 5 },
    check: checkSearch((s) => s.needle, (it) => textOf(it).includes(NEEDLE), `a ${NEEDLE} record`),
  },
  {
    name: 'phrase',
    group: 'text',
    path: `/api/v1/logs?q=${enc(`"${PHRASE}"`)}&limit=100`,
    q: `"${PHRASE}"`,
    targetMs: 500,
    check: checkSearch((s) => s.phrase, (it) => textOf(it).includes(PHRASE), `a "${PHRASE}" record`),
  },
  {
    name: 'prefix',
    group: 'text',
    path: `/api/v1/logs?q=${enc(`${PREFIX}*`)}&limit=100`,
    q: `${PREFIX}*`,
    targetMs: 500,
    check: checkSearch((s) => s.prefix, (it) => textOf(it).includes(PREFIX), `a ${PREFIX}* record`),
  },
  {
    name: 'attr-status',
    group: 'attrs',
    path: `/api/v1/logs?q=${enc('attrs.http.status:>=500')}&limit=100`,
    q: 'attrs.http.status:>=500',
    targetMs: 300,
    check: checkSearch((s) => s.status5xx, (it) => Number(attr(it, 'http', 'status')) >= 500, 'a 5xx record'),
  },
  {
    name: 'attr-user',
    group: 'attrs',
    path: `/api/v1/logs?q=${enc(`user_id:${USER_ID}`)}&limit=100`,
    q: `user_id:${USER_ID}`,
    targetMs: 300,
    check: checkSearch((s) => s.user, (it) => attr(it, 'user_id') === USER_ID, `a user_id ${USER_ID} record`),
  },
  {
    name: 'latest',
    group: 'live',
    path: '/api/v1/logs?limit=100',
    targetMs: 20,
    check: checkSearch(() => 100, () => true, 'a record'),
  },
  {
    name: 'cursor-p50',
    group: 'live',
    path: '/api/v1/logs?limit=100',
    targetMs: 20,
    check: checkSearch(() => 100, () => true, 'a record'),
  },
  { name: 'cached-histogram', group: 'cached', path: '/api/v1/logs/histogram?step=1h', targetMs: 5, check: checkHistogram },
  { name: 'cached-top-service', group: 'cached', path: '/api/v1/logs/top?field=service', targetMs: 5, check: checkTop((s) => s.services) },
];

const only = args.only ? new Set(args.only.split(',').map((s) => s.trim()).filter(Boolean)) : null;
if (only) {
  const unknown = [...only].filter((n) => !QUERIES.some((q) => q.name === n));
  if (unknown.length) throw new Error(`--only: unknown ${unknown.join(', ')}; the queries are ${QUERIES.map((q) => q.name).join(', ')}`);
}
const selected = QUERIES.filter((q) => !only || only.has(q.name));

// ---------------------------------------------------------------------------------------------
// HTTP as a client sees it

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** From sending the request to the last byte of the answer. */
  ms: number;
}

/** GETs over one keep-alive connection; node:http, so the client costs little on a shared machine. */
class HttpGetter {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly url: URL;

  constructor(url: string) {
    this.url = new URL(url);
  }

  get(p: string, headers: Record<string, string> = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = http.request({ agent: this.agent, host: this.url.hostname, port: this.url.port, method: 'GET', path: p, headers: { ...AUTH, ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }),
        );
        res.on('error', reject);
      });
      req.setTimeout(300_000, () => req.destroy(new Error(`GET ${p}: no answer within 300 s`)));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

const NO_CACHE = { 'cache-control': 'no-cache' };

interface ApiResult {
  name: string;
  request: string;
  runsMs: number[];
  medianMs: number;
  /** X-Cache of every timed answer, in order ('-' when absent). */
  xCache: string[];
  /** Server-Timing of every timed answer, in order (where the server's time went). */
  serverTiming: string[];
  problems: string[];
  /** Exact match count from /top?field=tenant&q=…, untimed, with the count expected. */
  count?: { got: number | null; expected: number };
}

/**
 * One warm-up and RUNS timed requests of `request()`; the answers are checked (warm-up and every
 * timed one) and their X-Cache collected.
 */
async function measure(def: QueryDef, label: string, expect: CorpusStats, request: () => Promise<Answer>, wantCache: string): Promise<ApiResult> {
  const res: ApiResult = { name: def.name, request: label, runsMs: [], medianMs: NaN, xCache: [], serverTiming: [], problems: [] };
  const look = (a: Answer, what: string): boolean => {
    if (a.status !== 200) {
      res.problems.push(`${what}: ${a.status} ${a.body.toString().slice(0, 300)}`);
      return false;
    }
    const problem = def.check(JSON.parse(a.body.toString()), expect);
    if (problem && !res.problems.includes(problem)) res.problems.push(problem);
    return true;
  };
  try {
    if (look(await request(), 'warm-up')) {
      for (let k = 0; k < RUNS; k++) {
        const a = await request();
        res.runsMs.push(a.ms);
        res.xCache.push(String(a.headers['x-cache'] ?? '-'));
        res.serverTiming.push(String(a.headers['server-timing'] ?? '-'));
        if (!look(a, `run ${k + 1}`)) break;
      }
    }
  } catch (e) {
    res.problems.push((e as Error).message);
  }
  res.medianMs = res.runsMs.length ? median(res.runsMs) : NaN;
  const other = [...new Set(res.xCache)].filter((x) => x !== wantCache);
  const cacheNote = other.length ? `  WARNING: X-Cache ${other.map((x) => (x === '-' ? '(missing)' : x)).join(', ')}, expected ${wantCache}` : '';
  console.log(
    `  ${def.name.padEnd(19)} ${res.medianMs.toFixed(1).padStart(8)} ms  (${res.runsMs.map((m) => m.toFixed(1)).join(' · ')})` +
      `${res.problems.length ? `  PROBLEM: ${res.problems.join('; ')}` : ''}${cacheNote}`,
  );
  return res;
}

/** A plain timed question: the same request every time. */
function measureGet(get: HttpGetter, def: QueryDef, expect: CorpusStats): Promise<ApiResult> {
  const cacheOn = def.group === 'cached';
  return measure(def, `GET ${def.path}`, expect, () => get.get(def.path, cacheOn ? {} : NO_CACHE), cacheOn ? 'hit' : 'bypass');
}

/** Page CURSOR_PAGE of the newest rows: follow next_cursor to it, then ask for that page again and again. */
async function measureCursor(get: HttpGetter, def: QueryDef, expect: CorpusStats): Promise<ApiResult> {
  let cursor: string | null = null;
  for (let page = 1; page < CURSOR_PAGE; page++) {
    const a: Answer | Error = await get.get(cursor ? `${def.path}&cursor=${enc(cursor)}` : def.path, NO_CACHE).catch((e: Error) => e);
    const problem =
      a instanceof Error ? a.message : a.status !== 200 ? `${a.status} ${a.body.toString().slice(0, 300)}` : null;
    cursor = a instanceof Error || a.status !== 200 ? null : (JSON.parse(a.body.toString()) as Search).next_cursor;
    if (problem || !cursor) {
      const failed = `cursor page ${page}: ${problem ?? 'no next_cursor'}`;
      console.log(`  ${def.name.padEnd(19)} PROBLEM: ${failed}`);
      return { name: def.name, request: def.path, runsMs: [], medianMs: NaN, xCache: [], serverTiming: [], problems: [failed] };
    }
  }
  const p = `${def.path}&cursor=${enc(cursor!)}`;
  return measure(def, `GET ${def.path}&cursor=<page ${CURSOR_PAGE - 1}'s next_cursor>`, expect, () => get.get(p, NO_CACHE), 'bypass');
}

/** The exact number of matches of a search's q, from /top?field=tenant (one value: default). */
async function matchCount(get: HttpGetter, q: string): Promise<number | null> {
  const a = await get.get(`/api/v1/logs/top?field=tenant&q=${enc(q)}`, NO_CACHE).catch(() => null);
  if (a?.status !== 200) return null;
  return (JSON.parse(a.body.toString()) as Top).values.reduce((n, v) => n + v.count, 0);
}

/** Rows a baseline's answer must have, from what the table holds. */
function baselineRows(name: string, s: CorpusStats): number | null {
  const keys = (o: Record<string, number>) => Object.keys(o).length;
  const search = EXPECTED_COUNT[name];
  if (search) return Math.min(100, search(s));
  if (name === 'top-service' || name === 'cached-top-service') return Math.min(10, keys(s.services));
  if (name === 'top-level') return Math.min(10, keys(s.levels));
  if (name === 'top-service-error') return Math.min(10, keys(s.errorServices));
  if (name === 'histogram-1h' || name === 'cached-histogram') return keys(s.hours);
  if (name === 'latest' || name.startsWith('cursor-p50')) return 100;
  return null;
}

/** Prints each baseline figure, and a PROBLEM where its answer has the wrong number of rows. */
function printBaseline(t: Map<string, Timing>, names: string[], s: CorpusStats, also?: Map<string, Timing>): void {
  for (const n of names) {
    const r = t.get(n);
    const want = baselineRows(n, s);
    const bad = r && !r.error && want !== null && r.rows !== want ? `  PROBLEM: ${r.rows} rows, expected ${want}` : '';
    const other = also ? `  1GB: ${ms(also.get(n))} ms` : '';
    console.log(`  ${n.padEnd(19)} ${ms(r).padStart(8)} ms${other}  (${r?.rows ?? 0} rows)${bad}${r?.error ? `  ERROR: ${r.error}` : ''}`);
    if (bad && r) r.problem = `${r.rows} rows, expected ${want}`;
  }
}

const EXPECTED_COUNT: Record<string, (s: CorpusStats) => number> = {
  needle: (s) => s.needle,
  phrase: (s) => s.phrase,
  prefix: (s) => s.prefix,
  'attr-status': (s) => s.status5xx,
  'attr-user': (s) => s.user,
};

// ---------------------------------------------------------------------------------------------
// Loading, index, background ingest

interface FullStatus {
  store: { rows: number };
  query_index?: { pending_segments?: number };
}

async function fullStatus(url: string): Promise<FullStatus> {
  return (await (await fetch(`${url}/api/v1/status`, { headers: AUTH })).json()) as FullStatus;
}

interface LoadResult {
  stats: CorpusStats;
  /** Until the last batch was acknowledged; until the store held every row. */
  ackSeconds: number;
  loadedSeconds: number;
  /** Time the bench process spent making the records, on the same two cores. */
  generateSeconds: number;
  refused: number;
}

/** --rows records over LOAD_CLIENTS keep-alive connections, 1,000–5,000 lines a request; a 429 is resent after 50 ms. */
async function load(server: ChildServer, endMs: number): Promise<LoadResult> {
  const stats = new CorpusStats();
  const sizes = prng(SEED + 1);
  const batches = queryCorpusBatches(ROWS, () => 1000 + Math.floor(sizes() * 4001), { endMs, seed: SEED, stats });
  const client = new HttpPoster(server.url, LOAD_CLIENTS, AUTH);
  let acked = 0;
  let refused = 0;
  let generate = 0;
  const started = performance.now();
  let nextReport = started + 15_000;
  await Promise.all(
    Array.from({ length: LOAD_CLIENTS }, async () => {
      for (;;) {
        const t = performance.now();
        const b = batches.next();
        generate += performance.now() - t;
        if (b.done) return;
        for (;;) {
          const r = await client.post('/api/v1/logs', b.value.body, { 'content-type': 'application/x-ndjson' });
          if (r.status === 429) {
            refused++;
            await sleep(50);
            continue;
          }
          const accepted = r.status === 200 ? (JSON.parse(r.body.toString()) as { accepted: number }).accepted : -1;
          if (accepted !== b.value.count) throw new Error(`load: ${r.status}, ${accepted} of ${b.value.count} accepted: ${r.body.toString().slice(0, 300)}`);
          acked += accepted;
          break;
        }
        if (performance.now() > nextReport) {
          nextReport += 15_000;
          console.log(`  … ${fmt(acked)} of ${fmt(ROWS)} acknowledged after ${((performance.now() - started) / 1000).toFixed(0)} s`);
        }
      }
    }),
  );
  const ackSeconds = (performance.now() - started) / 1000;
  client.close();
  if (acked !== ROWS) throw new Error(`load: ${acked} records acknowledged, expected ${ROWS}`);
  const rows = await waitLoaded(server.url, ROWS, 600_000, server.headers);
  const loadedSeconds = (performance.now() - started) / 1000;
  if (rows !== ROWS) throw new Error(`load: the store holds ${rows} rows, expected ${ROWS}`);
  return { stats, ackSeconds, loadedSeconds, generateSeconds: generate / 1000, refused };
}

/** Until /api/v1/status says query_index.pending_segments = 0: seconds, or null without the field. */
async function waitForIndex(url: string): Promise<number | null> {
  const started = performance.now();
  let nextReport = started + 30_000;
  for (;;) {
    const s = await fullStatus(url);
    const pending = s.query_index?.pending_segments;
    if (pending === undefined) {
      console.log('  note: /api/v1/status has no query_index.pending_segments; not waiting for a search index');
      return null;
    }
    if (pending === 0) return (performance.now() - started) / 1000;
    if (performance.now() > nextReport) {
      nextReport += 30_000;
      console.log(`  … ${pending} segments still to index after ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    if (performance.now() - started > 4 * 3600_000) throw new Error(`the search index did not catch up within 4 h (${pending} pending)`);
    await sleep(250);
  }
}

interface IngestResult {
  offeredRate: number;
  acceptedRate: number;
  accepted: number;
  /** Requests not sent because LIVE_MAX_INFLIGHT were unanswered, refused (429…), or failed. */
  skipped: number;
  refused: number;
  failed: number;
  seconds: number;
  stats: CorpusStats;
}

const LIVE_MAX_INFLIGHT = 64;

/** Open loop: LIVE_BATCH-record batches of fresh records (timestamps now) at `rate` lines/s until stopped. */
function backgroundIngest(url: string, rate: number, seed: number): { stop: () => Promise<IngestResult> } {
  const corpus = new QueryCorpus({ total: Infinity, endMs: 0, seed });
  const client = new HttpPoster(url, LIVE_MAX_INFLIGHT, AUTH);
  const stats = new CorpusStats();
  const perMs = rate / LIVE_BATCH / 1000;
  const res = { accepted: 0, skipped: 0, refused: 0, failed: 0 };
  const pending = new Set<Promise<void>>();
  let stopping = false;
  let inflight = 0;
  const started = performance.now();
  const loop = (async () => {
    for (let i = 0; !stopping; i++) {
      const wait = started + i / perMs - performance.now();
      if (wait > 0) await sleep(wait);
      if (stopping) break;
      if (inflight >= LIVE_MAX_INFLIGHT) {
        res.skipped++;
        continue;
      }
      const batchStats = new CorpusStats();
      const b = corpus.batch(LIVE_BATCH, batchStats);
      inflight++;
      const p = client
        .post('/api/v1/logs', b.body, { 'content-type': 'application/x-ndjson' })
        .then(
          (r) => {
            if (r.status !== 200) return void res.refused++;
            const accepted = (JSON.parse(r.body.toString()) as { accepted: number }).accepted;
            res.accepted += accepted;
            // A partly refused batch cannot happen with these records; if it did, the counts kept for --data would be off.
            if (accepted === b.count) stats.merge(batchStats);
            else res.failed++;
          },
          () => void res.failed++,
        )
        .finally(() => {
          inflight--;
          pending.delete(p);
        });
      pending.add(p);
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      const seconds = (performance.now() - started) / 1000;
      await loop;
      await Promise.all([...pending]);
      client.close();
      return { offeredRate: rate, acceptedRate: res.accepted / seconds, seconds, stats, ...res };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Which server is measured: the compiled dist/ that `loghaven start` runs

/** Newest modification time under dist/ (ms): a rebuild during the run changes it. */
function distBuiltAt(): number {
  const dist = path.dirname(path.dirname(CLI));
  let newest = 0;
  for (const f of fs.readdirSync(dist, { recursive: true, encoding: 'utf8' })) newest = Math.max(newest, fs.statSync(path.join(dist, f)).mtimeMs);
  return newest;
}

function serverIdentity(): string {
  const git = (...a: string[]) => {
    try {
      return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const head = git('rev-parse', '--short', 'HEAD') || 'unknown commit';
  const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
  return `dist/ built ${new Date(distBuiltAt()).toISOString()}; git ${head}${dirty ? `, ${dirty} files changed or new under src/` : ''}`;
}

/** Starts the server, saying so when dist/ was rebuilt since the run began. */
async function startServer(dataDir: string, builtAt: number): Promise<ChildServer> {
  const now = distBuiltAt();
  if (now !== builtAt) console.log(`  WARNING: dist/ was rebuilt during this run (${new Date(now).toISOString()}): this server is not the one measured before`);
  const server = await startChild(dataDir, { env: SERVER_ENV, auth: true, nodeArgs: NODE_ARGS });
  AUTH = server.headers;
  return server;
}

// ---------------------------------------------------------------------------------------------
// What a --data directory holds

interface Manifest {
  version: 1;
  rows: number;
  seed: number;
  endMs: number;
  /** The loaded corpus, and what background ingest added since (runs of this benchmark). */
  corpus: unknown;
  extra: unknown;
}

const MANIFEST = 'bench-query.json';

function readManifest(dir: string): Manifest | null {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) {
    const entries = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    if (entries.length > 0) throw new Error(`--data ${dir} holds something other than this benchmark's store (no ${MANIFEST}); give an empty or new directory`);
    return null;
  }
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  if (m.version !== 1 || m.rows !== ROWS || m.seed !== SEED) {
    throw new Error(`--data ${dir} holds a store loaded with --rows ${m.rows}; use it with that, or give another directory`);
  }
  return m;
}

function writeManifest(dir: string, m: Manifest): void {
  fs.writeFileSync(path.join(dir, MANIFEST), JSON.stringify(m));
}

// ---------------------------------------------------------------------------------------------

interface Row {
  name: string;
  group: Group;
  loghaven: ApiResult | null;
  duckdb: Timing | null;
  duckdb1GB: Timing | null;
  duckdbOffset?: Timing | null;
  sqlite: Timing | null;
  sqliteOffset?: Timing | null;
  ratio: number | null;
  target: string;
  met: string;
}

function verdict(def: QueryDef, api: ApiResult | null, duck: Timing | null): { ratio: number | null; target: string; met: string } {
  const ratio = api && duck && duck.medianMs > 0 ? api.medianMs / duck.medianMs : null;
  const parts = [`≤ ${def.targetMs} ms`];
  if (def.vsDuckdb && 'maxRatio' in def.vsDuckdb) parts.push(`≤ ${def.vsDuckdb.maxRatio}× DuckDB`);
  if (def.vsDuckdb && 'minSpeedup' in def.vsDuckdb) parts.push(`≥ ${def.vsDuckdb.minSpeedup}× faster than DuckDB`);
  if (def.group === 'cached') parts.push('X-Cache hit');
  const target = parts.join(', ');
  if (!api || api.runsMs.length < RUNS) return { ratio, target, met: 'no (failed)' };
  // A count that could not be asked (null: the /top request failed) says nothing about the answer.
  if (api.problems.length || (api.count && api.count.got !== null && api.count.got !== api.count.expected)) return { ratio, target, met: 'no (wrong answer)' };
  const cacheOk = def.group === 'cached' ? api.xCache.every((x) => x === 'hit') : !api.xCache.includes('hit');
  let ok = api.medianMs <= def.targetMs && cacheOk;
  let unknown = false;
  if (def.vsDuckdb) {
    if (ratio === null) unknown = true;
    else if ('maxRatio' in def.vsDuckdb) ok &&= ratio <= def.vsDuckdb.maxRatio;
    else ok &&= 1 / ratio >= def.vsDuckdb.minSpeedup;
  }
  const met = !ok ? 'no' : unknown ? '? (no DuckDB figure)' : 'yes';
  return { ratio, target, met: cacheOk ? met : `${met} (X-Cache ${[...new Set(api.xCache)].join('/')})` };
}

function ms(t: Timing | null | undefined): string {
  if (!t) return '—';
  if (t.error) return `error: ${t.error.slice(0, 60)}`;
  return `${t.medianMs < 10 ? t.medianMs.toFixed(2) : t.medianMs.toFixed(0)}${t.problem ? ` (wrong answer: ${t.problem})` : ''}`;
}

function table(rows: Row[]): string {
  const lines = [
    '| query | loghaven median ms (runs) | DuckDB direct ms | SQLite ms | loghaven / DuckDB | target | met? |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const a = r.loghaven;
    const lh = !a || a.runsMs.length === 0 ? `failed: ${a?.problems[0]?.slice(0, 80) ?? '—'}` : `**${a.medianMs.toFixed(1)}** (${a.runsMs.map((m) => m.toFixed(1)).join(' · ')})`;
    let duck = ms(r.duckdb);
    if (r.duckdb && r.duckdb1GB && !r.duckdb.error && Math.abs(r.duckdb1GB.medianMs - r.duckdb.medianMs) / r.duckdb.medianMs > 0.25) duck += ` (1GB: ${ms(r.duckdb1GB)})`;
    let lite = ms(r.sqlite);
    if (r.duckdbOffset) duck += ` (OFFSET: ${ms(r.duckdbOffset)})`;
    if (r.sqliteOffset) lite += ` (OFFSET: ${ms(r.sqliteOffset)})`;
    const ratio = r.ratio === null ? '—' : r.ratio >= 1 ? `${r.ratio.toFixed(2)}` : `${r.ratio.toFixed(3)} (${(1 / r.ratio).toFixed(1)}× faster)`;
    lines.push(`| ${r.name} | ${lh} | ${duck} | ${lite} | ${ratio} | ${r.target} | ${r.met} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const benchStart = new Date();
  console.log(`loghaven query benchmark — ${machine()}`);
  const builtAt = distBuiltAt();
  const identity = serverIdentity();
  console.log(`server: ${identity}`);
  const keep = args.data !== undefined;
  const dataDir = keep ? path.resolve(args.data!) : fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-query-'));
  const manifest = keep ? readManifest(dataDir) : null;
  fs.mkdirSync(dataDir, { recursive: true });
  const endMs = manifest?.endMs ?? corpusEnd(benchStart.getTime());
  const report: Record<string, unknown> = {
    machine: machine(),
    server: identity,
    started: benchStart.toISOString(),
    args: { rows: ROWS, runs: RUNS, data: keep ? dataDir : null, ingestRate: INGEST_RATE, sqlite: !args['no-sqlite'], only: args.only ?? null },
    corpusEnd: new Date(endMs).toISOString(),
  };
  let server: ChildServer | undefined = await startServer(dataDir, builtAt);
  let corpus: CorpusStats;
  let extra = new CorpusStats();
  const results = new Map<string, ApiResult>();
  let ingest: IngestResult | null = null;
  try {
    if (manifest) {
      corpus = CorpusStats.fromJSON(manifest.corpus);
      extra = CorpusStats.fromJSON(manifest.extra);
      const s = await status(server.url);
      if (s.store.rows !== corpus.rows + extra.rows) {
        throw new Error(`--data ${dataDir}: the store holds ${s.store.rows} rows, ${MANIFEST} says ${corpus.rows} + ${extra.rows}; give another directory`);
      }
      console.log(`reusing ${dataDir}: ${fmt(corpus.rows)} corpus rows + ${fmt(extra.rows)} added by earlier runs' background ingest (corpus ends ${new Date(endMs).toISOString()})`);
      report.load = { reused: true };
    } else {
      console.log(`loading ${fmt(ROWS)} records over POST /api/v1/logs (${LOAD_CLIENTS} keep-alive clients, 1,000–5,000 lines a request, NDJSON)`);
      const l = await load(server, endMs);
      corpus = l.stats;
      console.log(
        `  loaded: ${fmt(ROWS)} records, ${(corpus.bytes / 2 ** 20).toFixed(0)} MB of NDJSON (${corpus.minLineBytes}–${corpus.maxLineBytes} bytes, mean ${(corpus.bytes / corpus.rows - 1).toFixed(0)}), ` +
          `acknowledged in ${l.ackSeconds.toFixed(1)} s = ${fmt(ROWS / l.ackSeconds)} records/s, all in the store after ${l.loadedSeconds.toFixed(1)} s ` +
          `= ${fmt(ROWS / l.loadedSeconds)} records/s; ${fmt(l.refused)} × 429; the bench process spent ${l.generateSeconds.toFixed(1)} s of it making the records`,
      );
      report.load = { reused: false, ackSeconds: l.ackSeconds, loadedSeconds: l.loadedSeconds, generateSeconds: l.generateSeconds, refused429: l.refused, ndjsonBytes: corpus.bytes };
      if (keep) writeManifest(dataDir, { version: 1, rows: ROWS, seed: SEED, endMs, corpus, extra });
    }
    const expect = CorpusStats.fromJSON(JSON.parse(JSON.stringify(corpus)));
    expect.merge(CorpusStats.fromJSON(JSON.parse(JSON.stringify(extra))));
    const levels = Object.entries(corpus.levels).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${((n / corpus.rows) * 100).toFixed(1)} %`);
    console.log(
      `corpus: ${fmt(corpus.rows)} rows over 3 days to ${new Date(endMs).toISOString()}; ${levels.join(', ')}; ` +
        `needle ${corpus.needle}, "${PHRASE}" ${fmt(corpus.phrase)}, ${PREFIX}* ${fmt(corpus.prefix)}, 5xx ${fmt(corpus.status5xx)}, user_id ${USER_ID} ${corpus.user}`,
    );
    if (corpus.needle !== NEEDLE_RECORDS) throw new Error(`the corpus holds ${corpus.needle} needle records, expected ${NEEDLE_RECORDS}`);
    const indexSeconds = await waitForIndex(server.url);
    if (indexSeconds !== null) console.log(`search index caught up ${indexSeconds.toFixed(1)} s after the load`);
    report.indexSeconds = indexSeconds;

    // 1–4 and 6: nothing else running.
    const get = new HttpGetter(server.url);
    const still = selected.filter((q) => q.group !== 'live' && q.group !== 'cached');
    if (still.length) console.log(`\ntimed from this process, ${RUNS} runs after a warm-up, Cache-Control: no-cache, whole time range:`);
    for (const def of still) {
      const r = await measureGet(get, def, expect);
      const countOf = EXPECTED_COUNT[def.name];
      if (def.q && countOf) {
        r.count = { got: await matchCount(get, def.q), expected: countOf(expect) };
        if (r.count.got === null) console.log(`    note: the count of ${def.q} (/top?field=tenant) failed`);
        else if (r.count.got !== r.count.expected) console.log(`    PROBLEM: ${def.q} matches ${r.count.got} rows (/top?field=tenant), expected ${r.count.expected}`);
      }
      results.set(def.name, r);
    }
    const cached = selected.filter((q) => q.group === 'cached');
    if (cached.length) console.log(`\ncache on (no Cache-Control header): one request to fill, then a warm-up and ${RUNS} runs:`);
    for (const def of cached) {
      await get.get(def.path);
      results.set(def.name, await measureGet(get, def, expect));
    }
    get.close();

    // DuckDB on the very table those questions were asked of.
    const rowsAsked = (await status(server.url, server.headers)).store.rows;
    await stopChild(server);
    server = undefined;
    const dbFile = path.join(dataDir, 'loghaven.duckdb');
    const duckNames = selected.flatMap((q) => (q.name === 'cursor-p50' ? [q.name, 'cursor-p50-offset'] : [q.name])).filter((n) => BASELINE_SQL[n]);
    console.log(`\nDuckDB directly on ${dbFile} (${fmt(rowsAsked)} rows; read-only, 2 threads, memory_limit 48MB, then 1GB):`);
    const duck = await duckdbDirect(dbFile, duckNames, { runs: RUNS, memoryLimit: '48MB', threads: 2 });
    const duck1GB = await duckdbDirect(dbFile, duckNames, { runs: RUNS, memoryLimit: '1GB', threads: 2 });
    printBaseline(duck, duckNames, expect, duck1GB);

    // 5: the latest rows and a cursor page while fresh records arrive.
    const live = selected.filter((q) => q.group === 'live');
    if (live.length) {
      console.log('\nrestarting the server for the questions asked during ingest');
      server = await startServer(dataDir, builtAt);
      const again = await waitForIndex(server.url);
      if (again !== null) console.log(`  search index ready ${again.toFixed(1)} s after the start`);
      console.log(`\nwhile ${fmt(INGEST_RATE)} lines/s of fresh records arrive (${LIVE_BATCH}-line batches, open loop, from this process):`);
      const bg = backgroundIngest(server.url, INGEST_RATE, SEED + 1000 + Math.floor(Math.random() * 1000));
      await sleep(2000);
      const liveGet = new HttpGetter(server.url);
      for (const def of live) {
        results.set(def.name, def.name === 'cursor-p50' ? await measureCursor(liveGet, def, expect) : await measureGet(liveGet, def, expect));
      }
      // How fresh the newest row was, as a reader saw it.
      const newest = await liveGet.get('/api/v1/logs?limit=1', NO_CACHE);
      const newestTs = (JSON.parse(newest.body.toString()) as Search).items[0]?.ts;
      liveGet.close();
      ingest = await bg.stop();
      console.log(
        `  background ingest: ${fmt(ingest.acceptedRate)} lines/s accepted of ${fmt(ingest.offeredRate)} offered over ${ingest.seconds.toFixed(1)} s` +
          ` (${ingest.refused} requests refused, ${ingest.skipped} not sent: ${LIVE_MAX_INFLIGHT} unanswered, ${ingest.failed} failed);` +
          ` newest row seen by a search ${newestTs ? ((Date.now() - Date.parse(newestTs)) / 1000).toFixed(1) : '?'} s old`,
      );
      extra.merge(ingest.stats);
      await stopChild(server);
      server = undefined;
      if (keep) {
        if (ingest.failed > 0) fs.rmSync(path.join(dataDir, MANIFEST), { force: true });
        else writeManifest(dataDir, { version: 1, rows: ROWS, seed: SEED, endMs, corpus, extra });
      }
      report.ingest = ingest;
    }

    // SQLite: the same records, same order.
    let lite: Map<string, Timing> | null = null;
    if (!args['no-sqlite']) {
      console.log(`\nSQLite (better-sqlite3, WAL): loading the same ${fmt(ROWS)} records…`);
      const store = sqliteLoad({ rows: ROWS, endMs, seed: SEED });
      try {
        console.log(
          `  inserted in ${store.insertSeconds.toFixed(1)} s = ${fmt(ROWS / store.insertSeconds)} rows/s (10,000-row transactions; making the records took another ` +
            `${store.generateSeconds.toFixed(1)} s), indexes + ANALYZE ${store.indexSeconds.toFixed(1)} s; ${(store.bytes / 2 ** 20).toFixed(0)} MB`,
        );
        report.sqliteLoad = { insertSeconds: store.insertSeconds, generateSeconds: store.generateSeconds, indexSeconds: store.indexSeconds, bytes: store.bytes };
        lite = sqliteTimes(store, duckNames, RUNS);
        printBaseline(lite, duckNames, corpus);
      } finally {
        store.close();
      }
    }

    const rows: Row[] = selected.map((def) => {
      const api = results.get(def.name) ?? null;
      const d = duck.get(def.name) ?? null;
      const v = verdict(def, api, d);
      return {
        name: def.name,
        group: def.group,
        loghaven: api,
        duckdb: d,
        duckdb1GB: duck1GB.get(def.name) ?? null,
        duckdbOffset: def.name === 'cursor-p50' ? duck.get('cursor-p50-offset') ?? null : undefined,
        sqlite: lite?.get(def.name) ?? null,
        sqliteOffset: def.name === 'cursor-p50' ? lite?.get('cursor-p50-offset') ?? null : undefined,
        ...v,
      };
    });
    console.log(`\n${machine()}; server ${identity}`);
    console.log(`${fmt(rowsAsked)} rows; runs: ${RUNS} after a warm-up; times in ms, medians`);
    if (distBuiltAt() !== builtAt) console.log('WARNING: dist/ was rebuilt during this run; the figures may come from two different servers');
    const l = report.load as { reused: boolean; ackSeconds: number; loadedSeconds: number };
    const idx = indexSeconds === null ? 'no query_index in /api/v1/status' : `caught up ${indexSeconds.toFixed(1)} s after the load`;
    console.log(`${l.reused ? `load: reused ${dataDir}` : `load: ${fmt(ROWS / l.loadedSeconds)} records/s (${fmt(ROWS)} in ${l.loadedSeconds.toFixed(1)} s)`}; search index: ${idx}`);
    if (ingest) console.log(`latest and cursor-p50 measured during background ingest (${fmt(ingest.acceptedRate)} lines/s achieved); DuckDB and SQLite without it`);
    console.log(`\n${table(rows)}\n`);
    const warned = rows.filter((r) => r.loghaven && r.loghaven.xCache.some((x) => x !== (r.group === 'cached' ? 'hit' : 'bypass')));
    if (warned.length) console.log(`X-Cache not as expected for: ${warned.map((r) => `${r.name} (${[...new Set(r.loghaven!.xCache)].join('/')})`).join(', ')}`);
    report.rows = rowsAsked;
    report.results = rows;
    const outDir = path.join(ROOT, '.bench');
    fs.mkdirSync(outDir, { recursive: true });
    const out = path.join(outDir, `query-${benchStart.toISOString().slice(0, 19).replace(/:/g, '')}.json`);
    fs.writeFileSync(out, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v), 2));
    console.log(`results: ${path.relative(process.cwd(), out)}`);
  } finally {
    if (server && server.proc.exitCode === null) {
      server.proc.kill('SIGKILL');
      await server.exited;
    }
    if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
