// npm run bench:ingest — sustained HTTP ingest into a real loghaven process, with two baselines
// measured in the same run on the same lines: DuckDB's own read_json loading them into the same
// table (the engine limit), and SQLite (better-sqlite3, WAL, batched transactions).
//
// Then the acknowledgement latency of an open loop at a fixed rate (50,000 lines/s in 100-line
// batches): its tail over all requests, and split by whether a store load ran while the request
// waited (bench/lib/store-loads.ts), with the server's event-loop delay over the same time.
//
// Then an overload of three times the sustained rate (429 + Retry-After, bounded memory) and the
// same closed loop again, to show the server back at full speed once the overload stops.
//
//   npm run bench:ingest -- [--duration 60] [--clients 8] [--batch 1000] [--latency-rate 50000]
//                           [--latency-batch 100] [--latency-duration 20] [--overload-duration 20]
//                           [--no-baselines]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startChild, rssOf, type ChildServer } from '../test/helpers/child-server.js';
import { corpusLines } from './lib/corpus.js';
import { HttpPoster } from './lib/http-post.js';
import { duckdbReadJsonBaseline, sqliteBaseline } from './lib/ingest-baselines.js';
import { machine, percentile, fmt } from './lib/report.js';
import { StoreLoads } from './lib/store-loads.js';
import { histogramDelta, scrape } from './lib/server-scrape.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1000' },
    'latency-rate': { type: 'string', default: '50000' },
    'latency-batch': { type: 'string', default: '100' },
    'latency-duration': { type: 'string', default: '20' },
    'overload-duration': { type: 'string', default: '20' },
    'no-baselines': { type: 'boolean', default: false },
  },
});
const DURATION_S = Number(args.duration);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);

const CORPUS_LINES = 200_000;
const lines = corpusLines(CORPUS_LINES);
const ndjsonBytesPerLine = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0) / lines.length;

function bodies(batch: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + batch <= lines.length; i += batch) out.push(Buffer.from(lines.slice(i, i + batch).join('\n') + '\n'));
  return out;
}

interface Throughput {
  lines: number;
  bytes: number;
  seconds: number;
  latenciesMs: number[];
  rejected: number;
  rssSamples: number[];
}

/** Closed loop: each client sends its next batch as soon as the previous one is acknowledged. */
async function sustained(server: ChildServer, seconds: number): Promise<Throughput> {
  const payloads = bodies(BATCH);
  const res: Throughput = { lines: 0, bytes: 0, seconds: 0, latenciesMs: [], rejected: 0, rssSamples: [] };
  const sampler = setInterval(() => res.rssSamples.push(rssOf(server.proc.pid!)), 250);
  const client = new HttpPoster(server.url, CLIENTS, server.headers);
  const start = performance.now();
  const end = start + seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < end) {
        const body = payloads[next++ % payloads.length]!;
        const t = performance.now();
        const r = await client.post('/api/v1/logs', body, { 'content-type': 'application/x-ndjson' });
        if (r.status === 200) {
          const answer = JSON.parse(r.body.toString()) as { accepted?: number };
          res.lines += answer.accepted ?? 0;
          res.bytes += body.length;
          res.latenciesMs.push(performance.now() - t);
        } else {
          res.rejected++;
          await new Promise((w) => setTimeout(w, 50));
        }
      }
    }),
  );
  res.seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  client.close();
  return res;
}

/** An acknowledged request: when it was sent and answered (performance.now()), and the ack latency. */
interface Ack {
  sent: number;
  answered: number;
  ms: number;
}

/** Open loop: batches of `batch` lines sent on a fixed schedule at `rate` lines/s. */
async function latencyAtRate(server: ChildServer, rate: number, batch: number, seconds: number): Promise<Ack[]> {
  const payloads = bodies(batch);
  const perSecond = rate / batch;
  const total = Math.floor(perSecond * seconds);
  const acks: Ack[] = [];
  const client = new HttpPoster(server.url, 64, server.headers);
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((w) => setTimeout(w, wait));
    inflight.push(
      (async () => {
        const t = performance.now();
        const r = await client.post('/api/v1/logs', payloads[i % payloads.length]!, { 'content-type': 'application/x-ndjson' });
        const answered = performance.now();
        if (r.status === 200) acks.push({ sent: t, answered, ms: answered - t });
      })(),
    );
  }
  await Promise.all(inflight);
  client.close();
  return acks;
}

/** ms a timer due every 1 ms ran late, from monitorEventLoopDelay's ns between ticks. */
const clientLate = (ns: number) => Math.max(0, ns / 1e6 - 1).toFixed(1);

