// GraphQL at /graphql against a real server process, through real GraphQL clients (graphql-request
// over HTTP, graphql-ws over WebSocket): the same answers as REST for the same questions (search
// pages with cursor paging, histogram, top, status), the ingest mutation, the live tail
// subscription, coded errors, the depth and cost guards, and GraphiQL only in development.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClientError, GraphQLClient, gql } from 'graphql-request';
import { getIntrospectionQuery } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { logLine } from '../helpers/log-lines.js';
import type { WireRecord } from '../../src/model/record.js';

let server: ChildServer;
let dataDir: string;
let gqlClient: GraphQLClient;

const TOTAL = 3000;
const FROM = '2026-01-15T12:00:00Z';
const TO = '2026-01-15T12:01:00Z';

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-graphql-'));
  server = await startChild(dataDir);
  gqlClient = new GraphQLClient(`${server.url}/graphql`);
  const lines = Array.from({ length: TOTAL }, (_, i) => logLine(i, 'g').text);
  const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines.join('\n') });
  expect(await r.json()).toMatchObject({ accepted: TOTAL, rejected: 0 });
}, 120_000);

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function rest<T>(pathAndQuery: string): Promise<T> {
  const r = await fetch(`${server.url}${pathAndQuery}`);
  expect(r.status, pathAndQuery).toBe(200);
  return (await r.json()) as T;
}

/** A GraphQL LogRecord as the REST wire record it stands for. */
function asWire(r: Record<string, unknown>): WireRecord {
  const { receivedAt, traceId, spanId, ...rest } = r;
  return { ...rest, received_at: receivedAt, trace_id: traceId, span_id: spanId } as WireRecord;
}

const RECORD_FIELDS = 'ts receivedAt tenant level severity service host category source message traceId spanId attrs';

const LOGS = gql`
  query Logs($q: String, $from: String, $to: String, $limit: Int, $order: SortOrder, $cursor: String) {
    logs(q: $q, from: $from, to: $to, limit: $limit, order: $order, cursor: $cursor) {
      edges { cursor node { ${RECORD_FIELDS} } }
      pageInfo { hasNextPage endCursor }
      stats { rowsScanned elapsedMs }
    }
  }
`;

interface LogsAnswer {
  logs: {
    edges: { cursor: string | null; node: Record<string, unknown> }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    stats: { rowsScanned: number; elapsedMs: number };
  };
}

interface RestPage {
  items: WireRecord[];
  next_cursor: string | null;
  stats: { rows_scanned: number; elapsed_ms: number };
}

