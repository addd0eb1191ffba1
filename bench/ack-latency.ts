// npm run bench:ack — the acknowledgement latency of native NDJSON ingest at a fixed rate, measured
// by an independent load generator: wrk (C, its own HTTP client and latency histogram), driven by
// bench/lib/wrk-open-loop.lua so that one request leaves every 1/rate s whatever the answers'
// latency (an open loop), so bench:ingest's own client is not the only witness of issue 16's goal:
// p99 ≤ 10 ms and p99.9 ≤ 25 ms at 50,000 lines/s in 100-line batches. A fresh `loghaven start`
// per run (production profile, authentication on, durability fsync); a warm-up at the same rate
// first. wrk is installed with apt-get when missing (Debian's package).
// The baseline, in each run before the server starts: the disk's own group commit (no server, no
// other writer), the same bodies appended at the same rate to a file in the same directory, each
// done once an fdatasync after it returns (bench/lib/group-commit.ts): the floor any server that
// acknowledges only durable lines gets from this disk at that moment.
//
//   npm run bench:ack -- [--rate 50000] [--batch 100] [--connections 32] [--duration 20] [--warmup 5] [--runs 3] [--no-baseline]
//   (BENCH_NODE_ARGS: flags for the server's node, e.g. "--cpu-prof --cpu-prof-dir=DIR")

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startChild, stopChild, type ChildServer } from '../test/helpers/child-server.js';
import { corpusLines } from './lib/corpus.js';
import { groupCommitLatency, type CommitLatency, type LatencyPercentiles } from './lib/group-commit.js';
import { sampleSteal } from './lib/process-cpu.js';
import { fmt, machine } from './lib/report.js';
import { histogramDelta, scrape } from './lib/server-scrape.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '100' },
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    'no-baseline': { type: 'boolean', default: false },
  },
});
const RATE = Number(args.rate);
const BATCH = Number(args.batch);
const CONNECTIONS = Number(args.connections);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const RUNS = Number(args.runs);
const SCRIPT = path.join(import.meta.dirname, 'lib', 'wrk-open-loop.lua');

/** 100-line bodies of distinct corpus lines, written to `file` each ended by a NUL byte (the script's separator); returns them without it. */
function writeBodies(file: string): Buffer[] {
  const lines = corpusLines(200_000);
  const out: string[] = [];
  for (let i = 0; i + BATCH <= lines.length; i += BATCH) out.push(`${lines.slice(i, i + BATCH).join('\n')}\n`);
  fs.writeFileSync(file, out.map((b) => `${b}\0`).join(''));
  return out.map((b) => Buffer.from(b));
}

