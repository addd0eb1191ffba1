// npm run bench:protocols — ingest throughput of each protocol into a real loghaven process
// (production profile, durability fsync), on the records of the benchmark corpus in each
// protocol's wire format (bench/lib/protocol-payloads.ts). A fresh server per protocol and run.
//
// HTTP protocols (native NDJSON, Loki JSON with and without structured metadata, Loki protobuf, Elasticsearch
// bulk, OTLP/JSON and OTLP/protobuf): a closed loop of keep-alive clients
// for a fixed time, counting only lines the server acknowledged — and loghaven acknowledges once
// they are fsynced — so the figures are durable throughput; at the end the server's own count
// and the rows it loaded are checked against the clients' count. Each protocol's rate is also
// given as a ratio to native NDJSON's in the same run (the same lines, loghaven's own format);
// The protocols store more than the corpus lines hold: Loki with structured metadata a trace and
// span id per row, Elasticsearch bulk the document's `_index`, OTLP the severity number and the
// scope. So each is measured against native NDJSON whose lines carry the same (native-meta,
// native-es, native-otlp: the same rows stored, test/server/bench-payloads.test.ts), and its ratio
// to plain native is shown beside it.
// ZeroMQ: the shipped client (loghaven/zmq-client) to the ROUTER socket, a window of envelopes
// in flight, each an NDJSON batch, counting records acknowledged (durable, as for HTTP).
// Syslog over TCP has no acknowledgements: a fixed stream of RFC 5424 lines is written over
// several connections, and the figure is messages / time until the server counts all of them
// durable (and again with durability "none"). The baseline, same run, same bytes: rsyslog (imtcp →
// omfile) until its file holds them all, with its defaults (buffered writes, no fsync) and again
// fsyncing every batch.
//
// Three runs by default, each protocol's figures given as their median: on a shared 2-core machine
// one 20 s run of the same build gave OTLP / native anywhere from 0.61 to 0.92 (BENCHMARKS.md).
//
//   npm run bench:protocols -- [--only syslog,zmq,native,native-meta,loki,loki-proto,loki-meta,native-es,es,native-otlp,otlp,otlp-proto] [--runs 3] [--duration 20] [--warmup 3]
//                              [--clients 8] [--batch 1000] [--zmq-window 16] [--syslog-connections 4] [--syslog-messages N]
//                              [--no-durability-none] [--no-rsyslog] [--no-rsyslog-sync]
//                              [--rsyslog-sync-messages 1000000] [--cpu-prof DIR]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startChild, type ChildServer } from '../test/helpers/child-server.js';
import { ensureDebianPackage } from '../test/helpers/debian.js';
import { closedLoop, type AckReader } from './lib/closed-loop.js';
import type { PostResult } from './lib/http-post.js';
import { ingestedLines, timeUntil, waitLoaded } from './lib/loghaven-counts.js';
import { cpuSecondsOf, ownCpuSeconds } from './lib/process-cpu.js';
import {
  corpus,
  esBulkBodies,
  lokiBodies,
  lokiMetadataBodies,
  lokiProtobufBodies,
  ndjsonIndexPayloads,
  ndjsonMetadataPayloads,
  ndjsonOtlpPayloads,
  ndjsonPayloads,
  otlpJsonBodies,
  otlpProtobufBodies,
  otlpProtobufRejected,
  syslogLines,
  type Bodies,
  type Corpus,
} from './lib/protocol-payloads.js';
import { LoghavenZmqClient } from '../src/ingest/zeromq/client.js';
import { fmt, machine, percentile } from './lib/report.js';
import { Rsyslogd } from './lib/rsyslog.js';
import { newlineStream, TcpSender, type TcpStream } from './lib/tcp-sender.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: '' },
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1000' },
    'syslog-connections': { type: 'string', default: '4' },
    'syslog-messages': { type: 'string', default: '' },
    'no-rsyslog': { type: 'boolean', default: false },
    'no-rsyslog-sync': { type: 'boolean', default: false },
    'rsyslog-sync-messages': { type: 'string', default: '1000000' },
    'no-durability-none': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string', default: '' },
    'zmq-window': { type: 'string', default: '16' },
  },
});
const RUNS = Number(args.runs);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const SYSLOG_CONNECTIONS = Number(args['syslog-connections']);
const CPU_PROF_DIR = args['cpu-prof'] ? path.resolve(args['cpu-prof']) : '';