describe('GraphQL queries answer what REST answers', () => {
  it('pages through a search with the cursor, page for page the same as REST', async () => {
    const vars = { q: 'id:g-* service:api', from: FROM, to: TO, limit: 97, order: 'asc' as const };
    let cursor: string | null = null;
    let restCursor: string | null = null;
    const ids: string[] = [];
    let pages = 0;
    do {
      const g: LogsAnswer = await gqlClient.request<LogsAnswer>(LOGS, { ...vars, cursor });
      const qs: URLSearchParams = new URLSearchParams({ q: vars.q, from: FROM, to: TO, limit: String(vars.limit), order: 'asc', ...(restCursor ? { cursor: restCursor } : {}) });
      const r: RestPage = await rest<RestPage>(`/api/v1/logs?${qs}`);
      expect(g.logs.edges.map((e) => asWire(e.node))).toEqual(r.items);
      expect(g.logs.pageInfo.endCursor).toBe(r.next_cursor);
      expect(g.logs.pageInfo.hasNextPage).toBe(r.next_cursor !== null);
      expect(g.logs.stats.rowsScanned).toBe(r.stats.rows_scanned);
      // Only the last edge carries a cursor: the end of the page.
      expect(g.logs.edges.slice(0, -1).every((e) => e.cursor === null)).toBe(true);
      if (g.logs.edges.length > 0) expect(g.logs.edges.at(-1)!.cursor).toBe(r.next_cursor);
      ids.push(...g.logs.edges.map((e) => String((e.node.attrs as { id: string }).id)));
      cursor = g.logs.pageInfo.endCursor;
      restCursor = r.next_cursor;
      pages++;
    } while (cursor !== null);
    expect(ids.length).toBe(TOTAL / 5);
    expect(new Set(ids).size).toBe(TOTAL / 5);
    expect(pages).toBeGreaterThan(6);
  });

  it('answers a default search (newest first) like REST', async () => {
    const g = await gqlClient.request<LogsAnswer>(LOGS, {});
    const r = await rest<RestPage>('/api/v1/logs');
    expect(g.logs.edges.map((e) => asWire(e.node))).toEqual(r.items);
    expect(g.logs.edges.length).toBe(100);
  });

  it('answers histogram and top like REST', async () => {
    const g = await gqlClient.request<{
      histogram: { stepMs: number; buckets: { ts: string; count: number }[] };
      top: { field: string; values: { value: string | null; count: number }[] };
      byHost: { field: string; values: { value: string | null; count: number }[] };
      byLevel: { buckets: { ts: string; count: number; levels: { level: string | null; count: number }[] }[] };
    }>(
      gql`
        query ($from: String, $to: String) {
          histogram(q: "id:g-*", from: $from, to: $to, step: "5s") { stepMs buckets { ts count } }
          byLevel: histogram(q: "id:g-*", from: $from, to: $to, step: "5s", by: LEVEL) { buckets { ts count levels { level count } } }
          top(field: "service", q: "id:g-*") { field values { value count } }
          byHost: top(field: "host", q: "level:error", limit: 3) { field values { value count } }
        }
      `,
      { from: FROM, to: TO },
    );
    const h = await rest<{ step_ms: number; buckets: { ts: string; count: number }[] }>(`/api/v1/logs/histogram?q=id:g-*&from=${FROM}&to=${TO}&step=5s`);
    expect(g.histogram).toEqual({ stepMs: h.step_ms, buckets: h.buckets });
    expect(g.histogram.buckets.reduce((n, b) => n + b.count, 0)).toBe(TOTAL);
    const byLevel = await rest<{ buckets: { ts: string; count: number; levels: Record<string, number> }[] }>(`/api/v1/logs/histogram?q=id:g-*&from=${FROM}&to=${TO}&step=5s&by=level`);
    expect(g.byLevel.buckets).toEqual(
      byLevel.buckets.map((b) => ({ ts: b.ts, count: b.count, levels: Object.entries(b.levels).map(([level, count]) => ({ level: level === 'none' ? null : level, count })) })),
    );
    for (const b of byLevel.buckets) expect(Object.values(b.levels).reduce((n, c) => n + c, 0)).toBe(b.count);
    expect(new Set(byLevel.buckets.flatMap((b) => Object.keys(b.levels))).size).toBeGreaterThan(1);
    expect(g.top).toEqual(await rest('/api/v1/logs/top?field=service&q=id:g-*'));
    expect(g.byHost).toEqual(await rest(`/api/v1/logs/top?field=host&q=${encodeURIComponent('level:error')}&limit=3`));
  });

  it('answers status with the fields of GET /api/v1/status', async () => {
    const before = await rest<Record<string, any>>('/api/v1/status');
    const g = await gqlClient.request<{ status: Record<string, any> }>(gql`
      {
        status {
          version ready uptimeS
          store { backend rows bytes }
          queryIndex { segments indexedSegments pendingSegments }
          queries { running queued maxConcurrent queueSize }
          cache { enabled backend hitRatio lookups failure }
          alerts { name message }
          ingest { queueRecords queueBytes spoolBacklogBytes }
          memory { rssBytes heapUsedBytes heapTotalBytes externalBytes arrayBuffersBytes }
        }
      }
    `);
    const r = await rest<Record<string, any>>('/api/v1/status');
    const after = await rest<Record<string, any>>('/api/v1/status');
    const s = g.status;
    expect(s.version).toBe(r.version);
    expect(s.ready).toBe(r.ready);
    expect(Math.abs(s.uptimeS - r.uptime_s)).toBeLessThanOrEqual(1);
    // Loads may land between the answers: the store's figures only grow.
    expect(s.store.backend).toBe(r.store.backend);
    expect(s.store.rows).toBeGreaterThanOrEqual(before.store.rows);
    expect(s.store.rows).toBeLessThanOrEqual(after.store.rows);
    expect(s.queryIndex.segments).toBe(r.query_index.segments);
    expect(s.queries.maxConcurrent).toBe(r.queries.max_concurrent);
    expect(s.queries.queueSize).toBe(r.queries.queue_size);
    expect(s.cache.enabled).toBe(r.cache.enabled);
    expect(s.cache.backend).toBe(r.cache.backend);
    expect(s.alerts.map((a: { name: string }) => a.name)).toEqual(r.alerts.map((a: { name: string }) => a.name));
    expect(s.ingest.queueRecords).toBe(r.ingest.queue_records);
    expect(s.memory.rssBytes).toBeGreaterThan(0);
  });

  it('serves the same cache entries as REST, and Cache-Control: no-cache bypasses them for both', async () => {
    const q = `{ top(field: "host", q: "id:g-1*") { values { value count } } }`;
    const a = await gqlClient.request<{ top: unknown }>(q);
    const fresh = await gqlClient.request<{ top: unknown }>(q, {}, { 'cache-control': 'no-cache' });
    expect(fresh).toEqual(a);
    const r = await fetch(`${server.url}/api/v1/logs/top?field=host&q=${encodeURIComponent('id:g-1*')}`);
    expect(r.headers.get('x-cache')).toBe('hit');
  });
});

