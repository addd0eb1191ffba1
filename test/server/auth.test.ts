// API keys and tenants against a real server process with auth.enabled: keys made with the CLI on
// the stopped data directory, then every route of /docs plus the protocol endpoints, GraphQL and
// the tail refuse a request without a key (401) and with a key lacking the scope (403); two
// tenants write through the protocols and each sees exactly its own rows on every read path (after
// the other warmed the cache with the same query, and with the other's cursor); a key over its
// rate gets 429; the key never appears in the store, the log or an answer; odd headers get only
// 400/401/403.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client as EsClient } from '@elastic/elasticsearch';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, freePort, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { SseReader } from '../helpers/sse.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { LoghavenClient } from '../../src/client/client.js';
import { LoghavenZmqClient } from '../../src/ingest/zeromq/client.js';

const run = promisify(execFile);

let server: ChildServer;
let dataDir: string;
let syslogPort: number;
let routerPort: number;

interface MadeKey {
  id: string;
  key: string;
  tenant: string;
  scopes: string[];
}

const keys: Record<string, MadeKey> = {};

async function makeKey(name: string, tenant: string, scopes: string, extra: string[] = []): Promise<MadeKey> {
  const r = await run(process.execPath, [CLI, 'keys', 'create', '--data-dir', dataDir, '--tenant', tenant, '--scopes', scopes, '--name', name, '--format', 'json', ...extra]);
  const made = JSON.parse(r.stdout) as MadeKey;
  keys[name] = made;
  return made;
}

const auth = (k: MadeKey, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${k.key}`, ...extra });

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-auth-'));
  // Made on the stopped data directory, as the first admin key is.
  await makeKey('ops', '*', 'admin,query,ingest');
  await makeKey('acme', 'acme', 'ingest,query');
  await makeKey('globex', 'globex', 'ingest,query');
  await makeKey('acme-ingest', 'acme', 'ingest');
  await makeKey('acme-query', 'acme', 'query');
  await makeKey('acme-admin', 'acme', 'admin');
  await makeKey('slow', 'acme', 'query', ['--queries-per-s', '0.5']);
  await makeKey('meter', 'acme', 'ingest', ['--ingest-bytes-per-s', '1000']);
  syslogPort = await freePort();
  routerPort = await freePort();
  server = await startChild(dataDir, {
    env: {
      LOGHAVEN_AUTH_ENABLED: 'true',
      LOGHAVEN_LOG_LEVEL: 'info',
      LOGHAVEN_SYSLOG_TENANT: 'acme',
      LOGHAVEN_SYSLOG_PORT: String(syslogPort),
      LOGHAVEN_SYSLOG_UDP: 'false',
      LOGHAVEN_ZEROMQ_TENANT: 'globex',
      LOGHAVEN_ZEROMQ_ROUTER_PORT: String(routerPort),
    },
  });
}, 120_000);

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A request that needs no particular body to be judged by the key check. */
/** Waits (at most 10 s) for `cond`; the assertion after it says what was missing. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
}

async function probe(method: string, url: string, headers: Record<string, string> = {}): Promise<number> {
  const body = method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : '{}';
  const r = await fetch(`${server.url}${url}`, { method, headers: { 'content-type': 'application/json', ...headers }, body });
  await r.arrayBuffer();
  return r.status;
}

describe('every route needs a key with the right scope', () => {
  it('walks /docs and the protocol endpoints: 401 without a key, 403 without the scope', async () => {
    const docs = (await (await fetch(`${server.url}/docs`, { headers: auth(keys.ops!) })).json()) as {
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    const routes: { method: string; url: string; scope: string }[] = [];
    for (const [p, methods] of Object.entries(docs.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (p === '/health' || p === '/ready') continue;
        const tag = op.tags?.[0];
        const scope = /^\/graph(ql|iql)/.test(p) ? 'any' : tag === 'ingest' ? 'ingest' : tag === 'query' ? 'query' : 'admin';
        routes.push({ method: method.toUpperCase(), url: p.replace(/\{[^}]+\}/g, '0123456789abcdef'), scope });
      }
    }
    expect(routes.length).toBeGreaterThan(10);
    // Endpoints /docs does not list: the Elasticsearch API, GraphQL, /docs itself.
    routes.push({ method: 'POST', url: '/_bulk', scope: 'ingest' }, { method: 'GET', url: '/', scope: 'ingest' }, { method: 'POST', url: '/logs/_bulk', scope: 'ingest' });
    routes.push({ method: 'POST', url: '/graphql', scope: 'any' }, { method: 'GET', url: '/docs', scope: 'any' });
    const lacking: Record<string, MadeKey> = { ingest: keys['acme-query']!, query: keys['acme-ingest']!, admin: keys.acme! };
    for (const r of routes) {
      expect(await probe(r.method, r.url), `${r.method} ${r.url} without a key`).toBe(401);
      expect(await probe(r.method, r.url, { authorization: 'Bearer lh_0123456789abcdef_' + 'A'.repeat(43) }), `${r.method} ${r.url} with an unknown key`).toBe(401);
      if (r.scope !== 'any') expect(await probe(r.method, r.url, auth(lacking[r.scope]!)), `${r.method} ${r.url} without ${r.scope}`).toBe(403);
    }
    expect(await probe('GET', '/health')).toBe(200);
    expect(await probe('GET', '/ready')).toBe(200);
  });

  it('answers each protocol in its own shape', async () => {
    const es = await fetch(`${server.url}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"index":{}}\n{"a":1}\n' });
    expect(es.status).toBe(401);
    expect(await es.json()).toMatchObject({ error: { type: 'security_exception' }, status: 401 });
    const native = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body: '{"message":"x"}' });
    expect(await native.json()).toMatchObject({ error: 'LH_ERR_UNAUTHORIZED' });
    const tail = await fetch(`${server.url}/api/v1/logs/tail`, { headers: auth(keys['acme-ingest']!) });
    expect(tail.status).toBe(403);
    expect(await tail.json()).toMatchObject({ error: 'LH_ERR_FORBIDDEN' });
  });

  it('checks each GraphQL operation against the key: the mutation needs ingest, queries need query, status admin', async () => {
    const gql = async (k: MadeKey, query: string) => {
      const r = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth(k) }, body: JSON.stringify({ query }) });
      return (await r.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    };
    expect((await gql(keys['acme-ingest']!, '{ top(field: "service") { values { value } } }')).errors?.[0]?.extensions?.code).toBe('LH_ERR_FORBIDDEN');
    expect((await gql(keys['acme-query']!, 'mutation { ingest(records: [{message: "x"}]) { accepted } }')).errors?.[0]?.extensions?.code).toBe('LH_ERR_FORBIDDEN');
    expect((await gql(keys.acme!, '{ status { version } }')).errors?.[0]?.extensions?.code).toBe('LH_ERR_FORBIDDEN');
  });
});