const CORPUS_LINES = 200_000;
const SERVER_ENV = { LOGHAVEN_PROFILE: 'production', LOGHAVEN_LOG_LEVEL: 'warn' };

/** One figure of one run; figures of the same label are summarised over the runs. */
interface Figure {
  label: string;
  value: number;
  unit: string;
  /** The issue's goal for this figure: at least `min`. */
  goal?: { min: number; text: string };
}

interface ProtocolBench {
  /** Its name for `--only`. */
  key: string;
  /** What is sent and measured, for the printout before the runs. */
  describe(): string;
  run(run: number): Promise<Figure[]>;
}

// The corpus is needed only to build what is sent (bodies, the syslog stream), before the runs:
// it is dropped then, since the load generator's garbage collector would otherwise mark its
// hundreds of thousands of objects over and over while answers arrive.
let theCorpus: Corpus | undefined;
const getCorpus = () => (theCorpus ??= corpus(CORPUS_LINES));

async function startServer(key: string, run: number, env: Record<string, string> = {}): Promise<{ server: ChildServer; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `loghaven-bench-${key}-`));
  const nodeArgs = CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', path.join(CPU_PROF_DIR, `${key}-run${run}`)] : [];
  const server = await startChild(dataDir, { env: { ...SERVER_ENV, ...env }, auth: true, nodeArgs });
  return { server, dataDir };
}

/** SIGTERM and a clean exit (so that --cpu-prof writes its profile); SIGKILL after a minute. */
async function stopServer(s: { server: ChildServer; dataDir: string }): Promise<void> {
  const { proc, exited } = s.server;
  try {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) console.log(`  the server exited with ${String(code)}: ${s.server.output().slice(-2000)}`);
    }
  } finally {
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  }
}

const cores = (cpuSeconds: number, seconds: number) => (cpuSeconds / seconds).toFixed(2);

/** One closed-loop run's count of acknowledged lines, how long it took, and each answer's wait. */
interface LoopRun {
  lines: number;
  seconds: number;
  latenciesMs: number[];
}

/**
 * A warm-up run and the measured run of a closed loop against `server`, with the CPU each side
 * used during the measured one, then the check: lines acknowledged = lines the server counted
 * (`loghaven_ingest_lines_total{protocol=metric}`) = rows loaded. A mismatch fails the benchmark.
 */
async function measureLoop<T extends LoopRun>(server: ChildServer, metric: string, loop: (seconds: number) => Promise<T>) {
  const warm = await loop(WARMUP_S);
  const serverCpu = cpuSecondsOf(server.proc.pid!);
  const ownCpu = ownCpuSeconds();
  const t = await loop(DURATION_S);
  const serverCores = cores(cpuSecondsOf(server.proc.pid!) - serverCpu, t.seconds);
  const ownCores = cores(ownCpuSeconds() - ownCpu, t.seconds);
  const lat = t.latenciesMs.sort((a, b) => a - b);
  const acked = warm.lines + t.lines;
  const counted = await ingestedLines(server.url, metric, server.headers);
  const stored = await waitLoaded(server.url, acked, undefined, server.headers);
  const same = acked === counted && counted === stored;
  if (!same) process.exitCode = 1;
  return {
    warm,
    t,
    rate: t.lines / t.seconds,
    latency: `ack p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms`,
    serverCores,
    ownCores,
    check:
      `check: ${fmt(acked)} lines acked ${acked === counted ? '=' : '≠'} ${fmt(counted)} counted by the server (${metric}) ` +
      `${counted === stored ? '=' : '≠'} ${fmt(stored)} rows stored${same ? '' : '  ← MISMATCH'}`,
  };
}

// ---- HTTP protocols ----

interface HttpProtocol {
  key: string;
  title: string;
  /** Its `protocol` label in loghaven's metrics. */
  metric: string;
  path: string;
  headers: Record<string, string>;
  bodies: (c: Corpus, batch: number) => Bodies;
  /** What the bodies are, for the printout. */
  shape: string;
  acked: AckReader;
  /**
   * The native route's run that stores the same rows, to give this one's rate as a ratio to
   * (issue 16's goal); native NDJSON of the corpus lines when not given.
   */
  yardstick?: string;
}