describe('GraphQL errors carry LH_ERR_ codes', () => {
  async function failing(query: string, variables?: Record<string, unknown>): Promise<ClientError> {
    try {
      await gqlClient.request(query, variables);
    } catch (e) {
      if (e instanceof ClientError) return e;
      throw e;
    }
    throw new Error('the request succeeded');
  }

  it('a malformed query: 400 with LH_ERR_QUERY_SYNTAX and its position', async () => {
    const e = await failing(`{ logs(q: "level:error AND (") { edges { cursor } } }`);
    expect(e.response.status).toBe(400);
    expect(e.response.errors![0]!.extensions).toMatchObject({ code: 'LH_ERR_QUERY_SYNTAX', position: expect.any(Number) });
  });

  it('a bad parameter and a document GraphQL refuses', async () => {
    const limit = await failing(`{ logs(limit: 0) { edges { cursor } } }`);
    expect(limit.response.errors![0]!.extensions).toMatchObject({ code: 'LH_ERR_BAD_PARAM', param: 'limit' });
    const field = await failing(`{ logs { edges { node { nope } } } }`);
    expect(field.response.status).toBe(400);
    expect(field.response.errors![0]!.extensions!.code).toBe('LH_ERR_GRAPHQL_INVALID');
    const variable = await failing(`query ($n: Int) { logs(limit: $n) { edges { cursor } } }`, { n: 'ten' });
    expect(variable.response.errors![0]!.extensions!.code).toBe('LH_ERR_GRAPHQL_INVALID');
  });

  it('refuses an operation nested deeper than the limit, naming it', async () => {
    const nested = `{ __schema { types { fields { type ${'{ ofType '.repeat(14)}{ name }${' }'.repeat(14)} } } } }`;
    const e = await failing(nested);
    expect(e.response.status).toBe(400);
    expect(e.response.errors![0]!.extensions).toMatchObject({ code: 'LH_ERR_GRAPHQL_DEPTH', limit: 15, depth: 19 });
    expect(e.response.errors![0]!.message).toMatch(/more than the limit of 15/);
    // What GraphiQL and code generators ask stays within it.
    const schema = await gqlClient.request<{ __schema: { types: unknown[] } }>(getIntrospectionQuery());
    expect(schema.__schema.types.length).toBeGreaterThan(20);
  });

  it('refuses an operation that costs more than the limit: aliases and limits count', async () => {
    const three = `{ ${['a', 'b', 'c'].map((a) => `${a}: logs(limit: 10000) { pageInfo { hasNextPage } }`).join(' ')} }`;
    const e = await failing(three);
    expect(e.response.status).toBe(400);
    expect(e.response.errors![0]!.extensions).toMatchObject({ code: 'LH_ERR_GRAPHQL_COST', limit: 30_000 });
    expect(e.response.errors![0]!.extensions!.cost).toBeGreaterThan(30_000);
    // A variable limit counts as the largest allowed.
    const page = (alias: string) => `${alias}: logs(limit: $n) { pageInfo { hasNextPage } }`;
    const vars = await failing(`query ($n: Int) { ${page('a')} ${page('b')} ${page('c')} }`, { n: 5 });
    expect(vars.response.errors![0]!.extensions!.code).toBe('LH_ERR_GRAPHQL_COST');
    const many = `{ ${Array.from({ length: 40 }, (_, i) => `s${i}: status { ready }`).join(' ')} }`;
    expect((await failing(many)).response.errors![0]!.extensions!.code).toBe('LH_ERR_GRAPHQL_COST');
    // Two full pages pass.
    const two = await gqlClient.request<{ a: unknown; b: unknown }>(`{ a: logs(limit: 10000) { pageInfo { hasNextPage } } b: logs(limit: 10000) { pageInfo { hasNextPage } } }`);
    expect(two.a).toBeDefined();
  });
});

