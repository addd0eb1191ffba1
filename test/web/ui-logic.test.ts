// The web UI's own logic, outside a browser: the filter terms a clicked value becomes (checked
// against the server's real query parser, for any value), the Server-Sent Events parser of the
// tail, the Prometheus text reader and quantiles of the server page, the time ranges, and how
// `/` and /ui/ tell browsers, shippers and a missing build apart (the real route module on a
// Fastify instance).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { parseQuery } from '../../src/query/parser.js';
import { prefersHtml, uiRoutes } from '../../src/api/http/ui-routes.js';
import { addTerm, fieldsOf, filterTerm } from '../../web/src/explorer/query-terms.js';
import { SseParser } from '../../web/src/explorer/sse.js';
import { histogramIncrease, parseMetrics, quantile, ratesByLabel } from '../../web/src/server/prometheus.js';
import { rangeLabel, resolveTime, stepFor } from '../../web/src/time.js';
import type { WireRecord } from '../../web/src/types.js';

describe('filter terms from clicked values', () => {
  it('parse back, with the server parser, to an exact match on the same value, whatever the value', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('service', 'host', 'message', 'attrs.path', 'attrs.user.name'), (value, field) => {
        const node = parseQuery(filterTerm(field, value));
        const ref = field.startsWith('attrs.') ? { kind: 'attr', path: field.slice(6).split('.') } : { kind: 'column', name: field };
        expect(node).toEqual({ kind: 'match', field: ref, op: 'eq', value });
      }),
      { numRuns: 500 },
    );
  });

  it('quote what the language would read otherwise: paths, regex-looking, prefixes, negations, spaces', () => {
    expect(filterTerm('service', 'api')).toBe('service:api');
    expect(filterTerm('attrs.status', 500)).toBe('attrs.status:500');
    expect(filterTerm('attrs.path', '/api/v1/users')).toBe('attrs.path:"/api/v1/users"');
    expect(filterTerm('attrs.q', 'a*')).toBe('attrs.q:"a*"');
    expect(filterTerm('host', '-x')).toBe('host:"-x"');
    expect(filterTerm('message', 'say "hi" \\ bye')).toBe('message:"say \\"hi\\" \\\\ bye"');
    expect(filterTerm('service', 'api', true)).toBe('-service:api');
  });

  it('AND a term onto the query, keeping a top-level OR whole', () => {
    expect(addTerm('', 'service:api')).toBe('service:api');
    expect(addTerm('level:error', 'service:api')).toBe('level:error service:api');
    expect(addTerm('level:error service:api', 'service:api')).toBe('level:error service:api');
    const q = addTerm('level:error OR level:warn', 'service:api');
    expect(q).toBe('(level:error OR level:warn) service:api');
    expect(parseQuery(q)).toMatchObject({ kind: 'and', children: [{ kind: 'or' }, { kind: 'match' }] });
  });

  it('list every field of a record, attrs by their path, and only the nameable ones as filters', () => {
    const r: WireRecord = {
      ts: '2026-01-01T00:00:00.000000Z',
      received_at: '2026-01-01T00:00:01.000000Z',
      tenant: 'default',
      level: 'warn',
      severity: null,
      service: 'api',
      host: null,
      category: null,
      source: null,
      message: 'm',
      trace_id: null,
      span_id: null,
      attrs: { http: { status: 503, 'x.y': 1 }, tags: ['a', 'b'], 'has space': 'v', empty: {}, nothing: null },
    };
    const fields = fieldsOf(r);
    const byName = new Map(fields.map((f) => [f.name, f]));
    expect(byName.has('host')).toBe(false);
    expect(byName.get('service')).toMatchObject({ value: 'api', filterable: true });
    expect(byName.get('attrs.http.status')).toMatchObject({ value: 503, filterable: true });
    expect(byName.get('attrs.http.x.y')).toMatchObject({ filterable: false });
    expect(byName.get('attrs.tags')).toMatchObject({ value: ['a', 'b'], filterable: false });
    expect(byName.get('attrs.has space')).toMatchObject({ filterable: false });
    expect(byName.get('attrs.empty')).toMatchObject({ value: {}, filterable: false });
    expect(byName.get('attrs.nothing')).toMatchObject({ value: null, filterable: false });
    for (const f of fields.filter((x) => x.filterable)) expect(() => parseQuery(filterTerm(f.name, f.value))).not.toThrow();
  });
});

describe('the tail stream parser', () => {
  it('splits events across chunks, whatever the cuts, with comments, CRLF and multi-line data', () => {
    const stream = 'retry: 1000\n: loghaven tail\n\nid: 7\ndata: {"a":1}\n\nid: 8\r\ndata: line one\r\ndata: line two\r\n\r\nid: 9\n\nevent: dropped\ndata: {"count":3}\n\n';
    const want = [{ id: '7', data: '{"a":1}' }, { id: '8', data: 'line one\nline two' }, { id: '9' }, { event: 'dropped', data: '{"count":3}' }];
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const at = [...new Set(cuts)].sort((a, b) => a - b);
        const parser = new SseParser();
        const got = [];
        let prev = 0;
        for (const c of [...at, stream.length]) {
          got.push(...parser.feed(stream.slice(prev, c)));
          prev = c;
        }
        expect(got).toEqual(want);
      }),
    );
  });
});