const HTTP_GOAL = { min: 150_000, text: '≥ 150,000' };
/** Issue 16: each HTTP protocol at least 0.8 × native NDJSON ingest of the same rows, same run (the label names the yardstick). */
const RATIO_GOAL = { min: 0.8, text: '≥ 0.8' };
/** Each yardstick's rate in each run, by `${key} ${run}` (they run before the protocols measured by them). */
const yardstickRates = new Map<string, number>();

function httpBench(p: HttpProtocol): ProtocolBench {
  let built: Bodies | undefined;
  const bodies = () => (built ??= p.bodies(getCorpus(), BATCH));
  return {
    key: p.key,
    describe: () =>
      `${p.title}: ${p.shape}; ${BATCH}-line bodies, ${bodies().bytesPerLine.toFixed(0)} bytes/line; ` +
      `${CLIENTS} keep-alive clients, ${WARMUP_S} s warm-up, then ${DURATION_S} s`,
    async run(run) {
      const s = await startServer(p.key, run);
      try {
        const loop = (seconds: number) =>
          closedLoop({ url: s.server.url, path: p.path, headers: { ...p.headers, ...s.server.headers }, bodies: bodies().bodies, linesPerBody: BATCH, clients: CLIENTS, seconds, acked: p.acked });
        const m = await measureLoop(s.server, p.metric, loop);
        const { warm, t } = m;
        const failures = [...warm.failures, ...t.failures];
        console.log(
          `  ${p.title}: ${fmt(m.rate)} lines/s (goal ${HTTP_GOAL.text}), ${((t.bytes / t.seconds) / 2 ** 20).toFixed(1)} MB/s; ` +
            `${m.latency}; ${fmt(t.requests)} requests` +
            (failures.length > 0 ? `, refused: ${failures.map(([st, n]) => `${fmt(n)} × ${st}`).join(', ')} (first: ${(t.firstFailure ?? warm.firstFailure)!.trim()})` : '') +
            (t.refusedLines + warm.refusedLines > 0 ? `, ${fmt(t.refusedLines + warm.refusedLines)} lines refused in partly accepted bodies` : '') +
            `\n    CPU: server ${m.serverCores} cores, load generator ${m.ownCores} cores; ${m.check}`,
        );
        const isYardstick = YARDSTICKS.has(p.key);
        const figures: Figure[] = [{ label: p.title, value: m.rate, unit: 'lines/s', goal: isYardstick ? undefined : HTTP_GOAL }];
        if (isYardstick) {
          yardstickRates.set(`${p.key} ${run}`, m.rate);
          return figures;
        }
        const yardstick = p.yardstick ?? NATIVE_KEY;
        const native = yardstickRates.get(`${NATIVE_KEY} ${run}`);
        const own = yardstickRates.get(`${yardstick} ${run}`);
        // With a yardstick of its own the ratio to plain native is shown too, without the goal.
        if (yardstick !== NATIVE_KEY && native !== undefined) figures.push({ label: `${p.title} / native`, value: m.rate / native, unit: '×' });
        const of = yardstick === NATIVE_KEY ? 'native' : HTTP_PROTOCOLS.find((q) => q.key === yardstick)!.title;
        if (own !== undefined) figures.push({ label: `${p.title} / ${of}`, value: m.rate / own, unit: '×', goal: RATIO_GOAL });
        return figures;
      } finally {
        await stopServer(s);
      }
    },
  };
}

const lokiAcked = (r: PostResult, sent: number) => {
  if (r.status === 204) return sent;
  const m = r.status === 400 ? /^(\d+) entries accepted/.exec(r.body.toString()) : null;
  return m ? Number(m[1]) : null;
};

/** The yardstick of the HTTP protocols: the same lines through loghaven's own NDJSON route. */
const NATIVE_KEY = 'native';
/** Loki with structured metadata stores the trace context too: its yardstick's lines carry it. */
const NATIVE_META_KEY = 'native-meta';
/** Elasticsearch keeps each document's `_index` in attrs; OTLP a record's severity number and scope. */
const NATIVE_ES_KEY = 'native-es';
const NATIVE_OTLP_KEY = 'native-otlp';
const YARDSTICKS = new Set([NATIVE_KEY, NATIVE_META_KEY, NATIVE_ES_KEY, NATIVE_OTLP_KEY]);