/** wrk on the PATH, installed from Debian's packages when missing. */
function ensureWrk(): void {
  if (spawnSync('wrk', ['--version']).error === undefined) return;
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).status !== 0) {
    throw new Error('wrk is not installed, and apt-get cannot install it here (run: apt-get install -y wrk)');
  }
  console.log('installing wrk (apt-get install wrk)…');
  const r = spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0 || spawnSync('wrk', ['--version']).error !== undefined) {
    throw new Error(`apt-get install wrk failed (exit ${r.status}): ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

interface Latency extends LatencyPercentiles {
  requests: number;
  seconds: number;
  non2xx: number;
  socketErrors: number;
  /** Requests that left more than 1 ms after their slot: every connection was waiting. */
  late: number;
}

function load(server: ChildServer, bodies: string, seconds: number): Promise<Latency> {
  const headers = Object.entries({ ...server.headers, 'content-type': 'application/x-ndjson' }).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const argv = ['-t', '1', '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '10s', ...headers, '-s', SCRIPT, server.url, '--', String((1000 * BATCH) / RATE), bodies, '/api/v1/logs'];
  return new Promise((resolve, reject) => {
    const wrk = spawn('wrk', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    wrk.stdout.on('data', (d) => (out += d));
    wrk.stderr.on('data', (d) => (out += d));
    wrk.on('error', reject);
    wrk.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
      if (code !== 0 || line === undefined) return reject(new Error(`wrk exited with ${code}: ${out.trim().split('\n').slice(-5).join(' | ')}`));
      resolve(JSON.parse(line) as Latency);
    });
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  ensureWrk();
  console.log(`loghaven acknowledgement latency, independent load generator (wrk, open loop) — ${machine()}`);
  console.log(`${fmt(RATE)} lines/s offered as ${fmt(RATE / BATCH)} requests/s of ${BATCH} lines, one every ${((1000 * BATCH) / RATE).toFixed(2)} ms on ${CONNECTIONS} connections; ${WARMUP_S} s warm-up, then ${DURATION_S} s; ${RUNS} runs`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-ack-bodies-'));
  const payloads = path.join(work, 'bodies');
  const bodies = writeBodies(payloads);
  const runs: Latency[] = [];
  const floors: CommitLatency[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-ack-'));
    if (!args['no-baseline']) {
      // What the run before left dirty (its data directory, removed) is written back first.
      spawnSync('sync');
      await new Promise((r) => setTimeout(r, 2000));
      const f = await groupCommitLatency(dataDir, bodies, RATE / BATCH, DURATION_S);
      floors.push(f);
      console.log(
        `  run ${run}, baseline — the disk's own group commit of the same bodies, no server: p50 ${f.p50.toFixed(1)} ms, p90 ${f.p90.toFixed(1)} ms, ` +
          `p99 ${f.p99.toFixed(1)} ms, p99.9 ${f.p99_9.toFixed(1)} ms, max ${f.max.toFixed(1)} ms; ${fmt(f.requests)} appends, ${fmt(f.fsyncs)} fdatasyncs`,
      );
    }
    const server = await startChild(dataDir, {
      env: { LOGHAVEN_PROFILE: 'production', LOGHAVEN_LOG_LEVEL: 'warn' },
      auth: true,
      // e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof", as bench:ingest takes them.
      nodeArgs: process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [],
    });
    try {
      await load(server, payloads, WARMUP_S);
      const before = await scrape(server);
      // (Its timer does not hold the process: a failed load needs no stop.)
      const steal = sampleSteal();
      const l = await load(server, payloads, DURATION_S);
      const stolen = steal.stop();
      const after = await scrape(server);
      runs.push(l);
      console.log(
        `  run ${run}: ack p50 ${l.p50.toFixed(1)} ms, p90 ${l.p90.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, p99.9 ${l.p99_9.toFixed(1)} ms, max ${l.max.toFixed(1)} ms; ` +
          `${fmt(l.requests)} requests (${fmt((l.requests * BATCH) / l.seconds)} lines/s), ${l.non2xx} not 2xx, ${l.socketErrors} socket errors, ${l.late} sent late`,
      );
      // The server's side of the same run: where a slow answer waited.
      const fsyncs = histogramDelta(before.fsyncs, after.fsyncs);
      const acks = histogramDelta(before.acks, after.acks);
      const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
      console.log(
        `    server: ${fmt(acks.count)} answers timed from the request's arrival, ${pct(acks.within('0.01'))} within 10 ms, ${pct(acks.within('0.025'))} within 25 ms, ${pct(acks.within('0.05'))} within 50 ms; ` +
          `event-loop delay p99 ${after.loopP99.toFixed(1)} ms, p99.9 ${after.loopP999.toFixed(1)} ms, max ${after.loopMax.toFixed(1)} ms; ` +
          (fsyncs.count === 0
            ? 'no spool fsyncs (durability is not "fsync")'
            : `${fmt(fsyncs.count)} spool fsyncs, ${pct(fsyncs.within('0.001'))} within 1 ms, ${pct(fsyncs.within('0.0025'))} within 2.5 ms, ` +
              `${pct(fsyncs.within('0.005'))} within 5 ms, ${pct(fsyncs.within('0.01'))} within 10 ms`),
      );
      // A stall that neither the server nor wrk explains may be the host's: a CPU held by it.
      if (stolen.totalMs.length > 0) {
        console.log(
          `    host: CPU time stolen by the hypervisor (steal in /proc/stat) ${stolen.totalMs.map((t, i) => `cpu${i} ${t.toFixed(0)} ms`).join(', ')}; ` +
            `the most in one ${stolen.sampleMs} ms sample ${stolen.worstMs.map((t, i) => `cpu${i} ${t.toFixed(0)} ms`).join(', ')}`,
        );
      }
    } finally {
      await stopChild(server);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
  const m = (f: (l: Latency) => number) => median(runs.map(f)).toFixed(1);
  console.log(
    `\nmedian of ${RUNS}: ack p50 ${m((l) => l.p50)} ms, p99 ${m((l) => l.p99)} ms (goal ≤ 10), p99.9 ${m((l) => l.p99_9)} ms (goal ≤ 25); ` +
      `runs p99 ${runs.map((l) => l.p99.toFixed(1)).join(' · ')}, p99.9 ${runs.map((l) => l.p99_9.toFixed(1)).join(' · ')}`,
  );
  if (floors.length > 0) {
    const b = (f: (l: CommitLatency) => number) => median(floors.map(f)).toFixed(1);
    console.log(
      `baseline, the disk's own group commit: p50 ${b((l) => l.p50)} ms, p99 ${b((l) => l.p99)} ms, p99.9 ${b((l) => l.p99_9)} ms; ` +
        `runs p99 ${floors.map((l) => l.p99.toFixed(1)).join(' · ')}, p99.9 ${floors.map((l) => l.p99_9.toFixed(1)).join(' · ')}`,
    );
  }
}

await main();
