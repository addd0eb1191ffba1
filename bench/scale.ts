// npm run bench:scale — loghaven on PostgreSQL (store.backend = "postgres"), beside PostgreSQL's
// own bulk load measured in the same run:
//
// 1. One instance, durable: --lines lines of the ingest corpus posted by --clients closed-loop
//    clients in batches of --batch, timed from the first post until every row is committed in
//    PostgreSQL (acknowledged rows are fsynced in the instance's spool first).
// 2. The baseline: the very rows of (1), exported from PostgreSQL in COPY's text format, loaded by
//    `psql \copy` into an identical table (same partitions, same indexes) in a schema of its own.
// 3. Three instances at once on a fresh database, the same lines split among them: the aggregate
//    rate beside (1) — on this one 2-core machine everything shares the same cores, so what this
//    shows is that coordination (the sequence counter, the visibility barrier) does not collapse.
// 4. The cost of each component per million rows (CPU seconds of the instances' processes and of
//    PostgreSQL's), from which docs/deployment.md's scaling model is drawn.
//
// With --query-data DIR (a data directory kept by `npm run bench:query -- --data DIR`), also:
// 5. The same 10M-row store migrated into PostgreSQL (`db migrate`, once), and a count (histogram),
//    a needle search and top values asked of a server on each backend, --runs times.
//
//   npm run bench:scale -- [--lines 1000000] [--clients 8] [--batch 1000] [--runs 3] [--query-data DIR [--query-only]]

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CLI, startChild, stopChild, type ChildServer } from '../test/helpers/child-server.js';
import { corpusLines } from './lib/corpus.js';
import { HttpPoster } from './lib/http-post.js';
import { cpuSecondsOf } from './lib/process-cpu.js';
import { NEEDLE } from './lib/query-corpus.js';
import { fmt, machine } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    'query-data': { type: 'string' },
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'query-only': { type: 'boolean', default: false },
  },
});
const LINES = Number(args.lines);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const RUNS = Number(args.runs);
const ADMIN_URL = args['pg-url']!;
const dbUrl = (db: string) => ADMIN_URL.replace(/\/[^/]*$/, `/${db}`);
const PSQL_ARGS = (url: string) => ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url];

const lines = corpusLines(200_000);
const bodies: Buffer[] = [];
for (let i = 0; i + BATCH <= lines.length; i += BATCH) bodies.push(Buffer.from(`${lines.slice(i, i + BATCH).join('\n')}\n`));

async function admin(sql: string, url = ADMIN_URL): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

async function freshDatabase(name: string): Promise<string> {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  return dbUrl(name);
}

/** CPU seconds of every PostgreSQL server process (its backends do the COPY). */
function postgresCpuSeconds(): number {
  const out = spawnSync('pgrep', ['-x', 'postgres'], { encoding: 'utf8' }).stdout ?? '';
  let total = 0;
  for (const pid of out.split('\n').filter(Boolean)) {
    const s = cpuSecondsOf(Number(pid));
    if (Number.isFinite(s)) total += s;
  }
  return total;
}

interface IngestRun {
  instances: number;
  lines: number;
  ackSeconds: number;
  /** From the first post until every row is committed in PostgreSQL. */
  seconds: number;
  rate: number;
  instanceCpuPerMillion: number;
  postgresCpuPerMillion: number;
}

/** Posts `total` lines split among the servers, `clients` closed-loop clients in all; waits for PostgreSQL to hold them. */
async function ingest(servers: ChildServer[], url: string, total: number): Promise<IngestRun> {
  const cpu0 = servers.map((s) => cpuSecondsOf(s.proc.pid!));
  const pg0 = postgresCpuSeconds();
  const counter = new pg.Client({ connectionString: url });
  await counter.connect();
  const committed = async () => Number((await counter.query('SELECT last FROM seq_counter')).rows[0].last);
  const start = performance.now();
  let sent = 0;
  const perClient = Math.max(1, Math.ceil(CLIENTS / servers.length));
  await Promise.all(
    servers.flatMap((s) => {
      const poster = new HttpPoster(s.url, perClient);
      return Array.from({ length: perClient }, async (_, c) => {
        let next = c;
        while (sent < total) {
          sent += BATCH;
          const body = bodies[next++ % bodies.length]!;
          for (;;) {
            const r = await poster.post('/api/v1/logs', body, { 'content-type': 'application/x-ndjson' });
            if (r.status === 200) break;
            await new Promise((w) => setTimeout(w, 50));
          }
        }
      });
    }),
  );
  const acked = performance.now();
  const want = Math.ceil(total / BATCH) * BATCH;
  while ((await committed()) < want) await new Promise((r) => setTimeout(r, 50));
  const done = performance.now();
  await counter.end();
  const rows = want;
  const instanceCpu = servers.reduce((n, s, i) => n + cpuSecondsOf(s.proc.pid!) - cpu0[i]!, 0);
  return {
    instances: servers.length,
    lines: rows,
    ackSeconds: (acked - start) / 1000,
    seconds: (done - start) / 1000,
    rate: rows / ((done - start) / 1000),
    instanceCpuPerMillion: (instanceCpu / rows) * 1e6,
    postgresCpuPerMillion: ((postgresCpuSeconds() - pg0) / rows) * 1e6,
  };
}