const nativeAcked = (r: PostResult, sent: number) => {
  if (r.status !== 200) return null;
  return (JSON.parse(r.body.toString()) as { accepted: number }).accepted ?? sent;
};

const HTTP_PROTOCOLS: HttpProtocol[] = [
  {
    key: NATIVE_KEY,
    title: 'native NDJSON',
    metric: 'native',
    path: '/api/v1/logs',
    headers: { 'content-type': 'application/x-ndjson' },
    bodies: ndjsonPayloads,
    shape: 'POST /api/v1/logs: the corpus lines as they are, newline-separated',
    acked: nativeAcked,
  },
  {
    key: NATIVE_META_KEY,
    title: 'native NDJSON + trace context',
    metric: 'native',
    path: '/api/v1/logs',
    headers: { 'content-type': 'application/x-ndjson' },
    bodies: ndjsonMetadataPayloads,
    shape: "POST /api/v1/logs: each corpus line with Loki + metadata's trace_id and span_id as members (the same rows as it stores)",
    acked: nativeAcked,
  },
  {
    key: 'loki',
    title: 'Loki push, JSON',
    metric: 'loki',
    path: '/loki/api/v1/push',
    headers: { 'content-type': 'application/json' },
    bodies: lokiBodies,
    shape: 'POST /loki/api/v1/push: one stream per service (service_name label), each entry [ns, the JSON line]',
    acked: lokiAcked,
  },
  {
    key: 'loki-proto',
    title: 'Loki push, protobuf',
    metric: 'loki',
    path: '/loki/api/v1/push',
    headers: { 'content-type': 'application/x-protobuf' },
    bodies: lokiProtobufBodies,
    shape: 'POST /loki/api/v1/push: the same pushes as Loki JSON, snappy-compressed protobuf (as Promtail and Alloy send)',
    acked: lokiAcked,
  },
  {
    key: 'loki-meta',
    title: 'Loki push, JSON + metadata',
    metric: 'loki',
    path: '/loki/api/v1/push',
    headers: { 'content-type': 'application/json' },
    bodies: lokiMetadataBodies,
    shape: 'POST /loki/api/v1/push: as above, each entry [ns, the JSON line, {trace_id, span_id}] (structured metadata)',
    acked: lokiAcked,
    yardstick: NATIVE_META_KEY,
  },
  {
    key: NATIVE_ES_KEY,
    title: 'native NDJSON + _index',
    metric: 'native',
    path: '/api/v1/logs',
    headers: { 'content-type': 'application/x-ndjson' },
    bodies: ndjsonIndexPayloads,
    shape: 'POST /api/v1/logs: each corpus line with the bulk action\'s "_index" as a member (the same rows as Elasticsearch bulk stores)',
    acked: nativeAcked,
  },
  {
    key: 'es',
    title: 'Elasticsearch bulk',
    metric: 'elasticsearch',
    path: '/_bulk',
    headers: { 'content-type': 'application/x-ndjson' },
    bodies: esBulkBodies,
    shape: 'POST /_bulk: {"create":{"_index":"app"}} + an ECS document (@timestamp, log.level, message, service.name, host.name, …) per line; full answer (no filter_path)',
    acked: (r: PostResult, sent: number) => {
      if (r.status !== 200) return null;
      // errors:false says every item succeeded (the server's count is checked against the sum at
      // the end): the answer, 190 bytes an item, is read only when some failed.
      if (r.body.toString('latin1', 0, 64).includes('"errors":false')) return sent;
      const doc = JSON.parse(r.body.toString()) as { items: Record<string, { status: number; error?: unknown }>[] };
      return doc.items.filter((it) => {
        const v = Object.values(it)[0];
        return v !== undefined && v.status < 300 && v.error === undefined;
      }).length;
    },
    yardstick: NATIVE_ES_KEY,
  },
  {
    key: NATIVE_OTLP_KEY,
    title: 'native NDJSON + severity, scope',
    metric: 'native',
    path: '/api/v1/logs',
    headers: { 'content-type': 'application/x-ndjson' },
    bodies: ndjsonOtlpPayloads,
    shape: 'POST /api/v1/logs: each corpus record with its OTel severity number, attributes as flat dotted keys and the scope as members (the same rows as OTLP stores)',
    acked: nativeAcked,
  },
  {
    key: 'otlp',
    title: 'OTLP/HTTP logs, JSON',
    metric: 'otlp',
    path: '/v1/logs',
    headers: { 'content-type': 'application/json' },
    bodies: otlpJsonBodies,
    shape: 'POST /v1/logs: a ResourceLogs per (service.name, host.name), records with timeUnixNano, severity, body.stringValue and attributes',
    acked: (r: PostResult, sent: number) => {
      if (r.status !== 200) return null;
      const doc = JSON.parse(r.body.toString()) as { partialSuccess?: { rejectedLogRecords?: string } };
      return sent - Number(doc.partialSuccess?.rejectedLogRecords ?? 0);
    },
    yardstick: NATIVE_OTLP_KEY,
  },
  {
    key: 'otlp-proto',
    title: 'OTLP/HTTP logs, protobuf',
    metric: 'otlp',
    path: '/v1/logs',
    headers: { 'content-type': 'application/x-protobuf' },
    bodies: otlpProtobufBodies,
    shape: 'POST /v1/logs: the same requests as OTLP JSON, in protobuf (the Collector\'s otlphttp default)',
    acked: (r: PostResult, sent: number) => (r.status === 200 ? sent - otlpProtobufRejected(r.body) : null),
    yardstick: NATIVE_OTLP_KEY,
  },
];