describe('the server page figures', () => {
  const before = parseMetrics(
    [
      '# HELP loghaven_ingest_lines_total Records accepted',
      '# TYPE loghaven_ingest_lines_total counter',
      'loghaven_ingest_lines_total{protocol="native"} 100',
      'loghaven_ingest_lines_total{protocol="loki"} 50',
      'loghaven_query_duration_seconds_bucket{le="0.01",route="search"} 10',
      'loghaven_query_duration_seconds_bucket{le="0.1",route="search"} 10',
      'loghaven_query_duration_seconds_bucket{le="+Inf",route="search"} 10',
      'loghaven_query_duration_seconds_sum{route="search"} 0.05',
      'loghaven_query_duration_seconds_count{route="search"} 10',
    ].join('\n'),
  );
  const after = parseMetrics(
    [
      'loghaven_ingest_lines_total{protocol="native"} 300',
      'loghaven_ingest_lines_total{protocol="loki"} 20',
      'loghaven_ingest_lines_total{protocol="otlp"} 40',
      'loghaven_query_duration_seconds_bucket{le="0.01",route="search"} 10',
      'loghaven_query_duration_seconds_bucket{le="0.1",route="search"} 110',
      'loghaven_query_duration_seconds_bucket{le="+Inf",route="search"} 110',
      'loghaven_query_duration_seconds_sum{route="search"} 5.05',
      'loghaven_query_duration_seconds_count{route="search"} 110',
      'loghaven_files_open_handles 3',
      'loghaven_label_escapes{path="a\\"b\\\\c"} 1',
    ].join('\n'),
  );

  it('read counters by label and their rates, a counter that went back (a restart) counting from zero', () => {
    const rates = ratesByLabel(before, after, 2, 'loghaven_ingest_lines_total', 'protocol');
    expect(Object.fromEntries(rates)).toEqual({ native: 100, loki: 10, otlp: 20 });
    expect(after.get('loghaven_label_escapes')![0]!.labels.path).toBe('a"b\\c');
  });

  it('take quantiles of what a histogram gained, within its buckets', () => {
    const h = histogramIncrease(before, after, 'loghaven_query_duration_seconds', { route: 'search' });
    expect(h.count).toBe(100);
    expect(h.sum).toBeCloseTo(5);
    // All 100 new observations in (0.01, 0.1]: the median halfway through it.
    expect(quantile(h, 0.5)).toBeCloseTo(0.055);
    expect(quantile(histogramIncrease(after, after, 'loghaven_query_duration_seconds', { route: 'search' }), 0.5)).toBeNull();
  });
});

describe('time ranges', () => {
  it('resolve the forms the API takes, label them, and step a histogram at about a hundred buckets', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(resolveTime('now-15m', now)).toBe(now - 15 * 60_000);
    expect(resolveTime('now', now)).toBe(now);
    expect(resolveTime('2026-11-24T09:00:00Z', now)).toBe(now - 3_600_000);
    expect(resolveTime('1795000000', now)).toBe(1_795_000_000_000);
    expect(resolveTime('1795000000000', now)).toBe(1_795_000_000_000);
    expect(resolveTime('soon', now)).toBeNull();
    expect(resolveTime('', now)).toBeNull();
    expect(rangeLabel({ from: 'now-1h', to: 'now' })).toBe('Last 1 hour');
    expect(rangeLabel({ from: '', to: '' })).toBe('All time');
    expect(rangeLabel({ from: 'now-2h', to: 'now-1h' })).toBe('now-2h → now-1h');
    expect(stepFor(3_600_000)).toBe(60_000);
    expect(stepFor(86_400_000)).toBe(900_000);
    expect(3_600_000 / stepFor(3_600_000)).toBeLessThanOrEqual(100);
  });
});

describe('/ and /ui/ on the server', () => {
  it('tells browsers from shippers by their Accept header', () => {
    // Chromium, Firefox, Safari opening a page.
    expect(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8')).toBe(true);
    expect(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe(true);
    // curl, Go and most shippers; the Elasticsearch clients; an explicit JSON preference.
    expect(prefersHtml(undefined)).toBe(false);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml('application/json')).toBe(false);
    expect(prefersHtml('application/vnd.elasticsearch+json; compatible-with=8')).toBe(false);
    expect(prefersHtml('application/json, text/html;q=0.5')).toBe(false);
    expect(prefersHtml('text/html, application/json')).toBe(false);
  });

  it('answers 503 naming the fix while the build is missing, then serves it once it is there', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-ui-build-'));
    const app = Fastify();
    await app.register(uiRoutes, { dir });
    app.get('/', async () => ({ probe: true }));
    try {
      const missing = await app.inject({ url: '/ui/' });
      expect(missing.statusCode).toBe(503);
      expect(missing.body).toContain('npm run build');
      fs.mkdirSync(path.join(dir, 'assets'));
      fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>x</title>');
      fs.writeFileSync(path.join(dir, 'assets', 'app-1234.js'), `console.log(${JSON.stringify('x'.repeat(2000))})`);
      const index = await app.inject({ url: '/ui/server' });
      expect(index.statusCode).toBe(200);
      expect(index.headers['content-type']).toContain('text/html');
      const js = await app.inject({ url: '/ui/assets/app-1234.js', headers: { 'accept-encoding': 'gzip' } });
      expect(js.headers['content-encoding']).toBe('gzip');
      expect(js.headers['cache-control']).toContain('immutable');
      const plain = await app.inject({ url: '/ui/assets/app-1234.js', headers: { 'accept-encoding': 'identity' } });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body).toContain('console.log');
      expect((await app.inject({ url: '/ui/nope.js' })).statusCode).toBe(404);
      expect((await app.inject({ url: '/', headers: { accept: 'text/html' } })).headers.location).toBe('/ui/');
      expect((await app.inject({ url: '/', headers: { accept: 'application/json' } })).json()).toEqual({ probe: true });
    } finally {
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
