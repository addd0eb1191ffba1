// End-to-end over real HTTP against a real server process: the native ingest answer, what
// search returns, cursor paging under concurrent ingest, the query error shape, histogram, top,
// compression and limits.

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { logLine, type LineSpec } from '../helpers/log-lines.js';

let server: ChildServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-e2e-'));
  server = await startChild(dataDir, { env: { LOGHAVEN_HTTP_BODY_LIMIT: '16MiB' } });
});
afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function post(body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const r = await fetch(`${server.url}/api/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', ...headers },
    body,
  });
  return { status: r.status, json: await r.json() };
}

/**
 * Status of a POST that declares a body over the limit. The server answers 413 from the
 * Content-Length alone, so the client sends only a first chunk and waits: streaming megabytes
 * into a connection the server is refusing would race the answer against a TCP reset.
 */
function postOversized(bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}/api/v1/logs`,
      { method: 'POST', agent: false, headers: { 'content-length': bytes } },
      (res) => {
        res.resume();
        res.on('end', () => {
          req.destroy();
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.write(Buffer.alloc(64 * 1024, 120));
  });
}

async function get(pathAndQuery: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`${server.url}${pathAndQuery}`);
  return { status: r.status, json: await r.json() };
}

describe('native ingest and search', () => {
  const specs = new Map<string, LineSpec>();

  it('accepts 9,990 of 10,000 lines and reports the 10 bad ones by line number', async () => {
    const lines: string[] = [];
    const bad = new Set([7, 500, 1234, 2000, 3333, 4999, 6000, 7777, 8888, 10000]);
    for (let i = 1; i <= 10_000; i++) {
      if (bad.has(i)) {
        lines.push(i % 2 ? '{"ts": "2026-01-15T12:00:00Z", "msg": broken' : JSON.stringify({ ts: 'yesterday-ish', msg: 'x' }));
      } else {
        const { text, spec } = logLine(i, 'a');
        lines.push(text);
        specs.set(spec.id, spec);
      }
    }
    const r = await post(lines.join('\n') + '\n');
    expect(r.status).toBe(200);
    expect(r.json.accepted).toBe(9990);
    expect(r.json.rejected).toBe(10);
    expect(r.json.errors.map((e: { line: number }) => e.line)).toEqual([...bad]);
    const tsError = r.json.errors.find((e: { line: number }) => e.line === 500);
    expect(tsError.error).toMatch(/invalid timestamp "yesterday-ish" in field "ts"/);
    expect(r.json.errors.find((e: { line: number }) => e.line === 7).error).toMatch(/invalid JSON/);
  });

  it('returns every accepted record with its ts, level, service, host, message and attrs', async () => {
    const seen = new Map<string, any>();
    let cursor: string | null = null;
    do {
      const qs: string = `q=${encodeURIComponent('id:a-*')}&limit=1000&order=asc${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await get(`/api/v1/logs?${qs}`);
      expect(r.status).toBe(200);
      for (const item of r.json.items) seen.set(item.attrs.id, item);
      cursor = r.json.next_cursor;
    } while (cursor);
    expect(seen.size).toBe(9990);
    const levels: Record<string, string> = { info: 'info', debug: 'debug', WARNING: 'warn', error: 'error', INFO: 'info', warn: 'warn' };
    for (const [id, spec] of specs) {
      const got = seen.get(id);
      expect(got, id).toBeDefined();
      expect(got.ts).toBe(spec.ts);
      expect(got.level).toBe(levels[spec.level]);
      expect(got.service).toBe(spec.service);
      expect(got.host).toBe(spec.host);
      expect(got.message).toBe(spec.message);
      expect(got.tenant).toBe('default');
      expect(got.received_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(Object.keys(got.attrs).sort()).toEqual(['duration_ms', 'http', 'id', 'status']);
      expect(got.attrs.http.path).toMatch(/^\//);
    }
  });

  it('pages with limit=100 and a cursor over 9,990 rows while 5,000 more arrive: each original row once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    const ingestMore = async (n: number) => {
      const lines = Array.from({ length: 500 }, (_, i) => logLine(n * 500 + i, 'b').text);
      const r = await post(lines.join('\n'));
      expect(r.json.accepted).toBe(500);
    };
    do {
      const qs: string = `q=${encodeURIComponent('id:a-*')}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const [r] = await Promise.all([get(`/api/v1/logs?${qs}`), page % 10 === 0 && page < 100 ? ingestMore(page / 10) : null]);
      expect(r.status).toBe(200);
      seen.push(...r.json.items.map((it: any) => it.attrs.id));
      cursor = r.json.next_cursor;
      page++;
    } while (cursor);
    expect(seen.length).toBe(9990);
    expect(new Set(seen).size).toBe(9990);
    const all = await get(`/api/v1/logs?q=${encodeURIComponent('id:b-*')}&limit=1`);
    expect(all.json.stats.rows_scanned).toBeGreaterThanOrEqual(14990);
  });

  it('answers a malformed query with 400 naming the position', async () => {
    const r = await get(`/api/v1/logs?q=${encodeURIComponent('level:error AND (service:api')}`);
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('LH_ERR_QUERY_SYNTAX');
    expect(r.json.message).toMatch(/position \d+/);
    expect(typeof r.json.position).toBe('number');
  });

  it('filters by query and time window', async () => {
    const from = encodeURIComponent('2026-01-15T12:00:10Z');
    const to = encodeURIComponent('2026-01-15T12:00:20Z');
    const r = await get(`/api/v1/logs?q=${encodeURIComponent('level:error service:api')}&from=${from}&to=${to}&limit=1000`);
    expect(r.status).toBe(200);
    expect(r.json.items.length).toBeGreaterThan(0);
    for (const it of r.json.items) {
      expect(it.level).toBe('error');
      expect(it.service).toBe('api');
      expect(it.ts >= '2026-01-15T12:00:10' && it.ts < '2026-01-15T12:00:20').toBe(true);
    }
  });

  it('counts per bucket and top values', async () => {
    const h = await get(`/api/v1/logs/histogram?q=${encodeURIComponent('id:a-*')}&step=10s&from=2026-01-15T12:00:00Z&to=2026-01-15T12:02:00Z`);
    expect(h.status).toBe(200);
    expect(h.json.buckets.length).toBe(12);
    expect(h.json.buckets.reduce((n: number, b: any) => n + b.count, 0)).toBe(9990);
    const t = await get(`/api/v1/logs/top?field=service&q=${encodeURIComponent('id:a-*')}&limit=3`);
    expect(t.status).toBe(200);
    expect(t.json.values.length).toBe(3);
    expect(t.json.values[0].count).toBeGreaterThanOrEqual(1990);
  });

  it('takes a gzip body, a JSON array and a single object', async () => {
    const gz = zlib.gzipSync(logLine(1, 'gz').text + '\n' + logLine(2, 'gz').text);
    expect((await post(gz, { 'content-encoding': 'gzip' })).json.accepted).toBe(2);
    const arr = JSON.stringify([JSON.parse(logLine(1, 'arr').text), 42]);
    const a = await post(arr, { 'content-type': 'application/json' });
    expect(a.json).toMatchObject({ accepted: 1, rejected: 1, errors: [{ line: 2 }] });
    const one = await post(JSON.stringify({ message: 'single', level: 'E', time: 1700000000123 }), { 'content-type': 'application/json' });
    expect(one.json.accepted).toBe(1);
    const back = await get(`/api/v1/logs?q=${encodeURIComponent('"single"')}`);
    expect(back.json.items[0]).toMatchObject({ level: 'error', ts: '2023-11-14T22:13:20.123000Z' });
  });

  it('acknowledges only rows the store can hold: lone surrogates repaired, out-of-range times refused', async () => {
    const body = [
      '{"msg":"poison? \\ud800","id":"sur-1","deep":{"k\\udc00":["\\udbff"]}}',
      '{"ts":1e30,"msg":"far future","id":"sur-2"}',
      '{"ts":"0000-01-01T00:00:00Z","id":"sur-3"}',
      Buffer.from([0x7b, 0x22, 0x6d, 0x73, 0x67, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x2c, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0x73, 0x75, 0x72, 0x2d, 0x34, 0x22, 0x7d]).toString('latin1'),
    ].join('\n');
    const r = await post(Buffer.from(body, 'latin1'));
    expect(r.json).toMatchObject({ accepted: 2, rejected: 2, errors: [{ line: 2 }, { line: 3 }] });
    expect(r.json.errors[0].error).toMatch(/invalid timestamp 1e\+30 in field "ts"/);
    // The rows are loaded (a row the store refused would stop every later load).
    const back = await get(`/api/v1/logs?q=${encodeURIComponent('id:sur-*')}&order=asc`);
    expect(back.json.items.map((i: any) => [i.attrs.id, i.message])).toEqual([
      ['sur-1', 'poison? \ufffd'],
      ['sur-4', '\ufffd\ufffd'],
    ]);
    expect(back.json.items[0].attrs.deep).toEqual({ 'k\ufffd': ['\ufffd'] });
    expect((await post(logLine(1, 'after-sur').text)).status).toBe(200);
  });

  it('answers 400 when nothing is accepted and 413 over the body limit', async () => {
    const none = await post('not json\n{"ts":"nope"}');
    expect(none.status).toBe(400);
    expect(none.json).toMatchObject({ accepted: 0, rejected: 2 });
    expect(await postOversized(17 * 2 ** 20)).toBe(413);
    const bomb = zlib.gzipSync(Buffer.alloc(20 * 2 ** 20, 32));
    const b = await post(bomb, { 'content-encoding': 'gzip' });
    expect(b.status).toBe(413);
  });

  it('serves health, readiness, metrics, status and OpenAPI docs', async () => {
    expect((await get('/health')).json).toMatchObject({ status: 'ok', alerts: expect.any(Array) });
    expect((await get('/ready')).status).toBe(200);
    const m = await (await fetch(`${server.url}/metrics`)).text();
    expect(m).toMatch(/loghaven_ingest_lines_total\{protocol="native"\} \d+/);
    expect(m).toMatch(/loghaven_store_rows \d+/);
    // Rejects by reason: bad lines inside accepted requests, and whole requests refused above.
    const count = (re: RegExp) => Number(re.exec(m)?.[1] ?? NaN);
    expect(count(/loghaven_ingest_rejected_total\{protocol="native",reason="invalid"\} (\d+)/)).toBeGreaterThanOrEqual(10);
    expect(count(/loghaven_ingest_refused_requests_total\{protocol="native",reason="nothing_accepted"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(count(/loghaven_ingest_refused_requests_total\{protocol="native",reason="too_large"\} (\d+)/)).toBeGreaterThanOrEqual(2);
    for (const name of ['ingest_request_seconds', 'ingest_flush_seconds', 'ingest_fsync_seconds', 'ingest_batch_rows']) {
      expect(m).toMatch(new RegExp(`loghaven_${name}_count(\\{[^}]*\\})? [1-9]`));
    }
    for (const name of ['ingest_queue_records', 'ingest_queue_bytes', 'ingest_spool_backlog_bytes', 'ingest_recovery_replayed_rows_total', 'ingest_bytes_total']) {
      expect(m).toMatch(new RegExp(`^loghaven_${name}`, 'm'));
    }
    const s = await get('/api/v1/status');
    expect(s.json.store.backend).toBe('duckdb');
    const docs = await get('/docs');
    expect(Object.keys(docs.json.paths)).toEqual(expect.arrayContaining(['/api/v1/logs', '/api/v1/logs/export']));
  });
});
