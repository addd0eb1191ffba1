// Access-log analytics against a real server, checked against ground truth computed
// independently from the generated lines (bench/access-truth.ts has its own parser): summary,
// hourly, URL patterns and errors equal it (percentiles within 1 %); sessions, flows and a funnel
// equal it for every client, and a sampled run says so and stays within its sampling error;
// more lines update every aggregate without a rebuild; `db maintain`, GraphQL and
// `loghaven analyze` give the same figures.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAlbLines } from '../../bench/access-gen.js';
import { groundTruth, type Truth } from '../../bench/access-truth.js';
import { CLI, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';

const run = promisify(execFile);
const FUNNEL = ['/', '/products', '/products/{id}', '/cart'];
const START = new Date('2026-11-01T00:00:00Z');

type Json = Record<string, any>;

let server: ChildServer;
let dataDir: string;
let lines: string[];
let truth: Truth;

async function post(batch: string[]): Promise<Json> {
  const r = await fetch(`${server.url}/api/v1/ingest?format=alb`, { method: 'POST', body: `${batch.join('\n')}\n` });
  const body = (await r.json()) as Json;
  expect(r.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function analytics(kind: string, params: Record<string, string> = {}): Promise<Json> {
  const qs = new URLSearchParams(params).toString();
  const r = await fetch(`${server.url}/api/v1/analytics/access/${kind}${qs ? `?${qs}` : ''}`);
  const body = (await r.json()) as Json;
  expect(r.status, JSON.stringify(body)).toBe(200);
  return body;
}

function near(got: number | null, want: number | null): void {
  if (want === null) return expect(got).toBeNull();
  expect(got).not.toBeNull();
  expect(Math.abs(got! - want)).toBeLessThanOrEqual(0.01 * Math.abs(want) + 1e-9);
}

/** Every aggregate answer against the truth of `t`. */
async function expectAggregatesEqual(t: Truth): Promise<void> {
  const s = await analytics('summary');
  expect(s).toMatchObject({
    requests: t.requests,
    status_classes: t.status_classes,
    received_bytes: t.received_bytes,
    sent_bytes: t.sent_bytes,
    clients: t.clients,
    sample_rate: 1,
  });
  for (const p of ['p50', 'p90', 'p99'] as const) near(s.latency_ms[p], t.latency_ms[p]);

  const hourly = (await analytics('hourly')).items as Json[];
  expect(hourly.map((h) => Date.parse(h.hour))).toEqual(t.hourly.map((h) => Date.parse(h.hour)));
  t.hourly.forEach((h, i) => {
    expect(hourly[i]).toMatchObject({ requests: h.requests, status_classes: h.status_classes, received_bytes: h.received_bytes, sent_bytes: h.sent_bytes });
    for (const p of ['p50', 'p90', 'p99'] as const) near(hourly[i]!.latency_ms[p], h.latency_ms[p]);
  });

  const urls = (await analytics('urls', { limit: '10000' })).items as Json[];
  expect(urls).toHaveLength(t.urls.length);
  const byKey = new Map(urls.map((u) => [`${u.method} ${u.pattern}`, u]));
  for (const u of t.urls) {
    const got = byKey.get(`${u.method} ${u.pattern}`)!;
    expect(got, `${u.method} ${u.pattern}`).toMatchObject({ count: u.count, status_classes: u.status_classes, sent_bytes: u.sent_bytes });
    for (const p of ['min', 'avg', 'p50', 'p90', 'p95', 'p99', 'max'] as const) near(got.latency_ms[p], u.latency_ms[p]);
  }
  // By count, descending.
  expect(urls.map((u) => u.count)).toEqual([...urls.map((u) => u.count)].sort((a, b) => b - a));

  const errors = (await analytics('errors', { limit: '10000' })).items as Json[];
  const key = (e: Json) => JSON.stringify([e.status, e.error_reason, e.pattern, e.target, e.count]);
  expect(errors.map(key).sort()).toEqual(t.errors.map(key).sort());
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-access-analytics-'));
  server = await startChild(dataDir);
  lines = [...generateAlbLines({ lines: 20_000, clients: 300, hours: 6, seed: 7, start: START, malformedEvery: 2000 })];
  for (let i = 0; i < lines.length; i += 5000) await post(lines.slice(i, i + 5000));
  truth = groundTruth(lines, { funnel: FUNNEL });
}, 120_000);

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('access-log analytics', () => {
  it('stores every good line and reports every bad one', async () => {
    expect(truth.rejected).toBeGreaterThan(0);
    const s = await analytics('summary');
    expect(s.requests).toBe(truth.requests);
    expect(truth.requests + truth.rejected).toBe(lines.length);
  });

  it('answers summary, hourly, URL patterns and errors equal to the ground truth', async () => {
    await expectAggregatesEqual(truth);
    // The same questions over a window that is not whole hours are answered from the rows.
    const from = '2026-11-01T01:30:00Z';
    const to = '2026-11-01T03:45:00Z';
    const part = groundTruth(
      lines.filter((l) => {
        const t = l.split(' ')[1] ?? '';
        return t >= from.replace('Z', '') && t < to.replace('Z', '');
      }),
    );
    const s = await analytics('summary', { from, to });
    expect(s).toMatchObject({ requests: part.requests, status_classes: part.status_classes, sent_bytes: part.sent_bytes, source: 'scan' });
  });

  it('filters by status, path and host', async () => {
    const errors = await analytics('summary', { q: 'status:>=500' });
    expect(errors.requests).toBe(truth.status_classes['5xx']);
    expect(errors.status_classes).toEqual({ '2xx': 0, '3xx': 0, '4xx': 0, '5xx': truth.status_classes['5xx'] });
    const api = await analytics('urls', { q: 'path:/api/*', limit: '10000' });
    const want = truth.urls.filter((u) => u.pattern.startsWith('/api/'));
    expect(want.length).toBeGreaterThan(0);
    expect((api.items as Json[]).reduce((n, u) => n + u.count, 0)).toBe(want.reduce((n, u) => n + u.count, 0));
    const r = await fetch(`${server.url}/api/v1/analytics/access/summary?q=colour:red`);
    expect(r.status).toBe(400);
    expect(((await r.json()) as Json).message).toContain('not a field of access logs');
  });

  it('reconstructs sessions, flows and a funnel equal to the ground truth for every client', async () => {
    const s = await analytics('sessions', { max_sessions: '0', limit: '1000' });
    expect(s).toMatchObject({ sessions: truth.sessions.sessions, sample_rate: 1, sampled: false });
    expect([s.length.p50, s.length.p90, s.length.max]).toEqual([truth.sessions.length.p50, truth.sessions.length.p90, truth.sessions.length.max]);
    expect([s.duration_s.p50, s.duration_s.p90, s.duration_s.max]).toEqual([truth.sessions.duration_s.p50, truth.sessions.duration_s.p90, truth.sessions.duration_s.max].map((x) => Math.round(x * 1000) / 1000));
    const sortPages = (p: Json[]) => [...p].map((x) => `${x.pattern}=${x.count}`).sort();
    expect(sortPages(s.entry_pages)).toEqual(sortPages(truth.sessions.entry_pages));
    expect(sortPages(s.exit_pages)).toEqual(sortPages(truth.sessions.exit_pages));

    const f = await analytics('flows', { max_sessions: '0', limit: '100000' });
    const transitions = (t: Json[]) => t.map((x) => `${x.from}>${x.to}=${x.count}`).sort();
    expect(transitions(f.transitions)).toEqual(transitions(truth.flows.transitions));
    const probability = new Map(truth.flows.transitions.map((x) => [`${x.from}>${x.to}`, x.probability]));
    for (const x of f.transitions as Json[]) expect(Math.abs(x.probability - probability.get(`${x.from}>${x.to}`)!)).toBeLessThan(1e-6);
    const paths = (p: Json[]) => p.map((x) => `${x.steps.join('>')}=${x.count}`).sort();
    expect(paths(f.paths)).toEqual(paths(truth.flows.paths));

    const funnel = await analytics('funnel', { steps: FUNNEL.join(','), max_sessions: '0' });
    expect(funnel.steps.map((x: Json) => x.sessions)).toEqual(truth.funnel.steps.map((x) => x.sessions));
    expect(funnel.steps[0].sessions).toBeGreaterThan(funnel.steps[3].sessions);
    // A step given with a literal id names the same pattern.
    const literal = await analytics('funnel', { steps: '/,/products,/products/123,/cart', max_sessions: '0' });
    expect(literal.steps.map((x: Json) => x.sessions)).toEqual(funnel.steps.map((x: Json) => x.sessions));
  });

  it('samples clients past max_sessions, says so, and stays within the sampling error', async () => {
    const s = await analytics('sessions', { max_sessions: String(Math.floor(truth.sessions.sessions / 3)) });
    expect(s.sampled).toBe(true);
    expect(s.sample_rate).toBeGreaterThan(0);
    expect(s.sample_rate).toBeLessThan(1);
    const tolerance = 4 * Math.sqrt((truth.sessions.sessions * (1 - s.sample_rate)) / s.sample_rate) + 1;
    expect(Math.abs(s.sessions - truth.sessions.sessions)).toBeLessThanOrEqual(tolerance);
    expect(s.sessions_analyzed).toBeLessThan(truth.sessions.sessions);
    // The same rate, asked for, gives the same sample (clients are chosen by a hash of their key).
    const again = await analytics('sessions', { sample_rate: String(s.sample_rate) });
    expect(again.sessions_analyzed).toBe(s.sessions_analyzed);
    const funnel = await analytics('funnel', { steps: FUNNEL.join(','), sample_rate: '0.5' });
    expect(funnel).toMatchObject({ sample_rate: 0.5, sampled: true });
  });

  it('refuses bad parameters, naming them', async () => {
    for (const [kind, qs, word] of [
      ['funnel', 'steps=/a', 'steps'],
      ['funnel', 'steps=a,b', 'steps'],
      ['sessions', 'gap=soon', 'gap'],
      ['sessions', 'sample_rate=2', 'sample_rate'],
      ['urls', 'limit=0', 'limit'],
      ['summary', 'from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z', 'from'],
    ] as const) {
      const r = await fetch(`${server.url}/api/v1/analytics/access/${kind}?${qs}`);
      expect(r.status, `${kind}?${qs}`).toBe(400);
      expect(((await r.json()) as Json).message).toContain(word);
    }
    expect((await fetch(`${server.url}/api/v1/analytics/access/pages`)).status).toBe(404);
  });

  it('answers the same over GraphQL and loghaven analyze', async () => {
    const r = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ accessAnalytics(kind: funnel, steps: "${FUNNEL.join(',')}", maxSessions: 0) }` }),
    });
    const g = (await r.json()) as Json;
    expect(g.data.accessAnalytics.steps.map((x: Json) => x.sessions)).toEqual(truth.funnel.steps.map((x) => x.sessions));

    const progress = (await (await fetch(`${server.url}/api/v1/analytics/access/progress`)).json()) as Json;
    expect(progress).toEqual({ running: [] });

    const json = await run(process.execPath, [CLI, 'analyze', 'summary', '--url', server.url, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ requests: truth.requests, status_classes: truth.status_classes });
    const table = await run(process.execPath, [CLI, 'analyze', 'urls', '--url', server.url, '-n', '5']);
    expect(table.stdout).toContain('pattern');
    expect(table.stdout).toContain(truth.urls[0]!.pattern);
    const csv = await run(process.execPath, [CLI, 'analyze', 'errors', '--url', server.url, '--format', 'csv']);
    expect(csv.stdout.split('\n')[0]).toBe('status,error_reason,pattern,target,count');
    expect(csv.stdout).toContain(String(truth.errors[0]!.count));
  });

  it('updates every aggregate as more lines arrive, without a rebuild; a rebuild changes nothing', async () => {
    const more = [...generateAlbLines({ lines: 1000, clients: 50, hours: 1, seed: 99, start: new Date('2026-11-01T07:00:00Z'), malformedEvery: 0 })];
    await analytics('summary'); // an answer in the cache, which the new lines must not leave stale
    await post(more);
    lines = [...lines, ...more];
    truth = groundTruth(lines, { funnel: FUNNEL });
    await expectAggregatesEqual(truth);
    await run(process.execPath, [CLI, 'db', 'maintain', '--url', server.url]);
    await expectAggregatesEqual(truth);
  });
});