describe('two tenants', () => {
  const words = { acme: 'anvil', globex: 'hammock' };

  beforeAll(async () => {
    for (const t of ['acme', 'globex'] as const) {
      const k = keys[t]!;
      const w = words[t];
      // Native NDJSON with Bearer; a record naming another tenant does not choose it.
      const native = await fetch(`${server.url}/api/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...auth(k) },
        body: [`{"message":"${w} native one","tenant":"${t === 'acme' ? 'globex' : 'acme'}","service":"svc-${t}"}`, `{"message":"${w} native two","service":"svc-${t}"}`].join('\n'),
      });
      expect(native.status).toBe(200);
      // Loki push: basic auth with the key as password, X-Scope-OrgID naming the key's tenant.
      const loki = await fetch(`${server.url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${t}:${k.key}`).toString('base64')}`, 'x-scope-orgid': t },
        body: JSON.stringify({ streams: [{ stream: { service_name: `svc-${t}` }, values: [[`${BigInt(Date.now()) * 1_000_000n}`, `${w} loki`]] }] }),
      });
      expect(loki.status).toBe(204);
      // OTLP/HTTP JSON with Bearer.
      const otlp = await fetch(`${server.url}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth(k) },
        body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${t}` } }] }, scopeLogs: [{ logRecords: [{ timeUnixNano: `${BigInt(Date.now()) * 1_000_000n}`, body: { stringValue: `${w} otlp` } }] }] }] }),
      });
      expect(otlp.status).toBe(200);
      // The Elasticsearch client with an API key.
      const es = new EsClient({ node: server.url, auth: { apiKey: k.key } });
      const bulk = await es.bulk({ operations: [{ index: { _index: `svc-${t}` } }, { message: `${w} elastic` }], refresh: false });
      expect(bulk.errors).toBe(false);
      await es.close();
      // The GraphQL mutation.
      const gql = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth(k) },
        body: JSON.stringify({ query: `mutation { ingest(records: [{message: "${w} graphql", service: "svc-${t}"}]) { accepted } }` }),
      });
      expect(await gql.json()).toMatchObject({ data: { ingest: { accepted: 1 } } });
    }
    // ZeroMQ carries no key either: its sockets' tenant (globex here), acknowledged once durable.
    const zmq = await LoghavenZmqClient.connect(`tcp://127.0.0.1:${routerPort}`);
    await zmq.send({ message: `${words.globex} zeromq`, service: 'svc-globex' });
    await zmq.close();
    // Syslog carries no key: its listener's tenant (acme here).
    const sock = net.connect(syslogPort, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.end(`<13>1 2026-01-15T12:00:00Z host app - - - ${words.acme} syslog\n`);
    await new Promise((r) => sock.once('close', r));
  }, 60_000);

  async function search(k: MadeKey, q: string, extra = ''): Promise<{ items: { message: string; tenant: string }[]; next_cursor: string | null }> {
    const r = await fetch(`${server.url}/api/v1/logs?q=${encodeURIComponent(q)}&limit=100${extra}`, { headers: auth(k) });
    expect(r.status).toBe(200);
    return (await r.json()) as { items: { message: string; tenant: string }[]; next_cursor: string | null };
  }

  it('each sees exactly its own rows, from every protocol', async () => {
    // Syslog is not acknowledged: wait for its row.
    for (let i = 0; i < 100 && (await search(keys.acme!, 'syslog')).items.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const acme = await search(keys.acme!, '');
    const globex = await search(keys.globex!, '');
    expect(new Set(acme.items.map((i) => i.tenant))).toEqual(new Set(['acme']));
    expect(new Set(globex.items.map((i) => i.tenant))).toEqual(new Set(['globex']));
    const sources = (items: { message: string }[]) => items.map((i) => i.message.split(' ').slice(1).join(' ')).sort();
    expect(sources(acme.items)).toEqual(['elastic', 'graphql', 'loki', 'native one', 'native two', 'otlp', 'syslog']);
    expect(sources(globex.items)).toEqual(['elastic', 'graphql', 'loki', 'native one', 'native two', 'otlp', 'zeromq']);
    expect(acme.items.every((i) => i.message.startsWith(words.acme))).toBe(true);
    expect(globex.items.every((i) => i.message.startsWith(words.globex))).toBe(true);
    // A search for the other tenant's word finds nothing.
    expect((await search(keys.acme!, words.globex)).items).toEqual([]);
  });

  it('keeps tenants apart in the cache, histogram, top, export and tail', async () => {
    // globex warms the cache with the very query acme asks next.
    for (const k of [keys.globex!, keys.acme!]) {
      for (const p of ['/api/v1/logs/top?field=service', '/api/v1/logs/histogram?step=1h', '/api/v1/logs?limit=50']) {
        await fetch(`${server.url}${p}`, { headers: auth(k) });
      }
    }
    const top = (await (await fetch(`${server.url}/api/v1/logs/top?field=service`, { headers: auth(keys.acme!) })).json()) as { values: { value: string; count: number }[] };
    expect(top.values.find((v) => v.value === 'svc-acme')?.count).toBe(6);
    expect(top.values.every((v) => v.value === 'svc-acme' || v.value === 'app')).toBe(true);
    const hist = (await (await fetch(`${server.url}/api/v1/logs/histogram?step=1h&from=2020-01-01T00:00:00Z`, { headers: auth(keys.globex!) })).json()) as { buckets: { count: number }[] };
    expect(hist.buckets.reduce((n, b) => n + b.count, 0)).toBe(7);
    const exported = await (await fetch(`${server.url}/api/v1/logs/export?format=ndjson`, { headers: auth(keys.globex!) })).text();
    const lines = exported.trim().split('\n').map((l) => JSON.parse(l) as { tenant: string });
    expect(lines).toHaveLength(7);
    expect(lines.every((l) => l.tenant === 'globex')).toBe(true);
    const tail = await SseReader.open(`${server.url}/api/v1/logs/tail?backfill=100`, auth(keys.acme!));
    expect(tail.status).toBe(200);
    try {
      const events = [];
      for (let i = 0; i < 7; i++) {
        const e = await tail.next();
        if (e === null) break;
        if (e.event === 'message') events.push(e);
        else i--;
      }
      expect(events).toHaveLength(7);
      expect(events.every((e) => (JSON.parse(e.data) as { tenant: string }).tenant === 'acme')).toBe(true);
    } finally {
      tail.abort.abort();
    }
  });

  it('keeps tenants apart for the typed client and the GraphQL subscription', async () => {
    const gql = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth(keys.acme!) },
      body: JSON.stringify({ query: '{ logs(limit: 100) { edges { node { tenant message } } } }' }),
    });
    const nodes = ((await gql.json()) as { data: { logs: { edges: { node: { tenant: string } }[] } } }).data.logs.edges.map((e) => e.node);
    expect(nodes).toHaveLength(7);
    expect(nodes.every((n) => n.tenant === 'acme')).toBe(true);
    const client = new LoghavenClient({ url: server.url, apiKey: keys.globex!.key });
    const page = await client.search({ limit: 100 });
    expect(page.items).toHaveLength(7);
    expect(page.items.every((i) => i.tenant === 'globex')).toBe(true);
    // The subscription authenticates with the WebSocket handshake's Authorization header.
    const withKey = (k: MadeKey) =>
      class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: { authorization: `Bearer ${k.key}` } });
        }
      };
    const ws = createClient({ url: `${server.url.replace('http', 'ws')}/graphql`, webSocketImpl: withKey(keys.acme!), retryAttempts: 0, lazy: true });
    try {
      const got: string[] = [];
      for await (const ev of ws.iterate<{ tail: { record: { tenant: string; message: string } } }>({ query: 'subscription { tail(backfill: 3) { record { tenant message } } }' })) {
        expect(ev.errors).toBeUndefined();
        got.push(ev.data!.tail.record.tenant);
        if (got.length === 3) break;
      }
      expect(got).toEqual(['acme', 'acme', 'acme']);
    } finally {
      await ws.dispose();
    }
    const anonymous = createClient({ url: `${server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    await expect(
      (async () => {
        for await (const ev of anonymous.iterate({ query: 'subscription { tail { record { message } } }' })) return ev;
      })(),
    ).rejects.toBeDefined();
    await anonymous.dispose();
  });

  it("refuses another tenant's cursor, and a tenant named that is not the key's", async () => {
    const page = await search(keys.acme!, '');
    const first = await fetch(`${server.url}/api/v1/logs?limit=2`, { headers: auth(keys.acme!) });
    const cursor = ((await first.json()) as { next_cursor: string }).next_cursor;
    expect(page.items.length).toBeGreaterThan(2);
    const stolen = await fetch(`${server.url}/api/v1/logs?limit=2&cursor=${cursor}`, { headers: auth(keys.globex!) });
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toMatchObject({ error: 'LH_ERR_BAD_CURSOR' });
    const named = await fetch(`${server.url}/api/v1/logs`, { headers: auth(keys.acme!, { 'x-scope-orgid': 'globex' }) });
    expect(named.status).toBe(403);
    // A key of every tenant reads the one it names, and must name one.
    const ops = await fetch(`${server.url}/api/v1/logs?limit=100`, { headers: auth(keys.ops!, { 'x-scope-orgid': 'globex' }) });
    const opsItems = ((await ops.json()) as { items: { tenant: string }[] }).items;
    expect(opsItems.length).toBe(7);
    expect(opsItems.every((i) => i.tenant === 'globex')).toBe(true);
    expect((await fetch(`${server.url}/api/v1/logs`, { headers: auth(keys.ops!) })).status).toBe(400);
  });
});

describe('keys', () => {
  it('are managed over /api/v1/keys by an admin key, within its tenant', async () => {
    const created = await fetch(`${server.url}/api/v1/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth(keys['acme-admin']!) },
      body: JSON.stringify({ tenant: 'acme', scopes: ['query'], name: 'dashboard', expires: '1d' }),
    });
    expect(created.status).toBe(201);
    const made = (await created.json()) as MadeKey & { status: string };
    expect(made.key).toMatch(/^lh_[0-9a-f]{16}_/);
    expect((await fetch(`${server.url}/api/v1/logs`, { headers: auth(made) })).status).toBe(200);
    const other = await fetch(`${server.url}/api/v1/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth(keys['acme-admin']!) },
      body: JSON.stringify({ tenant: 'globex', scopes: 'query' }),
    });
    expect(other.status).toBe(403);
    const list = (await (await fetch(`${server.url}/api/v1/keys`, { headers: auth(keys['acme-admin']!) })).json()) as { keys: { tenant: string }[] };
    expect(list.keys.every((k) => k.tenant === 'acme')).toBe(true);
    const revoked = await fetch(`${server.url}/api/v1/keys/${made.id}`, { method: 'DELETE', headers: auth(keys['acme-admin']!) });
    expect(revoked.status).toBe(200);
    const after = await fetch(`${server.url}/api/v1/logs`, { headers: auth(made) });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { message: string }).message).toContain('revoked');
    // The log line reaches this process through a pipe, possibly after the answer.
    await until(() => server.output().includes('audit: key revoked'));
    expect(server.output()).toContain('audit: key revoked');
    // Server-wide figures are for keys of every tenant.
    expect((await fetch(`${server.url}/api/v1/status`, { headers: auth(keys['acme-admin']!) })).status).toBe(403);
    expect((await fetch(`${server.url}/api/v1/status`, { headers: auth(keys.ops!) })).status).toBe(200);
  });

  it('are managed by the CLI through a running server, and not on its data directory while it runs', async () => {
    const cli = (args: string[], key?: string) =>
      run(process.execPath, [CLI, 'keys', ...args], { env: { ...process.env, ...(key ? { LOGHAVEN_API_KEY: key } : {}) } }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const created = await cli(['create', '--url', server.url, '--tenant', 'globex', '--scopes', 'ingest', '--name', 'from the cli', '--format', 'json'], keys.ops!.key);
    expect(created.code).toBe(0);
    const made = JSON.parse(created.stdout) as MadeKey;
    expect(made).toMatchObject({ tenant: 'globex', scopes: ['ingest'] });
    const listed = await cli(['list', '--url', server.url, '--format', 'json'], keys.ops!.key);
    expect((JSON.parse(listed.stdout) as { keys: { id: string }[] }).keys.map((k) => k.id)).toContain(made.id);
    expect(listed.stdout).not.toContain(made.key.slice(20));
    expect((await cli(['revoke', made.id, '--url', server.url], keys.ops!.key)).stdout).toContain(`revoked ${made.id}`);
    // Without an admin key the server says so; the data directory is the running server's.
    const refused = await cli(['list', '--url', server.url], keys.acme!.key);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('HTTP 403');
    const locked = await cli(['list', '--data-dir', dataDir]);
    expect(locked.code).not.toBe(0);
    expect(locked.stderr).toContain('--url');
  });

  it('a key over its rate gets 429 with Retry-After; other keys are unaffected', async () => {
    const first = await fetch(`${server.url}/api/v1/logs`, { headers: auth(keys.slow!) });
    expect(first.status).toBe(200);
    const second = await fetch(`${server.url}/api/v1/logs`, { headers: auth(keys.slow!) });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await second.json()).toMatchObject({ error: 'LH_ERR_RATE_LIMITED' });
    expect((await fetch(`${server.url}/api/v1/logs`, { headers: auth(keys['acme-query']!) })).status).toBe(200);
    // Ingest is metered in body bytes: a body of 5 seconds' worth goes through, then the key waits.
    const body = JSON.stringify({ message: 'metered', pad: 'x'.repeat(5000) });
    const post = () => fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: auth(keys.meter!), body });
    expect((await post()).status).toBe(200);
    const over = await post();
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(3);
    expect((await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: auth(keys.acme!), body })).status).toBe(200);
  });

  it('never shows a key in plain text: not in the store, the log, the list or an answer', async () => {
    const list = await (await fetch(`${server.url}/api/v1/keys`, { headers: auth(keys.ops!) })).text();
    const status = await (await fetch(`${server.url}/api/v1/status`, { headers: auth(keys.ops!) })).text();
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: auth(keys.ops!) })).text();
    const storeBytes = fs
      .readdirSync(dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        try {
          return fs.readFileSync(path.join(e.parentPath, e.name)).toString('latin1');
        } catch (err) {
          // A spool segment loaded and removed since the listing.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
          throw err;
        }
      })
      .join('');
    for (const k of Object.values(keys)) {
      const secret = k.key.slice('lh_0123456789abcdef_'.length);
      expect(secret).toHaveLength(43);
      for (const [where, text] of Object.entries({ list, status, metrics, store: storeBytes, log: server.output() })) {
        expect(text.includes(secret), `${k.id}'s secret in the ${where}`).toBe(false);
      }
    }
  });

  it('answers fuzzed Authorization and tenant headers with 400, 401 or 403 only, and never rows', async () => {
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic', 'Basic !!!', 'ApiKey', 'Digest x', 'Bearer ' + 'A'.repeat(5000)),
      fc.string({ maxLength: 60 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
      fc.string({ maxLength: 60 }).map((s) => `Bearer lh_${s}`),
      fc.constant(`Bearer ${keys.acme!.key.slice(0, -1)}x`),
    );
    const tenant = fc.option(fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('acme', 'globex', '*', '', ' acme', 'acme\u00e9')), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(header, tenant, async (h, t) => {
        const headers: Record<string, string> = {};
        // Headers a client could not even send (control characters) are left out.
        if (/^[\t\x20-\x7e\x80-\xff]*$/.test(h)) headers.authorization = h;
        if (t !== undefined && /^[\t\x20-\x7e]*$/.test(t)) headers['x-scope-orgid'] = t;
        const r = await fetch(`${server.url}/api/v1/logs?limit=5`, { headers });
        const body = await r.text();
        expect([400, 401, 403]).toContain(r.status);
        expect(body).not.toContain('"items"');
      }),
      { numRuns: 150 },
    );
  });
});
