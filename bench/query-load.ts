// npm run bench:query-load — the query service under load, against a real `loghaven start`
// (production profile) loaded with --rows records of bench/lib/corpus.ts:
//
// 1. live tail latency: a tail reader (SSE) while records arrive at 50,000 lines/s (500-line
//    requests) and at 10 lines/s (one-line requests); the latency of a record is the time from its
//    request's acknowledgement to its arrival at the reader (the same process, one clock);
// 2. /health while 100 heavy queries wait: a steady 2 running + 100 queued heavy aggregations
//    (query.queue_size 128), /health asked every 10 ms; p50/p99;
// 3. ingest under that query load: the closed loop of bench:ingest (8 clients, 1,000-line
//    requests) for --seconds without queries, then with the 100 queued heavy queries; and the
//    open loop at 50,000 lines/s with them — what share of the offered lines is accepted.
//
//   npm run bench:query-load -- [--rows 2000000] [--seconds 15]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startChild, stopChild, type ChildServer } from '../test/helpers/child-server.js';

/** The key every request carries (production profile: authentication on); set once the server is up. */
let AUTH: Record<string, string> = {};
import { closedLoop } from './lib/closed-loop.js';
import { corpusLines } from './lib/corpus.js';
import { HttpPoster } from './lib/http-post.js';
import { fmt, machine, percentile } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000000' },
    seconds: { type: 'string', default: '15' },
  },
});
const ROWS = Number(args.rows);
const SECONDS = Number(args.seconds);

const lines = corpusLines(200_000);
const bodyOf = (from: number, n: number) => Buffer.from(lines.slice(from % (lines.length - n), (from % (lines.length - n)) + n).join('\n') + '\n');
const NDJSON = { 'content-type': 'application/x-ndjson' };
const HEAVY = `/api/v1/logs/histogram?q=${encodeURIComponent('request -timeout')}&step=1m`;

async function load(server: ChildServer): Promise<void> {
  const client = new HttpPoster(server.url, 8, AUTH);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ROWS) {
        const at = next;
        next += 5000;
        for (;;) {
          const r = await client.post('/api/v1/logs', bodyOf(at, 5000), NDJSON);
          if (r.status === 200) break;
          await new Promise((w) => setTimeout(w, 50));
        }
      }
    }),
  );
  client.close();
  for (;;) {
    const s = (await (await fetch(`${server.url}/api/v1/status`, { headers: AUTH })).json()) as { store: { rows: number }; query_index: { pending_segments: number } };
    if (s.store.rows >= ROWS && s.query_index.pending_segments === 0) return;
    await new Promise((w) => setTimeout(w, 500));
  }
}

/** Reads the tail; for each record, when it arrived (by the id the sender gave it). */
async function tailReader(url: string, arrivals: Map<string, number>, stop: AbortSignal): Promise<void> {
  const res = await fetch(`${url}/api/v1/logs/tail?q=${encodeURIComponent('bench_id:*')}`, { signal: stop, headers: AUTH });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const now = performance.now();
      buf += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) !== -1) {
        const ev = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const m = /"bench_id":"([^"]+)"/.exec(ev);
        if (m) arrivals.set(m[1]!, now);
      }
    }
  } catch {
    // stopped
  }
}

