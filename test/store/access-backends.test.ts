// Access-log analytics on PostgreSQL answer as they do on DuckDB: the same access records (ALB
// lines of the benchmark's generator, AWS's examples, the awkward lines of access-table.test.ts,
// combined and common lines, two tenants) loaded into both, in the same batches, give the same
// typed access_logs rows and the same answer to every question — summary, hourly, URLs, errors,
// sessions, flows, funnel — over whole hours (the aggregates) and other windows and filters (a
// scan). Also on PostgreSQL: values the fast typing cannot take, a replayed segment, loads
// merging into one row per key, `db maintain`, retention and restore, and `db migrate`.
//
// Where the answers may differ, and by how much:
// - `avg` latencies and durations: sums of doubles added in another order can differ in the last
//   bits, which can move a value rounded to 3 decimals by 0.001 (within 0.001 here);
// - estimateSessions: DuckDB's approx_count_distinct (a HyperLogLog, 10-15 % off on a few hundred
//   pairs) against PostgreSQL's exact count (within 20 %; and checked exactly against the records);
// - a sampled analysis: each backend picks clients by its own hash, so only each backend's
//   answer against the truth is checked (access-analytics.test.ts does so on DuckDB).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAlbLines } from '../../bench/access-gen.js';
import { accessRecord, type LineFormat } from '../../src/ingest/access/records.js';
import type { LogRecord } from '../../src/model/record.js';
import { formatMicros } from '../../src/model/record.js';
import { parseQuery } from '../../src/query/parser.js';
import type { AccessAnalytics, AccessSelection } from '../../src/store/access.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { migrateDuckDbToPostgres } from '../../src/store/migrate.js';
import type { PostgresStore } from '../../src/store/postgres/pg-store.js';
import { rowsOf } from '../../src/store/row-format.js';
import type { Store } from '../../src/store/store.js';
import { PG_URL, dropPgSchemas, openPgStore, pgSchema, postgresFor, withPgSchema } from '../helpers/postgres.js';

const available = await postgresFor('the access analytics comparison of DuckDB and PostgreSQL');

const START = new Date('2026-11-01T00:00:00Z');
const START_US = BigInt(START.getTime()) * 1000n;
const HOUR = 3_600_000_000n;
const DAY = 24n * HOUR;
const FUNNEL = ['/', '/products', '/products/{id}', '/cart'];