/** p50 / p99 / p99.9 of some ack latencies, and how many. */
function tail(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, p99.9 ${percentile(sorted, 99.9).toFixed(1)} ms (${sorted.length})`;
}

interface Overload {
  offeredRate: number;
  sentRate: number;
  acceptedRate: number;
  /** Answers by status; 429s without a Retry-After header are counted under "429 without Retry-After". */
  answers: Map<string, number>;
  rssPeak: number;
}

/**
 * Open loop at `rate` lines/s in BATCH-line requests. A client that cannot keep up (more than
 * `maxInflight` requests unanswered) skips the sends it is late for; the rate it managed is
 * reported as sent.
 */
async function overload(server: ChildServer, rate: number, seconds: number, maxInflight = 256): Promise<Overload> {
  const payloads = bodies(BATCH);
  const client = new HttpPoster(server.url, maxInflight, server.headers);
  const perSecond = rate / BATCH;
  const total = Math.floor(perSecond * seconds);
  const answers = new Map<string, number>();
  const count = (k: string) => answers.set(k, (answers.get(k) ?? 0) + 1);
  let rssPeak = 0;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(server.proc.pid!))), 250);
  let inflight = 0;
  let sent = 0;
  let acceptedLines = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((w) => setTimeout(w, wait));
    if (inflight >= maxInflight) continue;
    inflight++;
    sent++;
    pending.push(
      client
        .post('/api/v1/logs', payloads[i % payloads.length]!, { 'content-type': 'application/x-ndjson' })
        .then(
          (r) => {
            if (r.status === 200) acceptedLines += (JSON.parse(r.body.toString()) as { accepted: number }).accepted;
            count(r.status === 429 && r.headers['retry-after'] === undefined ? '429 without Retry-After' : String(r.status));
          },
          (e: Error) => count(`error ${e.message}`),
        )
        .finally(() => inflight--),
    );
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  clearInterval(sampler);
  client.close();
  return { offeredRate: rate, sentRate: (sent * BATCH) / elapsed, acceptedRate: acceptedLines / elapsed, answers, rssPeak };
}

/** Waits until everything spooled so far is loaded (at most a minute). */
async function settle(server: ChildServer): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    const s = (await (await fetch(`${server.url}/api/v1/status`, { headers: server.headers })).json()) as { ingest: { spool_backlog_bytes: number } };
    if (s.ingest.spool_backlog_bytes === 0) return;
    await new Promise((w) => setTimeout(w, 200));
  }
}

async function main(): Promise<void> {
  console.log(`loghaven ingest benchmark — ${machine()}`);
  console.log(
    `corpus: ${CORPUS_LINES} distinct NDJSON lines, ${ndjsonBytesPerLine.toFixed(0)} bytes/line; ` +
      `${CLIENTS} clients × ${BATCH}-line batches for ${DURATION_S} s; durability fsync`,
  );
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-'));
  const env = { LOGHAVEN_PROFILE: 'production', LOGHAVEN_LOG_LEVEL: 'warn' };
  // Production profile: authentication on, every request with a key.
  const server = await startChild(dataDir, { env, auth: true, nodeArgs: process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [] });
  try {
    await sustained(server, 3); // warm-up: JIT, DuckDB buffers
    const t = await sustained(server, DURATION_S);
    const lat = t.latenciesMs.sort((a, b) => a - b);
    const rss = t.rssSamples;
    const steady = [...rss.slice(Math.floor(rss.length / 2))].sort((a, b) => a - b);
    console.log(
      `\nloghaven HTTP ingest: ${fmt(t.lines / t.seconds)} lines/s, ${(t.bytes / t.seconds / 2 ** 20).toFixed(1)} MB/s; ` +
        `ack p50 ${percentile(lat, 50).toFixed(1)} ms, p95 ${percentile(lat, 95).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms; ` +
        `${t.rejected} refused; RSS peak ${(Math.max(...rss) / 2 ** 20).toFixed(0)} MB, steady ${(percentile(steady, 50) / 2 ** 20).toFixed(0)} MB`,
    );

    // The latency run measures the steady state at its rate, not the catch-up after the
    // closed loop: wait until everything spooled so far is loaded.
    await settle(server);
    const rate = Number(args['latency-rate']);
    const lbatch = Number(args['latency-batch']);
    const serverBefore = await scrape(server);
    const loads = new StoreLoads(path.join(dataDir, 'files', '.segments'));
    // This process is the load generator: an answer read late because its own loop was held (the
    // server's loads take both cores) counts in the ack figures, so its delay is reported beside them.
    const clientLoop = monitorEventLoopDelay({ resolution: 1 });
    clientLoop.enable();
    const acks = await latencyAtRate(server, rate, lbatch, Number(args['latency-duration']));
    clientLoop.disable();
    loads.close();
    const serverAfter = await scrape(server);
    const serverSide = histogramDelta(serverBefore.acks, serverAfter.acks);
    const fsyncs = histogramDelta(serverBefore.fsyncs, serverAfter.fsyncs);
    const l = acks.map((a) => a.ms).sort((a, b) => a - b);
    console.log(
      `loghaven at ${fmt(rate)} lines/s offered in ${lbatch}-line batches: ack p50 ${percentile(l, 50).toFixed(1)} ms, ` +
        `p95 ${percentile(l, 95).toFixed(1)} ms, p99 ${percentile(l, 99).toFixed(1)} ms, p99.9 ${percentile(l, 99.9).toFixed(1)} ms (${l.length} requests); ` +
        `server side ${(serverSide.within('0.01') * 100).toFixed(2)} % of ${serverSide.count} answered within 10 ms, ${(serverSide.within('0.05') * 100).toFixed(2)} % within 50 ms, ${(serverSide.within('0.25') * 100).toFixed(2)} % within 250 ms; ` +
        `event-loop delay p99 ${serverAfter.loopP99.toFixed(1)} ms, p99.9 ${serverAfter.loopP999.toFixed(1)} ms, max ${serverAfter.loopMax.toFixed(1)} ms; ` +
        `spool fsyncs ${(fsyncs.within('0.01') * 100).toFixed(2)} % of ${fsyncs.count} within 10 ms, ${Math.round(fsyncs.count * (1 - fsyncs.within('0.025')))} over 25 ms; ` +
        `the load generator's own event-loop delay p99 ${clientLate(clientLoop.percentile(99))} ms, max ${clientLate(clientLoop.max)} ms`,
    );
    // Requests that waited while a segment was being loaded into the store, and the others.
    const busy = acks.filter((a) => loads.during(a.sent, a.answered)).map((a) => a.ms);
    const idle = acks.filter((a) => !loads.during(a.sent, a.answered)).map((a) => a.ms);
    const loadMs = loads.loads.map((x) => x.end - x.start).sort((a, b) => a - b);
    console.log(
      `  while a load ran: ${tail(busy)}; loader idle: ${tail(idle)}; ` +
        `${loadMs.length} loads, each p50 ${percentile(loadMs, 50).toFixed(0)} ms, max ${(loadMs[loadMs.length - 1] ?? NaN).toFixed(0)} ms`,
    );

    const sustainedRate = t.lines / t.seconds;
    await settle(server);
    const o = await overload(server, 3 * sustainedRate, Number(args['overload-duration']));
    const answers = [...o.answers].map(([k, n]) => `${fmt(n)} × ${k}`).join(', ');
    console.log(
      `overload at 3 × the sustained rate (${fmt(o.offeredRate)} lines/s offered, ${fmt(o.sentRate)} sent): ` +
        `${fmt(o.acceptedRate)} lines/s accepted; answers ${answers}; RSS peak ${(o.rssPeak / 2 ** 20).toFixed(0)} MB`,
    );
    await settle(server);
    const after = await sustained(server, 15);
    console.log(
      `after the overload, same closed loop for 15 s: ${fmt(after.lines / after.seconds)} lines/s ` +
        `(${((after.lines / after.seconds / sustainedRate) * 100).toFixed(0)} % of the sustained rate)`,
    );

    // Stored size: after a clean shutdown the WAL is folded into the database file.
    const status = (await (await fetch(`${server.url}/api/v1/status`, { headers: server.headers })).json()) as { store: { rows: number } };
    server.proc.kill('SIGTERM');
    await server.exited;
    const stored = fs.statSync(path.join(dataDir, 'loghaven.duckdb')).size;
    const ndjson = status.store.rows * ndjsonBytesPerLine;
    console.log(
      `stored: ${fmt(status.store.rows)} rows in ${(stored / 2 ** 20).toFixed(1)} MB = 1/${(ndjson / stored).toFixed(1)} of their NDJSON bytes`,
    );
  } finally {
    if (server.proc.exitCode === null) {
      server.proc.kill('SIGKILL');
      await server.exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  if (!args['no-baselines']) {
    const rows = 1_000_000;
    const file = path.join(os.tmpdir(), `loghaven-bench-${process.pid}.ndjson`);
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < rows / CORPUS_LINES; i++) fs.writeSync(fd, lines.join('\n') + '\n');
    fs.closeSync(fd);
    try {
      const d = await duckdbReadJsonBaseline(file, rows);
      console.log(`baseline DuckDB read_json → same table: ${fmt(d.rowsPerSecond)} rows/s (${fmt(rows)} rows, ${d.seconds.toFixed(2)} s)`);
      const s = sqliteBaseline(lines, rows);
      console.log(`baseline SQLite (better-sqlite3, WAL, 1000-row transactions): ${fmt(s.rowsPerSecond)} rows/s (${fmt(rows)} rows, ${s.seconds.toFixed(2)} s)`);
    } finally {
      fs.rmSync(file, { force: true });
    }
  }
}

await main();