/** Open loop: `rate` lines/s in `batch`-line requests for `seconds`; ack time of every line. */
async function tailLatency(server: ChildServer, rate: number, batch: number, seconds: number, tag: string): Promise<string> {
  const arrivals = new Map<string, number>();
  const acks = new Map<string, number>();
  const stop = new AbortController();
  const reading = tailReader(server.url, arrivals, stop.signal);
  await new Promise((w) => setTimeout(w, 300));
  const client = new HttpPoster(server.url, 64, AUTH);
  const started = performance.now();
  const total = Math.round(rate * seconds);
  const inflight: Promise<void>[] = [];
  for (let sent = 0; sent < total; sent += batch) {
    const due = started + (sent / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((w) => setTimeout(w, wait));
    const ids = Array.from({ length: Math.min(batch, total - sent) }, (_, i) => `${tag}-${sent + i}`);
    const body = Buffer.from(ids.map((id, i) => lines[(sent + i) % lines.length]!.replace(/^\{/, `{"bench_id":"${id}",`)).join('\n') + '\n');
    inflight.push(
      client.post('/api/v1/logs', body, NDJSON).then((r) => {
        const t = performance.now();
        if (r.status === 200) for (const id of ids) acks.set(id, t);
      }),
    );
  }
  await Promise.all(inflight);
  const deadline = performance.now() + 5000;
  while (arrivals.size < acks.size && performance.now() < deadline) await new Promise((w) => setTimeout(w, 50));
  stop.abort();
  await reading;
  client.close();
  const lat: number[] = [];
  let missing = 0;
  for (const [id, ack] of acks) {
    const got = arrivals.get(id);
    if (got === undefined) missing++;
    else lat.push(Math.max(0, got - ack));
  }
  lat.sort((a, b) => a - b);
  return `${fmt(acks.size)} records acknowledged, ${fmt(lat.length)} delivered, ${missing} missing; latency after the acknowledgement p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms, max ${percentile(lat, 100).toFixed(1)} ms`;
}

/** Keeps `n` heavy queries in flight until stopped; counts answers by status. */
function queryStorm(url: string, n: number): { stop: () => Promise<Map<number, number>> } {
  let stopped = false;
  const statuses = new Map<number, number>();
  const loops = Array.from({ length: n }, async () => {
    while (!stopped) {
      const r = await new Promise<number>((resolve) => {
        fetch(`${url}${HEAVY}`, { headers: { 'cache-control': 'no-cache', ...AUTH } })
          .then(async (res) => {
            await res.arrayBuffer();
            resolve(res.status);
          })
          .catch(() => resolve(0));
      });
      statuses.set(r, (statuses.get(r) ?? 0) + 1);
      if (r === 503) await new Promise((w) => setTimeout(w, 200));
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return statuses;
    },
  };
}

async function healthLatencies(url: string, seconds: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    const r = await fetch(`${url}/health`);
    await r.arrayBuffer();
    out.push(performance.now() - t);
    await new Promise((w) => setTimeout(w, 10));
  }
  return out.sort((a, b) => a - b);
}

const ingestBodies = Array.from({ length: 100 }, (_, b) => bodyOf(b * 1000, 1000));
const acked = (r: { status: number; body: Buffer }) => (r.status === 200 ? (JSON.parse(r.body.toString()) as { accepted: number }).accepted : null);

async function main(): Promise<void> {
  console.log(`loghaven query-load benchmark — ${machine()}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-query-load-'));
  const server = await startChild(dir, { auth: true, env: { LOGHAVEN_PROFILE: 'production', LOGHAVEN_QUERY_QUEUE_SIZE: '128', LOGHAVEN_QUERY_QUEUE_TIMEOUT_MS: '60000' } });
  AUTH = server.headers;
  try {
    const t0 = performance.now();
    await load(server);
    console.log(`loaded and indexed ${fmt(ROWS)} records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    console.log('\n1. live tail');
    console.log(`  at 50,000 lines/s (500-line requests): ${await tailLatency(server, 50_000, 500, 20, 'fast')}`);
    console.log(`  at 10 lines/s (one-line requests):     ${await tailLatency(server, 10, 1, 20, 'slow')}`);

    const base = await closedLoop({ url: server.url, path: '/api/v1/logs', headers: { ...NDJSON, ...AUTH }, bodies: ingestBodies, linesPerBody: 1000, clients: 8, seconds: SECONDS, acked });
    const baseRate = base.lines / base.seconds;
    const quiet = await healthLatencies(server.url, 3);
    console.log(`\n2./3. without queries: ingest closed loop ${fmt(baseRate)} lines/s; /health p50 ${percentile(quiet, 50).toFixed(1)} ms, p99 ${percentile(quiet, 99).toFixed(1)} ms`);

    const storm = queryStorm(server.url, 102);
    await new Promise((w) => setTimeout(w, 3000));
    const health = await healthLatencies(server.url, SECONDS);
    const status = (await (await fetch(`${server.url}/api/v1/status`, { headers: AUTH })).json()) as { queries: { running: number; queued: number } };
    console.log(`  with 100 heavy queries waiting (${status.queries.running} running, ${status.queries.queued} queued when sampled):`);
    console.log(`    /health p50 ${percentile(health, 50).toFixed(1)} ms, p99 ${percentile(health, 99).toFixed(1)} ms, max ${percentile(health, 100).toFixed(1)} ms (${health.length} asked)`);
    const [openLoop, healthIngest] = await Promise.all([
      (async () => {
        const client = new HttpPoster(server.url, 64, AUTH);
        const rate = 50_000;
        const started = performance.now();
        let offered = 0;
        let accepted = 0;
        const inflight: Promise<void>[] = [];
        for (let i = 0; performance.now() - started < SECONDS * 1000; i++) {
          const due = started + ((i * 500) / rate) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((w) => setTimeout(w, wait));
          offered += 500;
          inflight.push(client.post('/api/v1/logs', bodyOf(i * 500, 500), NDJSON).then((r) => void (accepted += acked(r) ?? 0)));
        }
        await Promise.all(inflight);
        client.close();
        return { offered, accepted };
      })(),
      healthLatencies(server.url, SECONDS),
    ]);
    console.log(`    ingest open loop at 50,000 lines/s: ${fmt(openLoop.accepted)} of ${fmt(openLoop.offered)} offered lines accepted (${((openLoop.accepted / openLoop.offered) * 100).toFixed(1)} %); /health meanwhile p50 ${percentile(healthIngest, 50).toFixed(1)} ms, p99 ${percentile(healthIngest, 99).toFixed(1)} ms`);
    const loaded = await closedLoop({ url: server.url, path: '/api/v1/logs', headers: { ...NDJSON, ...AUTH }, bodies: ingestBodies, linesPerBody: 1000, clients: 8, seconds: SECONDS, acked });
    const answers = await storm.stop();
    const loadedRate = loaded.lines / loaded.seconds;
    console.log(`    ingest closed loop ${fmt(loadedRate)} lines/s = ${((loadedRate / baseRate) * 100).toFixed(0)} % of the rate without queries`);
    console.log(`    heavy query answers: ${[...answers].map(([st, n]) => `${st}×${n}`).join(', ')}`);
  } finally {
    await stopChild(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