const AWS_EXAMPLES = fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/alb/aws-doc-examples.log'), 'utf8').split('\n').filter(Boolean);
const TAIL = `arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/t/1 "Root=1-1" "api.example.com" "arn:aws:acm:x" 3 2024-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.1.2:50051" "200" "-" "-"`;
const SPECIAL = [
  `https 2024-07-02T22:23:00.186641Z app/lb/1 2001:db8:85a3::8a2e:370:7334:51234 10.0.0.1:443 -1 -1 -1 460 - 120 0 "GET https://shop.example.com:443/a b/c?x=1 y HTTP/1.1" "Mozilla/5.0 caf\\xC3\\xA9" TLS_AES_128_GCM_SHA256 TLSv1.3 ${TAIL}`,
  `http 2024-07-02T22:23:01.000000Z app/lb/1 198.51.100.7:40000 - -1 -1 -1 400 - 0 272 "- - - " "-" - - - "-" "-" "-" - - "-" "-" "-" "-" "-" "-" "-"`,
  `h2 2024-07-02T22:23:02.000000Z app/lb/1 10.0.0.9:5000 10.0.1.2:50051 0.000 0.012 0.000 200 200 96 210 "POST https://api.example.com:443/helloworld.Greeter/SayHello HTTP/2.0" "grpc-node/1.24.2" TLS_AES_128_GCM_SHA256 TLSv1.3 ${TAIL} TID_0a1b2c3d4e5f`,
  `https 2024-07-02T22:23:03.000000Z app/lb/1 203.0.113.5:1111 - -1 -1 -1 403 - 310 412 "GET https://www.example.com:443/admin HTTP/1.1" "sqlmap/1.7" TLS_AES_128_GCM_SHA256 TLSv1.3 - "Root=1-6" "www.example.com" "arn:aws:acm:x" 0 2024-07-02T22:22:48.364000Z "waf" "-" "-" "-" "-" "-" "-" TID_ff "-" "-" "-"`,
  `https 2024-07-02T22:23:04.000000Z app/lb/1 203.0.113.5:1111 10.0.0.1:80 0.001 0.002 0.000 200 200 1 2 "GET https://old.example.com:443/v1/users/12345/x HTTP/1.1" "ua" c p ${TAIL} TID_01 "new.example.com" "/v2/x" "TransformSuccess" "something new" 42`,
  // A request_creation_time that is no time at all, and a status past a smallint.
  `https 2024-07-02T22:23:05.000000Z app/lb/1 203.0.113.6:1111 10.0.0.1:80 0.001 0.002 0.000 200 200 1 2 "GET https://www.example.com:443/x HTTP/1.1" "ua" c p arn:t "Root=1-7" "www.example.com" "arn:x" 1 not-a-time "forward" "-" "-" "10.0.0.1:80" "200" "-" "-"`,
];
const COMBINED = [
  `203.0.113.9 - alice [10/Oct/2026:13:55:36 +0000] "GET /shop/items/1234?ref=a HTTP/1.1" 404 - "https://example.com/" "curl/8"`,
  `203.0.113.9 - - [10/Oct/2026:13:56:00 +0000] "GET /shop/items/99 HTTP/1.1" 200 5120 "-" "curl/8"`,
  `198.51.100.1 - - [10/Oct/2026:14:10:00 +0000] "POST /api/v1/orders HTTP/1.1" 500 12 "-" "python-requests/2"`,
];
const COMMON = [`198.51.100.2 - - [10/Oct/2026:13:55:36 +0000] "GET /a HTTP/1.0" 200 512`, `198.51.100.2 - bob [10/Oct/2026:13:57:00 +0000] "GET /b/77 HTTP/1.0" 304 -`];

function records(lines: string[], format: LineFormat, tenant = 'default'): LogRecord[] {
  return lines.map((l) => {
    const r = accessRecord(l, format, { tenant, receivedAt: 0n });
    if (!r.ok) throw new Error(`${r.reason}: ${l}`);
    return r.record;
  });
}

/** Both stores, given the same batches in the same order (so the same sequence numbers). */
async function appendBoth(stores: Store[], batches: LogRecord[][]): Promise<void> {
  for (const b of batches) for (const s of stores) await s.append(rowsOf(b));
}

function batchesOf<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

type Json = Record<string, unknown>;

/** JSON-like copy: bigints as strings, so answers compare with toEqual. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)));
}

/**
 * Expects two answers equal, but for `avg` fields (sums of doubles in another order): within
 * 0.001, the last digit of a value rounded to 3 decimals.
 */
function expectAlike(got: unknown, want: unknown, what: string): void {
  const avgs: [string, unknown, unknown][] = [];
  const strip = (a: unknown, b: unknown, at: string): [unknown, unknown] => {
    if (Array.isArray(a) && Array.isArray(b)) {
      const pairs = a.map((x, i) => strip(x, b[i], `${at}[${i}]`));
      return [pairs.map((p) => p[0]), [...pairs.map((p) => p[1]), ...b.slice(a.length)]];
    }
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
      const x: Json = {};
      const y: Json = { ...(b as Json) };
      for (const [k, v] of Object.entries(a as Json)) {
        if (k === 'avg') {
          avgs.push([`${at}.avg`, v, y.avg]);
          delete y.avg;
          continue;
        }
        [x[k], y[k]] = strip(v, (b as Json)[k], `${at}.${k}`);
      }
      return [x, y];
    }
    return [a, b];
  };
  const [g, w] = strip(plain(got), plain(want), what);
  expect(g, what).toEqual(w);
  for (const [at, a, b] of avgs) {
    if (a === null || b === null) expect(a, at).toBe(b);
    else expect(Math.abs((a as number) - (b as number)), `${at}: ${a} vs ${b}`).toBeLessThanOrEqual(0.001 + 1e-9);
  }
}