describe('ingest mutation', () => {
  const INGEST = gql`
    mutation ($records: [JSON!]!) {
      ingest(records: $records) { accepted rejected errors { line error } }
    }
  `;

  it('stores records like POST /api/v1/logs and reports bad ones by position', async () => {
    const records = [
      { level: 'error', service: 'mut', msg: 'first via graphql', id: 'mut-1', nested: { a: [1, 2] } },
      42,
      { ts: 'yesterday-ish', msg: 'bad time', id: 'mut-x' },
      { level: 'WARNING', app: 'mut', message: 'second via graphql', id: 'mut-2', ts: 1_700_000_000_123 },
    ];
    const g = await gqlClient.request<{ ingest: { accepted: number; rejected: number; errors: { line: number; error: string }[] } }>(INGEST, { records });
    expect(g.ingest.accepted).toBe(2);
    expect(g.ingest.rejected).toBe(2);
    expect(g.ingest.errors.map((e) => e.line)).toEqual([2, 3]);
    expect(g.ingest.errors[0]!.error).toMatch(/expected a JSON object/);
    expect(g.ingest.errors[1]!.error).toMatch(/invalid timestamp "yesterday-ish" in field "ts"/);
    // The REST route answers the same body the same way.
    const viaRest = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: records.map((r) => JSON.stringify(r)).join('\n') });
    expect(await viaRest.json()).toEqual(g.ingest);
    const back = await rest<RestPage>(`/api/v1/logs?q=${encodeURIComponent('service:mut')}&order=asc&limit=10`);
    expect(back.items.map((i) => [i.attrs.id, i.level, i.message])).toEqual([
      ['mut-2', 'warn', 'second via graphql'],
      ['mut-2', 'warn', 'second via graphql'],
      ['mut-1', 'error', 'first via graphql'],
      ['mut-1', 'error', 'first via graphql'],
    ]);
    expect(back.items[2]!.attrs.nested).toEqual({ a: [1, 2] });
  });

  it('answers nothing accepted with the reasons, and counts the protocol in the metrics', async () => {
    const g = await gqlClient.request<{ ingest: { accepted: number; rejected: number; errors: unknown[] } }>(INGEST, { records: [] });
    expect(g.ingest).toEqual({ accepted: 0, rejected: 0, errors: [{ line: 1, error: 'body contains no records' }] });
    const m = await (await fetch(`${server.url}/metrics`)).text();
    expect(m).toMatch(/loghaven_ingest_lines_total\{protocol="graphql"\} 2\b/);
    expect(m).toMatch(/loghaven_ingest_rejected_total\{protocol="graphql",reason="invalid"\} 2\b/);
  });
});

