// The typed access table on DuckDB: every parsed field of real ALB lines (AWS's examples, IPv6,
// WebSocket, gRPC, Lambda, WAF-blocked, malformed requests, the 2025 fields) and of combined lines
// lands in its own typed column at load; replaying a loaded segment adds nothing twice; and
// `db maintain` (rebuildAggregates) leaves every figure as the loads left it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accessRecord, type LineFormat } from '../../src/ingest/access/records.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { MAX_PARTIAL_LOADS } from '../../src/store/duckdb/access-tables.js';
import { rowsOf } from '../../src/store/row-format.js';

const AWS_EXAMPLES = fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/alb/aws-doc-examples.log'), 'utf8').split('\n').filter(Boolean);
const TAIL = `arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/t/1 "Root=1-1" "api.example.com" "arn:aws:acm:x" 3 2024-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.1.2:50051" "200" "-" "-"`;
const SPECIAL = [
  `https 2024-07-02T22:23:00.186641Z app/lb/1 2001:db8:85a3::8a2e:370:7334:51234 10.0.0.1:443 -1 -1 -1 460 - 120 0 "GET https://shop.example.com:443/a b/c?x=1 y HTTP/1.1" "Mozilla/5.0 caf\\xC3\\xA9" TLS_AES_128_GCM_SHA256 TLSv1.3 ${TAIL}`,
  `http 2024-07-02T22:23:01.000000Z app/lb/1 198.51.100.7:40000 - -1 -1 -1 400 - 0 272 "- - - " "-" - - - "-" "-" "-" - - "-" "-" "-" "-" "-" "-" "-"`,
  `h2 2024-07-02T22:23:02.000000Z app/lb/1 10.0.0.9:5000 10.0.1.2:50051 0.000 0.012 0.000 200 200 96 210 "POST https://api.example.com:443/helloworld.Greeter/SayHello HTTP/2.0" "grpc-node/1.24.2" TLS_AES_128_GCM_SHA256 TLSv1.3 ${TAIL} TID_0a1b2c3d4e5f`,
  `https 2024-07-02T22:23:03.000000Z app/lb/1 203.0.113.5:1111 - -1 -1 -1 403 - 310 412 "GET https://www.example.com:443/admin HTTP/1.1" "sqlmap/1.7" TLS_AES_128_GCM_SHA256 TLSv1.3 - "Root=1-6" "www.example.com" "arn:aws:acm:x" 0 2024-07-02T22:22:48.364000Z "waf" "-" "-" "-" "-" "-" "-" TID_ff "-" "-" "-"`,
  `https 2024-07-02T22:23:04.000000Z app/lb/1 203.0.113.5:1111 10.0.0.1:80 0.001 0.002 0.000 200 200 1 2 "GET https://old.example.com:443/v1/users/12345/x HTTP/1.1" "ua" c p ${TAIL} TID_01 "new.example.com" "/v2/x" "TransformSuccess" "something new" 42`,
];
const COMBINED = `203.0.113.9 - alice [10/Oct/2026:13:55:36 +0000] "GET /shop/items/1234?ref=a HTTP/1.1" 404 - "https://example.com/" "curl/8"`;

let dir: string;
let store: DuckDbStore;

async function openStore(): Promise<DuckDbStore> {
  const s = await DuckDbStore.open({ file: path.join(dir, 'db.duckdb'), threads: 1, memoryLimit: '256MB', indexDir: path.join(dir, 'index'), loadDir: path.join(dir, 'load') });
  await s.migrate();
  return s;
}

function rowsFrom(lines: string[], format: LineFormat) {
  return rowsOf(
    lines.map((l) => {
      const r = accessRecord(l, format, { tenant: 'default', receivedAt: 0n });
      if (!r.ok) throw new Error(`${r.reason}: ${l}`);
      return r.record;
    }),
  );
}

/** Rows of access_logs (read once the store is closed), by seq. */
async function accessRows(): Promise<Record<string, unknown>[]> {
  await store.close();
  const db = await DuckDBInstance.create(path.join(dir, 'db.duckdb'));
  const conn = await db.connect();
  const r = await conn.runAndReadAll('SELECT * EXCLUDE (ts, request_creation_time), strftime(ts, \'%Y-%m-%dT%H:%M:%S.%fZ\') AS ts, strftime(request_creation_time, \'%Y-%m-%dT%H:%M:%S.%fZ\') AS request_creation_time FROM access_logs ORDER BY seq');
  const rows = r.getRowObjectsJS() as Record<string, unknown>[];
  conn.closeSync();
  db.closeSync();
  return rows;
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-access-table-'));
  store = await openStore();
});

afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('access_logs', () => {
  it('holds every field of every kind of ALB line in its typed column', async () => {
    await store.append(rowsFrom([...AWS_EXAMPLES, ...SPECIAL], 'alb'));
    const rows = await accessRows();
    expect(rows).toHaveLength(AWS_EXAMPLES.length + SPECIAL.length);
    const [first] = rows;
    expect(first).toMatchObject({
      format: 'alb',
      type: 'http',
      ts: '2018-07-02T22:23:00.186641Z',
      elb: 'app/my-loadbalancer/50dc6c495c0c9188',
      client_ip: '192.168.131.39',
      client_port: 2817,
      target_ip: '10.0.0.1',
      target_port: 80,
      request_processing_time: 0,
      target_processing_time: 0.001,
      response_processing_time: 0,
      latency_ms: 1,
      status: 200,
      elb_status_code: 200,
      target_status_code: 200,
      received_bytes: 34n,
      sent_bytes: 366n,
      request: 'GET http://www.example.com:80/ HTTP/1.1',
      method: 'GET',
      protocol: 'HTTP/1.1',
      host: 'www.example.com',
      port: 80,
      path: '/',
      query: null,
      url_pattern: '/',
      user_agent: 'curl/7.46.0',
      target_group_arn: 'arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067',
      trace_id: 'Root=1-58337262-36d228ad5d99923122bbe354',
      request_creation_time: '2018-07-02T22:22:48.364000Z',
      actions_executed: 'forward',
      target_port_list: '10.0.0.1:80',
      target_status_code_list: '200',
    });
    const https = rows[1]!;
    expect(https).toMatchObject({ ssl_cipher: 'ECDHE-RSA-AES128-GCM-SHA256', ssl_protocol: 'TLSv1.2', domain_name: 'www.example.com', matched_rule_priority: 1 });
    expect(String(https.chosen_cert_arn)).toContain('certificate/12345678');
    expect(rows[3]).toMatchObject({ type: 'ws', status: 101, user_agent: null });
    const lambda = rows[6]!;
    expect(lambda).toMatchObject({ target_ip: null, status: 502, target_status_code: null, error_reason: 'LambdaInvalidResponse' });

    const [v6, malformed, grpc, waf, transformed] = rows.slice(AWS_EXAMPLES.length);
    expect(v6).toMatchObject({ client_ip: '2001:db8:85a3::8a2e:370:7334', client_port: 51234, latency_ms: null, status: 460, path: '/a b/c', query: 'x=1 y', user_agent: 'Mozilla/5.0 café' });
    expect(malformed).toMatchObject({ method: null, path: null, url_pattern: null, status: 400, target_ip: null, request_processing_time: null });
    expect(grpc).toMatchObject({ type: 'h2', method: 'POST', path: '/helloworld.Greeter/SayHello', protocol: 'HTTP/2.0', conn_trace_id: 'TID_0a1b2c3d4e5f', latency_ms: 12 });
    expect(waf).toMatchObject({ actions_executed: 'waf', status: 403, target_ip: null, conn_trace_id: 'TID_ff' });
    expect(transformed).toMatchObject({
      url_pattern: '/v1/users/{id}/x',
      transformed_host: 'new.example.com',
      transformed_uri: '/v2/x',
      request_transform_status: 'TransformSuccess',
      extra: ['something new', '42'],
    });
  });

  it('holds common and combined lines in the same columns', async () => {
    await store.append(rowsFrom([COMBINED], 'combined'));
    const [row] = await accessRows();
    expect(row).toMatchObject({
      format: 'combined',
      client_ip: '203.0.113.9',
      ident: null,
      user_name: 'alice',
      ts: '2026-10-10T13:55:36.000000Z',
      status: 404,
      elb_status_code: null,
      sent_bytes: null,
      method: 'GET',
      path: '/shop/items/1234',
      query: 'ref=a',
      url_pattern: '/shop/items/{id}',
      referer: 'https://example.com/',
      user_agent: 'curl/8',
      latency_ms: null,
    });
  });

  it('loads a replayed segment once, and a rebuild leaves every figure as it was', async () => {
    const file = path.join(dir, 'segment.tsv');
    fs.writeFileSync(file, rowsFrom([...AWS_EXAMPLES, ...SPECIAL], 'alb').bytes);
    await store.loadSegment(file, 1n);
    await store.loadSegment(file, 1n);
    const sel = { tenant: 'default' };
    const before = await Promise.all([store.access.summary(sel), store.access.hourly(sel), store.access.urls(sel, 100), store.access.errors(sel, 100)]);
    expect(before[0].summary.requests).toBe(AWS_EXAMPLES.length + SPECIAL.length);
    const rebuilt = await store.access.rebuildAggregates();
    expect(rebuilt.rows).toBe(AWS_EXAMPLES.length + SPECIAL.length);
    const after = await Promise.all([store.access.summary(sel), store.access.hourly(sel), store.access.urls(sel, 100), store.access.errors(sel, 100)]);
    expect(after).toEqual(before);
  });

  it('merges the partial aggregate rows of an hour once it has taken more than MAX_PARTIAL_LOADS loads, figures unchanged', async () => {
    const loads = MAX_PARTIAL_LOADS + 4;
    for (let i = 0; i < loads; i++) {
      const file = path.join(dir, `segment-${i}.tsv`);
      fs.writeFileSync(file, rowsFrom([SPECIAL[i % SPECIAL.length]!], 'alb').bytes);
      await store.loadSegment(file, BigInt(i + 1));
    }
    await store.close();
    const db = await DuckDBInstance.create(path.join(dir, 'db.duckdb'));
    const conn = await db.connect();
    const partial = await conn.runAndReadAll('SELECT count(*) FROM access_hourly');
    conn.closeSync();
    db.closeSync();
    // The lines are all of one hour: load MAX_PARTIAL_LOADS + 1 merged every row before it into
    // one, and the three after it added one each.
    expect(Number(partial.getRows()[0]![0])).toBe(1 + loads - MAX_PARTIAL_LOADS - 1);
    store = await openStore();
    const sel = { tenant: 'default' };
    const read = () => Promise.all([store.access.summary(sel), store.access.hourly(sel), store.access.urls(sel, 100), store.access.errors(sel, 100)]);
    const merged = await read();
    expect(merged[0].summary.requests).toBe(loads);
    await store.access.rebuildAggregates();
    expect(await read()).toEqual(merged);
  });
});