/** Every question of `sel`, asked of both, answered alike. */
async function expectSameAnswers(pgA: AccessAnalytics, duckA: AccessAnalytics, sel: AccessSelection, what: string): Promise<void> {
  const gap = 30n * 60_000_000n;
  const asks: [string, (a: AccessAnalytics) => Promise<unknown>][] = [
    ['summary', (a) => a.summary(sel)],
    ['hourly', (a) => a.hourly(sel)],
    ['urls', (a) => a.urls(sel, 1000)],
    ['urls top 5', (a) => a.urls(sel, 5)],
    ['errors', (a) => a.errors(sel, 1000)],
    ['errors top 3', (a) => a.errors(sel, 3)],
    ['sessions', (a) => a.sessions(sel, { gapMicros: gap, sampleRate: 1 }, 20)],
    ['sessions, 5 min gap', (a) => a.sessions(sel, { gapMicros: 5n * 60_000_000n, sampleRate: 1 }, 1000)],
    ['flows n=3', (a) => a.flows(sel, { gapMicros: gap, sampleRate: 1, n: 3, limit: 50 })],
    ['flows n=2, all', (a) => a.flows(sel, { gapMicros: gap, sampleRate: 1, n: 2, limit: 100_000 })],
    ['funnel', (a) => a.funnel(sel, { gapMicros: gap, sampleRate: 1, steps: FUNNEL })],
    ['funnel, a step twice', (a) => a.funnel(sel, { gapMicros: gap, sampleRate: 1, steps: ['/products', '/products/{id}', '/products'] })],
  ];
  for (const [name, ask] of asks) expectAlike(await ask(pgA), await ask(duckA), `${what}: ${name}`);
  const [pe, de] = [await pgA.estimateSessions(sel, gap), await duckA.estimateSessions(sel, gap)];
  expect(Math.abs(pe - de), `${what}: estimateSessions ${pe} vs ${de}`).toBeLessThanOrEqual(Math.max(3, 0.2 * pe));
}

/** access_logs rows as comparable values: times as text, numbers as numbers, by seq. */
async function pgAccessRows(schema: string): Promise<Json[]> {
  return withPgSchema(schema, async (c) => {
    const r = await c.query(`SELECT *, to_char(request_creation_time, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS request_creation_time FROM access_logs ORDER BY seq`);
    return r.rows.map((row: Json) => comparable({ ...row, ts: formatMicros(BigInt(row.ts as string)) }));
  });
}