// ---- syslog over TCP, against rsyslog ----

const SYSLOG_GOAL = 200_000;

/** By default what the goal rate delivers in --duration; whole passes over the corpus (see rsyslogRun). */
function passes(wanted: number): number {
  return Math.max(1, Math.round(wanted / CORPUS_LINES)) * CORPUS_LINES;
}
const syslogMessages = () => passes(args['syslog-messages'] ? Number(args['syslog-messages']) : SYSLOG_GOAL * DURATION_S);
const rsyslogSyncMessages = () => passes(Number(args['rsyslog-sync-messages']));

let syslogStream: TcpStream | undefined;
const syslogStreamOf = () => (syslogStream ??= newlineStream(syslogLines(getCorpus()), 1000));
const tcpSender = (port: number, messages: number) => TcpSender.connect(port, syslogStreamOf(), SYSLOG_CONNECTIONS, messages);

interface SyslogRun {
  rate: number;
  line: string;
  ok: boolean;
}

/**
 * loghaven: the time until loghaven_ingest_lines_total{protocol="syslog"} counts every message,
 * which it does once they are in its spool (fsynced, with durability fsync).
 */
async function loghavenSyslogRun(run: number, messages: number, durability: 'fsync' | 'none'): Promise<SyslogRun> {
  const syslogPort = await freePort();
  const s = await startServer(durability === 'fsync' ? 'syslog' : `syslog-${durability}`, run, {
    LOGHAVEN_SYSLOG_PORT: String(syslogPort),
    LOGHAVEN_INGEST_DURABILITY: durability,
  });
  try {
    const count = () => ingestedLines(s.server.url, 'syslog', s.server.headers);
    const warm = await tcpSender(syslogPort, CORPUS_LINES);
    const warmStarted = performance.now();
    await warm.send();
    await timeUntil(count, CORPUS_LINES, warmStarted);
    const sender = await tcpSender(syslogPort, messages);
    const serverCpu = cpuSecondsOf(s.server.proc.pid!);
    const ownCpu = ownCpuSeconds();
    const started = performance.now();
    const sent = sender.send();
    const seconds = await timeUntil(count, CORPUS_LINES + messages, started);
    const { seconds: sendSeconds, bytes } = await sent;
    const serverCores = cores(cpuSecondsOf(s.server.proc.pid!) - serverCpu, seconds);
    const ownCores = cores(ownCpuSeconds() - ownCpu, seconds);
    const stored = await waitLoaded(s.server.url, CORPUS_LINES + messages, undefined, s.server.headers);
    const loadedAfter = (performance.now() - started) / 1000;
    const counted = await count();
    const rate = messages / seconds;
    const ok = counted === CORPUS_LINES + messages && stored === counted;
    const what = durability === 'fsync' ? 'loghaven' : 'loghaven, durability none (no fsync)';
    return {
      rate,
      ok,
      line:
        `  syslog TCP → ${what}: ${fmt(rate)} messages/s${durability === 'fsync' ? ` (goal ≥ ${fmt(SYSLOG_GOAL)} and ≥ rsyslog)` : ''}, ${(bytes / seconds / 2 ** 20).toFixed(1)} MB/s: ` +
        `${fmt(messages)} messages counted in ${seconds.toFixed(2)} s (the sender had written them all after ${sendSeconds.toFixed(2)} s); ` +
        `all loaded into DuckDB after ${loadedAfter.toFixed(2)} s` +
        `\n    CPU: server ${serverCores} cores, sender and poller ${ownCores} cores; ` +
        `check: ${fmt(CORPUS_LINES + messages)} sent (warm-up included) ${counted === CORPUS_LINES + messages ? '=' : '≠'} ${fmt(counted)} counted ${stored === counted ? '=' : '≠'} ${fmt(stored)} rows stored` +
        (ok ? '' : '  ← MISMATCH'),
    };
  } finally {
    await stopServer(s);
  }
}