describe('tail subscription over graphql-ws', () => {
  let ws: WsClient;
  beforeAll(() => {
    ws = createClient({ url: `${server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  });
  afterAll(async () => {
    await ws.dispose();
  });

  interface TailAnswer {
    tail: { record: { message: string; attrs: { id: string } } | null; position: string | null; dropped: number };
  }

  const post = (service: string, from: number, n: number) =>
    fetch(`${server.url}/api/v1/logs`, {
      method: 'POST',
      body: Array.from({ length: n }, (_, i) => JSON.stringify({ service: i % 2 ? service : 'other', msg: `${service} ${from + i}`, id: `${service}-${from + i}` })).join('\n'),
    });

  it('delivers the backfill, then matching records as they arrive, once each and in order', async () => {
    // Four matching records stored before the tail opens: the backfill is the last two.
    await post('live', 0, 8);
    const events = ws.iterate<TailAnswer>({ query: 'subscription { tail(q: "service:live", backfill: 2) { record { message attrs } position dropped } }' });
    const seen: TailAnswer['tail'][] = [];
    for await (const ev of events) {
      expect(ev.errors).toBeUndefined();
      seen.push(ev.data!.tail);
      // The backfill has come, so the tail is open: what is stored now comes live.
      if (seen.length === 2) await post('live', 100, 200);
      if (seen.length === 102) break;
    }
    expect(seen.slice(0, 2).map((e) => e.record!.attrs.id)).toEqual(['live-5', 'live-7']);
    expect(seen.slice(2).map((e) => e.record!.attrs.id)).toEqual(Array.from({ length: 100 }, (_, i) => `live-${101 + 2 * i}`));
    expect(seen.at(-1)!.record!.message).toBe('live 299');
    const positions = seen.map((e) => BigInt(e.position!));
    for (let i = 1; i < positions.length; i++) expect(positions[i]! > positions[i - 1]!).toBe(true);
    expect(seen.every((e) => e.dropped === 0)).toBe(true);
  });

  it('resumes after a position without a gap or a repeat', async () => {
    await post('resume', 0, 6);
    const first = ws.iterate<TailAnswer>({ query: 'subscription { tail(q: "service:resume", backfill: 3) { record { attrs } position } }' });
    const got: string[] = [];
    let position = '';
    for await (const ev of first) {
      got.push(ev.data!.tail.record!.attrs.id);
      position = ev.data!.tail.position!;
      if (got.length === 3) await post('resume', 6, 20);
      if (got.length === 8) break; // the client stops this subscription
    }
    await post('resume', 26, 4);
    const resumed = ws.iterate<TailAnswer>({ query: `subscription { tail(q: "service:resume", after: "${position}") { record { attrs } position } }` });
    const rest: string[] = [];
    for await (const ev of resumed) {
      rest.push(ev.data!.tail.record!.attrs.id);
      if (rest.length === 7) break;
    }
    expect([...got, ...rest]).toEqual(Array.from({ length: 15 }, (_, i) => `resume-${2 * i + 1}`));
  });

  it('tells a subscriber too slow to keep up how many records it missed', async () => {
    // A raw graphql-transport-ws client, so that it can stop reading its socket.
    const sock = new WebSocket(`${server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const inbox: { type: string; payload?: { data?: TailAnswer } }[] = [];
    let wake: (() => void) | null = null;
    sock.on('message', (m) => {
      inbox.push(JSON.parse(String(m)));
      wake?.();
    });
    const next = async () => {
      while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
      return inbox.shift()!;
    };
    // The next `next` message (skipping the server's keep-alive pings).
    const nextEvent = async () => {
      for (;;) {
        const m = await next();
        if (m.type === 'next') return m.payload!.data!.tail;
        expect(m.type).toBe('ping');
      }
    };
    await new Promise((r) => sock.once('open', r));
    sock.send(JSON.stringify({ type: 'connection_init' }));
    expect((await next()).type).toBe('connection_ack');
    await post('slowg', 0, 2);
    sock.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query: 'subscription { tail(q: "service:slowg", backfill: 1) { record { attrs } position dropped } }' } }));
    expect((await nextEvent()).record!.attrs.id).toBe('slowg-1');
    // Nobody reads the socket while 20,000 matching records (about 40 MB of messages) go by.
    sock.pause();
    const total = 20_000;
    const pad = 'x'.repeat(2000);
    for (let sent = 0; sent < total; sent += 2000) {
      const body = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ service: 'slowg', id: `slowg-${10_000 + sent + i}`, pad })).join('\n');
      expect((await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body })).status).toBe(200);
    }
    sock.resume();
    let delivered = 0;
    let dropped = 0;
    let last = 0n;
    while (delivered + dropped < total) {
      const ev = await nextEvent();
      if (ev.record === null) {
        dropped += ev.dropped;
        continue;
      }
      expect(BigInt(ev.position!) > last).toBe(true);
      last = BigInt(ev.position!);
      delivered++;
    }
    sock.close();
    expect(dropped).toBeGreaterThan(0);
    expect(delivered + dropped).toBe(total);
    const m = await (await fetch(`${server.url}/metrics`)).text();
    expect(Number(/loghaven_tail_dropped_total (\d+)/.exec(m)?.[1])).toBeGreaterThanOrEqual(dropped);
  });

  it('closes its tail on the server when the subscription ends or the socket closes', async () => {
    const open = async () => Number(/^loghaven_tail_subscribers (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
    let n = await open();
    for (let i = 0; i < 100 && n !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      n = await open();
    }
    expect(n).toBe(0);
  });

  it('refuses a bad tail with a coded error', async () => {
    const codeOf = async (query: string): Promise<unknown> => {
      try {
        for await (const ev of ws.iterate({ query })) void ev;
      } catch (errors) {
        return (errors as { extensions?: { code?: string } }[])[0]?.extensions?.code;
      }
      return 'no error';
    };
    expect(await codeOf('subscription { tail(q: "(") { position } }')).toBe('LH_ERR_QUERY_SYNTAX');
    expect(await codeOf('subscription { tail(after: "yesterday") { position } }')).toBe('LH_ERR_BAD_PARAM');
    expect(await codeOf('subscription { tail(backfill: 10001) { position } }')).toBe('LH_ERR_BAD_PARAM');
    // Subscriptions pass the same validation as queries (mercurius alone would skip it).
    expect(await codeOf('subscription { tail { nope } }')).toBe('LH_ERR_GRAPHQL_INVALID');
  });
});

describe('GraphiQL', () => {
  it('is served in the development profile', async () => {
    const r = await fetch(`${server.url}/graphiql`);
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/graphiql/i);
  });

  it('is not served in production', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-graphql-prod-'));
    const prod = await startChild(dir, { env: { LOGHAVEN_PROFILE: 'production', LOGHAVEN_AUTH_ENABLED: 'false' } });
    try {
      expect((await fetch(`${prod.url}/graphiql`)).status).toBe(404);
      const g = await new GraphQLClient(`${prod.url}/graphql`).request<{ status: { ready: boolean } }>('{ status { ready } }');
      expect(g.status.ready).toBe(true);
    } finally {
      await stopChild(prod);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