async function startInstances(n: number, url: string): Promise<ChildServer[]> {
  const env = { LOGHAVEN_STORE_BACKEND: 'postgres', LOGHAVEN_STORE_POSTGRES_URL: url, LOGHAVEN_PROFILE: 'production', LOGHAVEN_AUTH_ENABLED: 'false', LOGHAVEN_FILES_ENABLED: 'false' };
  const servers: ChildServer[] = [];
  for (let i = 0; i < n; i++) servers.push(await startChild(fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-scale-')), { env }));
  return servers;
}

/** `psql \copy` of the rows of database `from` into an identical table in a fresh database; rows/s. */
async function psqlCopyBaseline(from: string): Promise<{ rate: number; seconds: number; rows: number; postgresCpuPerMillion: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-copy-'));
  const file = path.join(dir, 'rows.copy');
  try {
    const cols = 'seq, ts, received_at, tenant, level, severity, service, host, category, source, message, trace_id, span_id, attrs';
    execFileSync('psql', [...PSQL_ARGS(from), '-c', `\\copy (SELECT ${cols} FROM logs ORDER BY seq) TO '${file}'`]);
    const to = await freshDatabase('lh_bench_copy');
    // The same layout: the store's own migrations, and the partitions the loaded rows needed.
    const { PostgresStore } = await import('../src/store/postgres/pg-store.js');
    const store = await PostgresStore.open({ url: to, instance: 'bench', poolMax: 2, idleTimeoutMs: 1000, connectTimeoutMs: 5000, acquireTimeoutMs: 5000 });
    await store.migrate();
    await store.close();
    const parts = (await admin(`SELECT pg_get_expr(c.relpartbound, c.oid) AS bound, c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'logs'::regclass`, from)).rows;
    for (const p of parts) await admin(`CREATE TABLE ${p.name} PARTITION OF logs ${p.bound}`, to);
    const rows = Number((await admin('SELECT count(*) AS n FROM logs', from)).rows[0].n);
    // psql's server process exists only while it runs: its CPU is sampled until it ends.
    const watcher = new pg.Client({ connectionString: to });
    await watcher.connect();
    let backendCpu = 0;
    const t = performance.now();
    const copying = new Promise<void>((resolve, reject) => {
      const p = spawn('psql', [...PSQL_ARGS(to), '-c', `\\copy logs (${cols}) FROM '${file}'`], { stdio: ['ignore', 'ignore', 'inherit'] });
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`))));
    });
    let running = true;
    void copying.finally(() => (running = false)).catch(() => undefined);
    while (running) {
      const r = await watcher.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'psql' AND datname = current_database()`);
      for (const row of r.rows) {
        const cpu = cpuSecondsOf(row.pid as number);
        if (Number.isFinite(cpu) && cpu > backendCpu) backendCpu = cpu;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    await copying;
    const seconds = (performance.now() - t) / 1000;
    await watcher.end();
    return { rate: rows / seconds, seconds, rows, postgresCpuPerMillion: (backendCpu / rows) * 1e6 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function timed(server: ChildServer, p: string): Promise<number> {
  const t = performance.now();
  const r = await fetch(`${server.url}${p}`, { headers: { 'cache-control': 'no-cache' } });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${p}: ${r.status}`);
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function queryComparison(dataDir: string): Promise<void> {
  const meta = JSON.parse(fs.readFileSync(path.join(dataDir, 'bench-query.json'), 'utf8')) as { rows: number };
  const db = `lh_bench_query_${meta.rows}`;
  const exists = (await admin(`SELECT 1 FROM pg_database WHERE datname = '${db}'`)).rowCount! > 0;
  if (!exists) {
    await admin(`CREATE DATABASE ${db}`);
    console.log(`migrating the ${meta.rows}-row DuckDB store of ${dataDir} into PostgreSQL (${db}), once …`);
    const t = performance.now();
    execFileSync(process.execPath, [CLI, 'db', 'migrate', '--from', `duckdb:${dataDir}`, '--to', dbUrl(db)], { stdio: 'inherit' });
    await admin('VACUUM ANALYZE', dbUrl(db));
    console.log(`  ${fmt((performance.now() - t) / 1000)} s`);
  }
  const duck = await startChild(dataDir, { env: { LOGHAVEN_PROFILE: 'production', LOGHAVEN_AUTH_ENABLED: 'false' } });
  const pgDir = path.join(dataDir, '..', `${path.basename(dataDir)}-postgres-instance`);
  fs.mkdirSync(pgDir, { recursive: true });
  const onPg = await startChild(pgDir, { env: { LOGHAVEN_STORE_BACKEND: 'postgres', LOGHAVEN_STORE_POSTGRES_URL: dbUrl(db), LOGHAVEN_PROFILE: 'production', LOGHAVEN_AUTH_ENABLED: 'false', LOGHAVEN_FILES_ENABLED: 'false' } });
  try {
    // The PostgreSQL instance summarises every segment from its rows first (once; kept in its data directory).
    const t = performance.now();
    for (;;) {
      const st = (await (await fetch(`${onPg.url}/api/v1/status`)).json()) as { query_index: { segments: number; pending_segments: number } };
      if (st.query_index.pending_segments === 0) {
        console.log(`token index of ${st.query_index.segments} segments ready after ${fmt((performance.now() - t) / 1000)} s`);
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    await compareQueries(duck, onPg, meta.rows);
  } finally {
    await stopChild(duck);
    await stopChild(onPg);
  }
}

async function compareQueries(duck: ChildServer, onPg: ChildServer, rows: number): Promise<void> {
  const questions: [string, string][] = [
    ['count (hourly histogram, all)', '/api/v1/logs/histogram?step=1h&from=now-30d'],
    ['needle search', `/api/v1/logs?q=${NEEDLE}&from=now-30d&limit=100`],
    ['top services', '/api/v1/logs/top?field=service&from=now-30d'],
    ['latest 100', '/api/v1/logs?limit=100&from=now-30d'],
  ];
  console.log(`\n5. ${rows} rows, median of ${RUNS} runs after a warm-up (ms)`);
  console.log('question                         DuckDB   PostgreSQL   ratio');
  for (const [name, q] of questions) {
    await timed(duck, q);
    await timed(onPg, q);
    const d: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      d.push(await timed(duck, q));
      p.push(await timed(onPg, q));
    }
    console.log(`${name.padEnd(32)} ${fmt(median(d)).padStart(6)}   ${fmt(median(p)).padStart(10)}   ${(median(p) / median(d)).toFixed(2)}×`);
  }
}

async function main(): Promise<void> {
  console.log(`bench:scale — ${machine()} — ${new Date().toISOString()}`);
  if (args['query-only']) {
    if (args['query-data'] === undefined) throw new Error('--query-only needs --query-data DIR');
    return queryComparison(args['query-data']);
  }
  console.log(`${LINES} lines, ${CLIENTS} clients, batches of ${BATCH}\n`);
  const one = await freshDatabase('lh_bench_scale_one');
  const single = await startInstances(1, one);
  const r1 = await ingest(single, one, LINES);
  for (const s of single) await stopChild(s);
  const base = await psqlCopyBaseline(one);
  const three = await freshDatabase('lh_bench_scale_three');
  const trio = await startInstances(3, three);
  const r3 = await ingest(trio, three, LINES);
  for (const s of trio) await stopChild(s);
  console.log('                                   rows/s    s      ack s   ratio');
  console.log(`1. one instance into PostgreSQL   ${fmt(r1.rate).padStart(8)}  ${fmt(r1.seconds).padStart(5)}  ${fmt(r1.ackSeconds).padStart(5)}   ${(r1.rate / base.rate).toFixed(2)}× psql \\copy`);
  console.log(`2. psql \\copy, same rows, table  ${fmt(base.rate).padStart(8)}  ${fmt(base.seconds).padStart(5)}`);
  console.log(`3. three instances at once        ${fmt(r3.rate).padStart(8)}  ${fmt(r3.seconds).padStart(5)}  ${fmt(r3.ackSeconds).padStart(5)}   ${(r3.rate / r1.rate).toFixed(2)}× one instance`);
  console.log('\n4. CPU seconds per million rows   instances   PostgreSQL');
  console.log(`   one instance                    ${fmt(r1.instanceCpuPerMillion).padStart(8)}   ${fmt(r1.postgresCpuPerMillion).padStart(10)}`);
  console.log(`   three instances                 ${fmt(r3.instanceCpuPerMillion).padStart(8)}   ${fmt(r3.postgresCpuPerMillion).padStart(10)}`);
  console.log(`   psql \\copy (its server process)             ${fmt(base.postgresCpuPerMillion).padStart(10)}`);
  const record = { date: new Date().toISOString(), machine: machine(), lines: LINES, clients: CLIENTS, batch: BATCH, one: r1, three: r3, psqlCopy: base };
  fs.mkdirSync('.bench', { recursive: true });
  fs.writeFileSync(path.join('.bench', `scale-${Date.now()}.json`), JSON.stringify(record, null, 2));
  if (args['query-data'] !== undefined) await queryComparison(args['query-data']);
}

await main();