async function duckAccessRows(file: string): Promise<Json[]> {
  const db = await DuckDBInstance.create(file);
  const conn = await db.connect();
  try {
    const r = await conn.runAndReadAll(
      `SELECT * EXCLUDE (ts, request_creation_time), strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts,
         strftime(request_creation_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS request_creation_time FROM access_logs ORDER BY seq`,
    );
    return (r.getRowObjectsJS() as Json[]).map(comparable);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

function comparable(row: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'bigint' || (k === 'seq' && typeof v === 'string') ? Number(v) : k === 'received_bytes' || k === 'sent_bytes' ? (v === null ? null : Number(v)) : v;
  return out;
}

function openDuck(file: string): Promise<DuckDbStore> {
  const dir = path.dirname(file);
  return DuckDbStore.open({ file, threads: 1, memoryLimit: '256MB', indexDir: path.join(dir, 'index'), loadDir: path.join(dir, 'load') });
}

describe.runIf(available)('access analytics: PostgreSQL answers as DuckDB does', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-access-backends-'));
  let n = 0;
  const duckFile = () => {
    const d = path.join(root, `duck-${++n}`);
    fs.mkdirSync(d);
    return path.join(d, 'loghaven.duckdb');
  };

  afterAll(async () => {
    await dropPgSchemas();
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe('the same records in both', () => {
    let pgStore: PostgresStore;
    let duck: DuckDbStore;
    let file: string;
    let schema: string;
    let stored: LogRecord[] = [];

    beforeAll(async () => {
      schema = pgSchema();
      pgStore = await openPgStore(schema);
      await pgStore.migrate();
      file = duckFile();
      duck = await openDuck(file);
      await duck.migrate();
      const generated = records([...generateAlbLines({ lines: 4000, clients: 120, hours: 6, seed: 11, start: START, malformedEvery: 0 })], 'alb');
      const acme = records([...generateAlbLines({ lines: 600, clients: 20, hours: 3, seed: 5, start: START, malformedEvery: 0 })], 'alb', 'acme');
      const odd = [...records([...AWS_EXAMPLES, ...SPECIAL], 'alb'), ...records(COMBINED, 'combined'), ...records(COMMON, 'common')];
      // Batches of several sizes, so aggregate rows take in many loads.
      const batches = [...batchesOf(generated, 700), acme, odd, ...batchesOf(generated.slice(0, 50), 7).map((b) => b.map((r) => ({ ...r, ts: r.ts + 6n * HOUR })))];
      stored = batches.flat();
      await appendBoth([pgStore, duck], batches);
    }, 180_000);

    afterAll(async () => {
      await pgStore?.close();
      await duck?.close();
    });

    const selections: [string, () => AccessSelection][] = [
      ['everything', () => ({ tenant: 'default' })],
      ['whole hours', () => ({ tenant: 'default', from: START_US + HOUR, to: START_US + 4n * HOUR })],
      ['from only', () => ({ tenant: 'default', from: START_US + 2n * HOUR })],
      ['a window of parts of hours', () => ({ tenant: 'default', from: START_US + HOUR + HOUR / 2n, to: START_US + 3n * HOUR + (3n * HOUR) / 4n })],
      ['5xx', () => ({ tenant: 'default', query: parseQuery('status:>=500') })],
      ['API paths', () => ({ tenant: 'default', query: parseQuery('path:/api/*') })],
      ['free text and OR', () => ({ tenant: 'default', query: parseQuery('checkout OR method:POST') })],
      ['NOT and a time', () => ({ tenant: 'default', query: parseQuery('NOT status:200 ts:>=2026-11-01T02:00:00Z') })],
      ['a regex on the user agent', () => ({ tenant: 'default', query: parseQuery('user_agent:/[Bb]ot/') })],
      ['numbers, a status prefix and a time field', () => ({ tenant: 'default', query: parseQuery('latency_ms:>100 OR status:4* OR request_creation_time:<2026-11-01T01:00:00Z') })],
      ['the other tenant', () => ({ tenant: 'acme' })],
      ['a tenant without rows', () => ({ tenant: 'nobody' })],
      ['an empty window', () => ({ tenant: 'default', from: START_US + 30n * DAY, to: START_US + 31n * DAY })],
    ];

    it('types every field of every record into the same access_logs row', async () => {
      const pgRows = await pgAccessRows(schema);
      await duck.close();
      const duckRows = await duckAccessRows(file);
      duck = await openDuck(file);
      expect(pgRows.length).toBe(duckRows.length);
      expect(pgRows.length).toBeGreaterThan(4600);
      for (let i = 0; i < pgRows.length; i++) expect(pgRows[i], `seq ${String(duckRows[i]!.seq)}`).toEqual(duckRows[i]);
    });

    for (const [what, sel] of selections) {
      it(`answers every question alike: ${what}`, async () => {
        await expectSameAnswers(pgStore.access, duck.access, sel(), what);
      }, 60_000);
    }

    it('estimates sessions by the exact count of distinct (client, gap-long slot) pairs', async () => {
      const gap = 30n * 60_000_000n;
      const pairs = new Set<string>();
      for (const r of stored.filter((x) => x.tenant === 'default')) {
        const a = JSON.parse(r.attrs) as Record<string, string | undefined>;
        if (a.url_pattern === undefined) continue;
        pairs.add(`${a.conn_trace_id ?? `${a.client_ip}\u0001${a.user_agent ?? ''}`}|${r.ts / gap}`);
      }
      expect(await pgStore.access.estimateSessions({ tenant: 'default' }, gap)).toBe(pairs.size);
    });

    it('reads whole hours from the aggregates and anything else from the rows, as DuckDB does', async () => {
      for (const [what, sel] of selections) {
        expect((await pgStore.access.summary(sel())).source, what).toBe((await duck.access.summary(sel())).source);
      }
    });

    it('samples clients by a hash of their key: the same rate, the same sample', async () => {
      const sel = { tenant: 'default' };
      const opts = { gapMicros: 30n * 60_000_000n, sampleRate: 0.3 };
      const all = await pgStore.access.sessions(sel, { ...opts, sampleRate: 1 }, 10);
      const sampled = await pgStore.access.sessions(sel, opts, 10);
      expect(sampled.sessions).toBeLessThan(all.sessions);
      // Clients, not sessions, are sampled: a generous bound of the sampling error.
      expect(Math.abs(sampled.sessions / opts.sampleRate - all.sessions)).toBeLessThan(0.35 * all.sessions);
      expect(await pgStore.access.sessions(sel, opts, 10)).toEqual(sampled);
    });

    it('rebuilds the aggregates (db maintain) to the same figures', async () => {
      const sel = { tenant: 'default' };
      const before = await Promise.all([pgStore.access.summary(sel), pgStore.access.hourly(sel), pgStore.access.urls(sel, 100), pgStore.access.errors(sel, 100)]);
      const rebuilt = await pgStore.access.rebuildAggregates();
      expect(rebuilt.rows).toBe((await duck.access.rebuildAggregates()).rows);
      const after = await Promise.all([pgStore.access.summary(sel), pgStore.access.hourly(sel), pgStore.access.urls(sel, 100), pgStore.access.errors(sel, 100)]);
      expectAlike(after, before, 'after the rebuild');
    });
  });

  describe('on PostgreSQL alone', () => {
    let pgStore: PostgresStore;
    let schema: string;

    beforeAll(async () => {
      schema = pgSchema();
      pgStore = await openPgStore(schema);
      await pgStore.migrate();
    });

    afterAll(async () => {
      await pgStore?.close();
    });

    it('types a record the fast way cannot (wrong kinds, ranges, dates, U+0000) as DuckDB does: what it cannot read is NULL', async () => {
      const file = duckFile();
      const duck = await openDuck(file);
      const twin = pgSchema();
      const pgTwin = await openPgStore(twin);
      try {
        await duck.migrate();
        await pgTwin.migrate();
        const base = records([AWS_EXAMPLES[0]!], 'alb')[0]!;
        const odd = (attrs: Json, i: number): LogRecord => ({ ...base, ts: base.ts + BigInt(i), attrs: JSON.stringify(attrs) });
        const batch = [
          base,
          odd({ client_ip: '10.0.0.1', client_port: 'abc', target_port: 1.7, elb_status_code: 99999, status: '404', received_bytes: '12', request_processing_time: 'x', target_processing_time: 0.5, response_processing_time: 0, request_creation_time: '2024-02-31T00:00:00Z', extra: 'not a list', method: 'GET', url_pattern: '/x', matched_rule_priority: 12345678901 }, 1),
          odd({ client_ip: '10.0.0.2', request_processing_time: '0.25', target_processing_time: '0.5', response_processing_time: 1e-3, extra: [1, 'two', null], url_pattern: '/y', request_creation_time: '2024-02-28 10:00:00' }, 2),
          odd({ client_ip: '10.0.0.3', nested: { a: [1, 2] }, elb: { not: 'text' }, url_pattern: '/z' }, 3),
        ];
        await appendBoth([pgTwin, duck], [batch]);
        await duck.close();
        const [pgRows, duckRows] = [await pgAccessRows(twin), await duckAccessRows(file)];
        expect(pgRows).toHaveLength(4);
        // A JSON object where text was expected: DuckDB writes it back minified, PostgreSQL as it came (equal here).
        expect(pgRows).toEqual(duckRows);
        expect(pgRows[1]).toMatchObject({ client_port: null, target_port: 2, status: 404, elb_status_code: null, latency_ms: null, request_creation_time: null, extra: null, matched_rule_priority: null });
        expect(pgRows[2]).toMatchObject({ latency_ms: 751, extra: ['1', 'two', null], request_creation_time: '2024-02-28T10:00:00.000000Z' });

        // U+0000, which PostgreSQL text cannot hold, becomes U+FFFD (DuckDB keeps it).
        await pgTwin.append(rowsOf([odd({ client_ip: '10.0.0.4', user_agent: 'a\u0000b', url_pattern: '/n' }, 4)]));
        const [last] = (await pgAccessRows(twin)).slice(-1);
        expect(last).toMatchObject({ client_ip: '10.0.0.4', user_agent: 'a\uFFFDb' });
      } finally {
        await pgTwin.close();
        await duck.close();
      }
    });

    it('adds a replayed segment once, and keeps one aggregate row per key however many loads add to it', async () => {
      const lines = [...AWS_EXAMPLES, ...SPECIAL];
      const file = path.join(root, 'segment.tsv');
      fs.writeFileSync(file, rowsOf(records(lines, 'alb')).bytes);
      await pgStore.loadSegment(file, 1n);
      await pgStore.loadSegment(file, 1n);
      expect((await pgStore.access.summary({ tenant: 'default' })).summary.requests).toBe(lines.length);
      // Twenty more loads into the hour of SPECIAL's lines: still one row for it, which counts them all.
      for (let i = 0; i < 20; i++) await pgStore.append(rowsOf(records([SPECIAL[i % SPECIAL.length]!], 'alb')));
      const hour = BigInt(Date.parse('2024-07-02T22:00:00Z')) * 1000n;
      const rows = await withPgSchema(schema, async (c) => (await c.query('SELECT requests::int AS n FROM access_hourly WHERE hour = $1', [hour])).rows);
      expect(rows).toEqual([{ n: SPECIAL.length + 20 }]);
      expect((await pgStore.access.summary({ tenant: 'default' })).summary.requests).toBe(lines.length + 20);
    });

    it('leaves a load without access records alone', async () => {
      const before = await pgStore.access.summary({ tenant: 'default' });
      await pgStore.append(rowsOf([{ ...records([AWS_EXAMPLES[0]!], 'alb')[0]!, category: 'app', source: null }]));
      expect(await pgStore.access.summary({ tenant: 'default' })).toEqual(before);
    });

    it('migration 2 types and aggregates the access records a database of version 1 holds', async () => {
      const sel = { tenant: 'default' };
      const ask = () => Promise.all([pgStore.access.summary(sel), pgStore.access.urls(sel, 100), pgStore.access.errors(sel, 100), pgStore.access.sessions(sel, { gapMicros: 1_800_000_000n, sampleRate: 1 }, 20)]);
      const before = await ask();
      expect(before[0].summary.requests).toBeGreaterThan(0);
      // Back to version 1, the access records still in logs.
      await withPgSchema(schema, async (c) => {
        await c.query('DROP TABLE access_logs, access_hourly, access_hourly_latency, access_url_hourly, access_url_latency, access_client_hourly, access_error_hourly');
        await c.query('DROP FUNCTION access_attrs, access_whole, access_double, access_timestamp, access_text_array, access_round6');
        await c.query('DELETE FROM schema_migrations WHERE version = 2');
      });
      expect(await pgStore.migrate()).toEqual([2]);
      expectAlike(await ask(), before, 'after migration 2');
    });
  });

  it('expires and restores access rows and aggregates as DuckDB does', async () => {
    const schema = pgSchema();
    const pgStore = await openPgStore(schema);
    const file = duckFile();
    const duck = await openDuck(file);
    try {
      await pgStore.migrate();
      await duck.migrate();
      // Two days; on the first, the expiry takes the info-level (2xx, 3xx) requests only.
      const day1 = records([...generateAlbLines({ lines: 800, clients: 40, hours: 20, seed: 3, start: START, malformedEvery: 0 })], 'alb');
      const day2 = records([...generateAlbLines({ lines: 400, clients: 30, hours: 10, seed: 4, start: new Date(START.getTime() + 86_400_000), malformedEvery: 0 })], 'alb');
      await appendBoth([pgStore, duck], [day1.filter((r) => r.ts < START_US + DAY), day2]);
      const all = { tenant: 'default' };
      await expectSameAnswers(pgStore.access, duck.access, all, 'before the expiry');
      const before = await pgStore.access.summary(all);

      // Each store's own archive of the first day, to bring it back after the expiry.
      const day = { tenant: 'default', from: START_US, to: START_US + DAY };
      const archives = { pg: path.join(root, 'pg-day1.parquet'), duck: path.join(root, 'duck-day1.parquet') };
      await pgStore.writeDayParquet({ ...day, file: archives.pg });
      await duck.writeDayParquet({ ...day, file: archives.duck });
      const plan = { rules: [{ match: { level: 'info' }, before: START_US + DAY }], defaultBefore: null };
      const deleted = await pgStore.expire(plan, [{ tenant: 'default', day: '2026-11-01' }]);
      expect(deleted).toBe(await duck.expire(plan, [{ tenant: 'default', day: '2026-11-01' }]));
      expect(deleted).toBeGreaterThan(0);
      await expectSameAnswers(pgStore.access, duck.access, all, 'after the expiry');
      const after = await pgStore.access.summary(all);
      expect(after.summary.requests).toBe(before.summary.requests - deleted);
      // Info level is 2xx and 3xx: none of those stay on the first day.
      expect((await pgStore.access.summary({ ...day, query: parseQuery('status:<400') })).summary.requests).toBe(0);

      expect(await pgStore.restoreDay({ ...day, file: archives.pg })).toEqual({ restored: deleted, present: day1.length - deleted });
      expect(await duck.restoreDay({ ...day, file: archives.duck })).toEqual({ restored: deleted, present: day1.length - deleted });
      expectAlike(await pgStore.access.summary(all), before, 'after the restore');
      await expectSameAnswers(pgStore.access, duck.access, all, 'after the restore');
    } finally {
      await pgStore.close();
      await duck.close();
    }
  }, 180_000);

  it('db migrate types and aggregates the access records it copies', async () => {
    const file = duckFile();
    const duck = await openDuck(file);
    await duck.migrate();
    const lines = records([...generateAlbLines({ lines: 1500, clients: 60, hours: 4, seed: 9, start: START, malformedEvery: 0 })], 'alb');
    for (const b of batchesOf(lines, 500)) await duck.append(rowsOf(b));
    await duck.append(rowsOf(records(COMBINED, 'combined')));
    await duck.close();
    const schema = pgSchema();
    const result = await migrateDuckDbToPostgres(file, { url: PG_URL, schema, poolMax: 3, idleTimeoutMs: 10_000, connectTimeoutMs: 5000, acquireTimeoutMs: 10_000 });
    expect(result.mismatches).toEqual([]);
    const pgStore = await openPgStore(schema);
    const again = await openDuck(file);
    try {
      await pgStore.migrate();
      await again.migrate();
      await expectSameAnswers(pgStore.access, again.access, { tenant: 'default' }, 'after db migrate');
    } finally {
      await pgStore.close();
      await again.close();
    }
  }, 120_000);
});