/**
 * rsyslog, after a warm-up of one pass over the corpus. rsyslog renders a message the same way
 * every time, so its file grows by the warm-up's size for every further pass: the timed part ends
 * when the file has that many bytes (a stat per poll), and the lines are counted after the clock
 * stopped.
 */
async function rsyslogRun(binary: string, messages: number, sync: boolean, loghavenRate: number): Promise<SyslogRun> {
  const r = await Rsyslogd.start(binary, { sync });
  try {
    const warm = await tcpSender(r.port, CORPUS_LINES);
    await warm.send();
    await waitForLines(r, CORPUS_LINES);
    const target = r.bytesWritten() * (1 + messages / CORPUS_LINES);
    const sender = await tcpSender(r.port, messages);
    const cpu = cpuSecondsOf(r.proc.pid!);
    const ownCpu = ownCpuSeconds();
    const started = performance.now();
    const sent = sender.send();
    const seconds = await timeUntil(() => r.bytesWritten(), target, started);
    const { seconds: sendSeconds, bytes } = await sent;
    const rCores = cores(cpuSecondsOf(r.proc.pid!) - cpu, seconds);
    const ownCores = cores(ownCpuSeconds() - ownCpu, seconds);
    const lines = r.linesWritten();
    const rate = messages / seconds;
    const ok = lines === CORPUS_LINES + messages && r.bytesWritten() === target;
    const what = sync ? 'rsyslog → file, sync="on" (fsync after every batch)' : 'rsyslog → file, defaults (a write(2) per batch, no fsync)';
    return {
      rate,
      ok,
      line:
        `  syslog TCP → ${what}: ${fmt(rate)} messages/s, ${(bytes / seconds / 2 ** 20).toFixed(1)} MB/s: ` +
        `${fmt(messages)} messages in the file after ${seconds.toFixed(2)} s (the sender had written them all after ${sendSeconds.toFixed(2)} s); ` +
        `loghaven / this = ${(loghavenRate / rate).toFixed(2)}` +
        `\n    CPU: rsyslogd ${rCores} cores, sender and poller ${ownCores} cores; check: ${fmt(CORPUS_LINES + messages)} sent ${lines === CORPUS_LINES + messages ? '=' : '≠'} ${fmt(lines)} lines in the file` +
        (ok ? '' : `  ← MISMATCH (${fmt(r.bytesWritten())} bytes, expected ${fmt(target)})`),
    };
  } finally {
    await r.stop();
  }
}

