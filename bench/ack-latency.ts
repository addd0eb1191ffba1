// npm run bench:ack — the acknowledgement latency of native NDJSON ingest at a fixed rate, measured
// by an independent load generator (autocannon, its own HTTP client and HdrHistogram), so that
// bench:ingest's own client is not the only witness of issue 16's goal: p99 ≤ 10 ms and
// p99.9 ≤ 25 ms at 50,000 lines/s in 100-line batches. A fresh `loghaven start` per run
// (production profile, authentication on, durability fsync); a warm-up at the same rate first.
//
//   npm run bench:ack -- [--rate 50000] [--batch 100] [--connections 8] [--duration 20] [--warmup 5] [--runs 3]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startChild, stopChild, type ChildServer } from '../test/helpers/child-server.js';
import { corpusLines } from './lib/corpus.js';
import { fmt, machine } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '100' },
    connections: { type: 'string', default: '8' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
  },
});
const RATE = Number(args.rate);
const BATCH = Number(args.batch);
const CONNECTIONS = Number(args.connections);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const RUNS = Number(args.runs);

/** 100-line bodies of distinct corpus lines, sent in turn. */
function bodies(): string[] {
  const lines = corpusLines(200_000);
  const out: string[] = [];
  for (let i = 0; i + BATCH <= lines.length; i += BATCH) out.push(`${lines.slice(i, i + BATCH).join('\n')}\n`);
  return out;
}

interface Latency {
  p50: number;
  p99: number;
  p99_9: number;
  max: number;
  requests: number;
  non2xx: number;
  errors: number;
}

function load(server: ChildServer, payloads: string[], seconds: number): Promise<Latency> {
  let next = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${server.url}/api/v1/logs`,
        method: 'POST',
        headers: { ...server.headers, 'content-type': 'application/x-ndjson' },
        connections: CONNECTIONS,
        overallRate: RATE / BATCH,
        duration: seconds,
        requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: payloads[next++ % payloads.length] }) }],
      },
      (err: Error | null, r: { latency: Record<string, number>; requests: { total: number }; non2xx: number; errors: number }) => {
        if (err !== null && err !== undefined) return reject(err);
        resolve({ p50: r.latency.p50!, p99: r.latency.p99!, p99_9: r.latency.p99_9!, max: r.latency.max!, requests: r.requests.total, non2xx: r.non2xx, errors: r.errors });
      },
    );
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  console.log(`loghaven acknowledgement latency, independent load generator (autocannon) — ${machine()}`);
  console.log(`${fmt(RATE)} lines/s offered as ${fmt(RATE / BATCH)} requests/s of ${BATCH} lines over ${CONNECTIONS} connections; ${WARMUP_S} s warm-up, then ${DURATION_S} s; ${RUNS} runs`);
  const payloads = bodies();
  const runs: Latency[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-ack-'));
    const server = await startChild(dataDir, { env: { LOGHAVEN_PROFILE: 'production', LOGHAVEN_LOG_LEVEL: 'warn' }, auth: true });
    try {
      await load(server, payloads, WARMUP_S);
      const l = await load(server, payloads, DURATION_S);
      runs.push(l);
      console.log(
        `  run ${run}: ack p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, p99.9 ${l.p99_9.toFixed(1)} ms, max ${l.max.toFixed(1)} ms; ` +
          `${fmt(l.requests)} requests (${fmt((l.requests * BATCH) / DURATION_S)} lines/s), ${l.non2xx} not 2xx, ${l.errors} errors`,
      );
    } finally {
      await stopChild(server);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const m = (f: (l: Latency) => number) => median(runs.map(f)).toFixed(1);
  console.log(
    `\nmedian of ${RUNS}: ack p50 ${m((l) => l.p50)} ms, p99 ${m((l) => l.p99)} ms (goal ≤ 10), p99.9 ${m((l) => l.p99_9)} ms (goal ≤ 25); ` +
      `runs p99 ${runs.map((l) => l.p99.toFixed(1)).join(' · ')}, p99.9 ${runs.map((l) => l.p99_9.toFixed(1)).join(' · ')}`,
  );
}

await main();