function syslogBench(): ProtocolBench {
  let rsyslogd: string | null | undefined;
  return {
    key: 'syslog',
    describe() {
      syslogStreamOf();
      const sample = syslogLines({ lines: getCorpus().lines.slice(0, 1), records: getCorpus().records.slice(0, 1) })[0]!;
      return (
        `syslog over TCP: RFC 5424, newline-framed, ${SYSLOG_CONNECTIONS} connections each written by its own worker thread from pre-built buffers; ` +
        `one pass over the corpus as warm-up, then ${fmt(syslogMessages())} messages (--syslog-messages; whole passes), e.g.\n    ${sample}\n` +
        `    loghaven parses each message into its columns (severity, facility, host, app, procid, structured data → attrs, message), ` +
        `counts it once it is fsynced to its spool, and loads it into DuckDB` +
        (args['no-durability-none'] ? '' : `; and the same with ingest.durability = "none" (no fsync)`) +
        ';\n' +
        (args['no-rsyslog']
          ? '    rsyslog: skipped'
          : `    rsyslog ${rsyslogVersion()} (imtcp → omfile, template RSYSLOG_SyslogProtocol23Format: it parses the same header fields and writes them all to one file), ` +
            `the same byte stream, with its defaults — a 4 KiB buffer written out at the end of each batch, no fsync: the page cache, not the disk` +
            (args['no-rsyslog-sync']
              ? ''
              : `; and with sync="on" (fsync after every batch: the durability loghaven gives), ${fmt(rsyslogSyncMessages())} messages (--rsyslog-sync-messages)`)) +
        `;\n    no acknowledgements: the time is until the receiver holds every message`
      );
    },
    async run(run) {
      const messages = syslogMessages();
      const figures: Figure[] = [];
      const report = (r: SyslogRun) => {
        console.log(r.line);
        if (!r.ok) process.exitCode = 1;
      };

      const loghaven = await loghavenSyslogRun(run, messages, 'fsync');
      report(loghaven);
      figures.push({ label: 'syslog TCP → loghaven', value: loghaven.rate, unit: 'messages/s', goal: { min: SYSLOG_GOAL, text: `≥ ${fmt(SYSLOG_GOAL)}` } });
      if (!args['no-durability-none']) {
        const none = await loghavenSyslogRun(run, messages, 'none');
        report(none);
        figures.push({ label: 'syslog TCP → loghaven, durability none', value: none.rate, unit: 'messages/s' });
      }

      if (args['no-rsyslog']) return figures;
      const binary = rsyslogBinary();
      if (binary === null) return figures;
      const plain = await rsyslogRun(binary, messages, false, loghaven.rate);
      report(plain);
      figures.push({ label: 'syslog TCP → rsyslog → file, defaults (no fsync)', value: plain.rate, unit: 'messages/s' });
      figures.push({ label: 'loghaven / rsyslog defaults', value: loghaven.rate / plain.rate, unit: '×', goal: { min: 1, text: '≥ 1' } });
      if (!args['no-rsyslog-sync']) {
        const synced = await rsyslogRun(binary, rsyslogSyncMessages(), true, loghaven.rate);
        report(synced);
        figures.push({ label: 'syslog TCP → rsyslog → file, fsync per batch', value: synced.rate, unit: 'messages/s' });
        figures.push({ label: 'loghaven / rsyslog fsync per batch', value: loghaven.rate / synced.rate, unit: '×' });
      }
      return figures;
    },
  };

  function rsyslogBinary(): string | null {
    if (rsyslogd === undefined) {
      try {
        rsyslogd = ensureDebianPackage('rsyslog', 'rsyslogd');
      } catch (e) {
        console.log(`  rsyslog baseline skipped: ${(e as Error).message}`);
        rsyslogd = null;
      }
    }
    return rsyslogd;
  }

  function rsyslogVersion(): string {
    const binary = rsyslogBinary();
    if (binary === null) return '(not available)';
    const v = spawnSync(binary, ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
    return /rsyslogd\s+(\S+)/.exec(v)?.[1] ?? 'unknown version';
  }
}

/** Untimed: waits until rsyslog's file stops growing with `lines` lines in it. */
async function waitForLines(r: Rsyslogd, lines: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  let size = -1;
  for (;;) {
    await new Promise((w) => setTimeout(w, 100));
    const now = r.bytesWritten();
    if (now === size && now > 0 && r.linesWritten() >= lines) return;
    if (Date.now() > deadline) throw new Error(`rsyslog wrote ${r.linesWritten()} of ${lines} lines: ${r.log}`);
    size = now;
  }
}

// ---- ZeroMQ ROUTER with acknowledgements ----

const ZMQ_GOAL = { min: 200_000, text: '≥ 200,000' };
const ZMQ_WINDOW = Number(args['zmq-window']);

function zmqBench(): ProtocolBench {
  let built: Bodies | undefined;
  const payloads = () => (built ??= ndjsonPayloads(getCorpus(), BATCH));
  return {
    key: 'zmq',
    describe: () =>
      `ZeroMQ ROUTER with acknowledgements: loghaven/zmq-client, envelopes of ${BATCH} NDJSON records (batch flag, CRC32C, no gzip), ` +
      `${payloads().bytesPerLine.toFixed(0)} bytes/record, ${ZMQ_WINDOW} envelopes in flight; ${WARMUP_S} s warm-up, then ${DURATION_S} s`,
    async run(run) {
      const routerPort = await freePort();
      const s = await startServer('zmq', run, { LOGHAVEN_ZEROMQ_ROUTER_PORT: String(routerPort) });
      const client = await LoghavenZmqClient.connect(`tcp://127.0.0.1:${routerPort}`);
      try {
        const bodies = payloads().bodies;
        let next = 0;
        /** Closed loop: each of the window's slots sends its next envelope once the last is acknowledged. */
        const loop = async (seconds: number): Promise<LoopRun> => {
          const latenciesMs: number[] = [];
          let lines = 0;
          const started = performance.now();
          const end = started + seconds * 1000;
          await Promise.all(
            Array.from({ length: ZMQ_WINDOW }, async () => {
              while (performance.now() < end) {
                const t0 = performance.now();
                const ack = await client.send(bodies[next++ % bodies.length]!);
                latenciesMs.push(performance.now() - t0);
                lines += ack.accepted;
              }
            }),
          );
          return { lines, seconds: (performance.now() - started) / 1000, latenciesMs };
        };
        const m = await measureLoop(s.server, 'zeromq', loop);
        console.log(
          `  ZeroMQ ROUTER: ${fmt(m.rate)} messages/s acknowledged (goal ${ZMQ_GOAL.text}); ${m.latency}\n` +
            `    CPU: server ${m.serverCores} cores, client ${m.ownCores} cores; ${m.check}`,
        );
        return [{ label: 'ZeroMQ ROUTER, acknowledged', value: m.rate, unit: 'messages/s', goal: ZMQ_GOAL }];
      } finally {
        await client.close();
        await stopServer(s);
      }
    },
  };
}

// ---- the list ----

/** Every protocol, in the order they run; `--only` picks by key. */
const PROTOCOLS: ProtocolBench[] = [
  syslogBench(),
  zmqBench(),
  ...HTTP_PROTOCOLS.map(httpBench),
];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const show = (value: number, unit: string) => (unit === '×' ? value.toFixed(2) : fmt(value));

async function main(): Promise<void> {
  const only = args.only ? args.only.split(',').map((k) => k.trim()) : PROTOCOLS.map((p) => p.key);
  const unknown = only.filter((k) => !PROTOCOLS.some((p) => p.key === k));
  if (unknown.length > 0) throw new Error(`--only: no protocol ${unknown.join(', ')} (there are ${PROTOCOLS.map((p) => p.key).join(', ')})`);
  const selected = PROTOCOLS.filter((p) => only.includes(p.key));

  console.log(`loghaven protocol benchmark — ${machine()}`);
  console.log(
    `corpus: ${fmt(CORPUS_LINES)} distinct records (bench/lib/corpus.ts), the same in every protocol; ` +
      `server: a fresh \`loghaven start\` per protocol and run, production profile, durability fsync; ` +
      `load generators on the same ${os.cpus().length} cores as the server`,
  );
  for (const p of selected) console.log(`  ${p.describe()}`);
  theCorpus = undefined;

  const results = new Map<string, Figure[]>();
  for (let run = 1; run <= RUNS; run++) {
    console.log(`\nrun ${run} of ${RUNS}`);
    for (const p of selected) {
      for (const f of await p.run(run)) {
        if (!results.has(f.label)) results.set(f.label, []);
        results.get(f.label)!.push(f);
      }
    }
  }

  console.log(`\nsummary — ${RUNS === 1 ? 'one run' : `medians of ${RUNS} runs (the runs in brackets)`}:`);
  const width = Math.max(...[...results.keys()].map((k) => k.length));
  for (const [label, figures] of results) {
    const m = median(figures.map((f) => f.value));
    const { unit, goal } = figures[0]!;
    const runs = RUNS > 1 ? ` (${figures.map((f) => show(f.value, unit)).join(' · ')})` : '';
    const verdict = goal ? `  goal ${goal.text}: ${m >= goal.min ? 'met' : 'NOT met'}` : '';
    console.log(`  ${label.padEnd(width)}  ${show(m, unit).padStart(9)} ${unit}${runs}${verdict}`);
  }
  if (CPU_PROF_DIR) console.log(`\nCPU profiles of the servers: ${CPU_PROF_DIR}/<protocol>-run<n>/`);
}

await main();
