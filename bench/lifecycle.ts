// npm run bench:lifecycle — the daily archives, retention and the cold tier on a production
// server, with figures beside their references measured in the same run:
//
// 1. two closed days of --rows records each (bench:query's corpus: an application fleet's logs)
//    ingested over HTTP; their NDJSON bytes are the reference of every size;
// 2. searches over those two days on the hot store (a needle, a count by histogram, top values),
//    --runs times each;
// 3. `archive run` while a closed loop keeps ingesting today's records, against the same loop
//    just before without archiving: the archive time per day, and ingest's rate meanwhile;
// 4. sizes: the hot store per NDJSON byte, the tar.gz and the Parquet file per NDJSON byte, and
//    `gzip -6` of the same NDJSON (what the seed's tar.gz rotation amounts to);
// 5. a restart with retention of one day, `db maintain`: both days leave the hot store; the same
//    searches again, now from the Parquet cold tier, each checked to answer as on the hot store.
//
//   npm run bench:lifecycle -- [--rows 5000000] [--runs 5] [--clients 4] [--no-live]

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, startChild, stopChild, type ChildServer } from '../test/helpers/child-server.js';
import { HttpPoster } from './lib/http-post.js';
import { NEEDLE, QueryCorpus } from './lib/query-corpus.js';
import { fmt, machine } from './lib/report.js';

const { values: args } = parseArgs({
  options: { rows: { type: 'string', default: '5000000' }, runs: { type: 'string', default: '5' }, clients: { type: 'string', default: '4' }, 'no-live': { type: 'boolean', default: false } },
});
/** --no-live: no ingest beside the archive run (a quiet archive; no "ingest while archiving" figure). */
const LIVE = !args['no-live'];
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const CLIENTS = Number(args.clients);
const DAY_MS = 86_400_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const DAYS = [today - 3 * DAY_MS, today - 2 * DAY_MS];
const dayName = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function cli(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
}

/** Ingests one day of the corpus; its NDJSON bytes, and where a copy of them went (for gzip). */
async function loadDay(url: string, dayStart: number, seed: number, ndjsonCopy: string): Promise<{ bytes: number; seconds: number }> {
  const corpus = new QueryCorpus({ total: ROWS, endMs: dayStart + DAY_MS, spanMs: DAY_MS, seed });
  const client = new HttpPoster(url, CLIENTS);
  const out = fs.openSync(ndjsonCopy, 'w');
  let bytes = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (corpus.made < ROWS) {
        const b = corpus.batch(Math.min(5000, ROWS - corpus.made));
        bytes += b.body.length;
        fs.writeSync(out, b.body);
        for (;;) {
          const r = await client.post('/api/v1/logs', b.body, { 'content-type': 'application/x-ndjson' });
          if (r.status === 429) {
            await new Promise((res) => setTimeout(res, 50));
            continue;
          }
          if (r.status !== 200) throw new Error(`load: ${r.status} ${r.body.toString().slice(0, 200)}`);
          break;
        }
      }
    }),
  );
  fs.closeSync(out);
  return { bytes, seconds: (performance.now() - started) / 1000 };
}

interface Timed {
  ms: number[];
  body: string;
}

async function timeGet(url: string, route: string, params: Record<string, string>): Promise<Timed> {
  const ms: number[] = [];
  let body = '';
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const r = await fetch(`${url}${route}?${new URLSearchParams(params)}`);
    body = await r.text();
    if (r.status !== 200) throw new Error(`${route}: ${r.status} ${body.slice(0, 200)}`);
    ms.push(performance.now() - t);
  }
  return { ms, body };
}

async function searches(url: string): Promise<Record<string, Timed>> {
  const range = { from: new Date(DAYS[0]!).toISOString(), to: new Date(DAYS[1]! + DAY_MS).toISOString() };
  return {
    needle: await timeGet(url, '/api/v1/logs', { ...range, q: NEEDLE, limit: '100' }),
    'count (histogram, 1h)': await timeGet(url, '/api/v1/logs/histogram', { ...range, step: '1h' }),
    'errors by service (top)': await timeGet(url, '/api/v1/logs/top', { ...range, q: 'level:error', field: 'service' }),
  };
}

/** Today's records, as fast as the server takes them, until `stop()` says so: lines acknowledged per second. */
async function liveLoad(url: string, stop: () => boolean): Promise<number> {
  const corpus = new QueryCorpus({ total: Infinity, endMs: Date.now(), seed: 99 });
  const bodies = Array.from({ length: 100 }, () => corpus.batch(1000).body);
  const client = new HttpPoster(url, CLIENTS);
  let lines = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (!stop()) {
        const r = await client.post('/api/v1/logs', bodies[next++ % bodies.length]!, { 'content-type': 'application/x-ndjson' });
        if (r.status === 200) lines += 1000;
        else if (r.status === 429) await new Promise((res) => setTimeout(res, 20));
        else throw new Error(`live load: ${r.status} ${r.body.toString().slice(0, 200)}`);
      }
    }),
  );
  return lines / ((performance.now() - started) / 1000);
}

async function untilLoaded(url: string, rows: number): Promise<void> {
  for (;;) {
    const s = (await (await fetch(`${url}/api/v1/status`)).json()) as { store: { rows: number }; ingest: { spool_backlog_bytes: number; queue_records: number } };
    if (s.store.rows >= rows && s.ingest.spool_backlog_bytes === 0 && s.ingest.queue_records === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Until the server has nothing left to catch up on (spool loaded, token index built, category
 * files written): searches are timed on a quiet server, hot and cold alike.
 */
async function untilQuiet(url: string): Promise<void> {
  for (;;) {
    const s = (await (await fetch(`${url}/api/v1/status`)).json()) as { ingest: { spool_backlog_bytes: number; queue_records: number }; query_index: { pending_segments: number } };
    const files = /^loghaven_files_behind_rows (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text());
    if (s.ingest.spool_backlog_bytes === 0 && s.ingest.queue_records === 0 && s.query_index.pending_segments === 0 && (files === null || files[1] === '0')) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function runCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 }, (e, out, err) => (e ? reject(new Error(`${args.join(' ')}: ${err}`)) : resolve(out))));
}

/** The answer without the timings in it, to compare a tier's answer with the other's. */
const answerOf = (body: string) => body.replace(/"stats":\{[^}]*\}/, '');

async function main(): Promise<void> {
  console.log(`bench:lifecycle — ${machine()}; 2 closed days × ${fmt(ROWS)} records, ${RUNS} runs per search, ${CLIENTS} ingest clients`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-lifecycle-'));
  const data = path.join(dir, 'data');
  const env = { LOGHAVEN_PROFILE: 'production', LOGHAVEN_AUTH_ENABLED: 'false', LOGHAVEN_CACHE_ENABLED: 'false', LOGHAVEN_LIFECYCLE_INTERVAL_MS: '86400000' };
  let server: ChildServer = await startChild(data, { env });
  try {
    const ndjson: { bytes: number; file: string }[] = [];
    for (const [i, day] of DAYS.entries()) {
      const file = path.join(dir, `${dayName(day)}.ndjson`);
      const loaded = await loadDay(server.url, day, 1 + i, file);
      ndjson.push({ bytes: loaded.bytes, file });
      console.log(`  loaded ${dayName(day)}: ${fmt(ROWS)} records, ${(loaded.bytes / 2 ** 20).toFixed(0)} MiB of NDJSON in ${loaded.seconds.toFixed(1)} s`);
    }
    await untilLoaded(server.url, 2 * ROWS);
    // The category files caught up too: the archives take them as they are.
    while (!/^loghaven_files_behind_rows 0$/m.test(await (await fetch(`${server.url}/metrics`)).text())) await new Promise((r) => setTimeout(r, 500));
    cli(['db', 'optimize', '--no-rewrite', '--url', server.url]);
    const ndjsonBytes = ndjson[0]!.bytes + ndjson[1]!.bytes;
    const loadedBytes = (JSON.parse(cli(['db', 'stats', '--url', server.url, '--format', 'json'])) as { hot: { bytes: number } }).hot.bytes;
    // The database file rewritten (what retention does once deleted rows leave a fifth of it free).
    const rewrite = JSON.parse(cli(['db', 'optimize', '--rewrite', '--url', server.url, '--format', 'json'])) as { bytes_after: number; ms: number };
    const hotBytes = rewrite.bytes_after;
    await untilQuiet(server.url);
    const hot = await searches(server.url);
    console.log('  hot searches done');

    // Ingest alone for 20 s, then ingest while the two days are archived (without --no-live).
    const aloneUntil = performance.now() + 20_000;
    const aloneRate = LIVE ? await liveLoad(server.url, () => performance.now() > aloneUntil) : NaN;
    let archivingDone = false;
    const archiveStarted = performance.now();
    const [archiveOut, duringRate] = await Promise.all([
      runCli(['archive', 'run', '--url', server.url, '--format', 'json']).finally(() => (archivingDone = true)),
      LIVE ? liveLoad(server.url, () => archivingDone) : Promise.resolve(NaN),
    ]);
    const archiveSeconds = (performance.now() - archiveStarted) / 1000;
    const archived = (JSON.parse(archiveOut) as { archived: { day: string; records: number; ms: number; tar_bytes: number; parquet_bytes: number; jsonl_bytes: number; members_from: string; phases_ms: object }[] }).archived.filter((a) => DAYS.map(dayName).includes(a.day));
    console.log(`  archived in ${archiveSeconds.toFixed(1)} s${LIVE ? ' while ingesting' : ', nothing else running'}: ${archived.map((a) => `${a.day} members from ${a.members_from}, ${JSON.stringify(a.phases_ms)}`).join('; ')}`);
    // The floor of row-wise compression: zstd -19 of the first 500,000 lines of a day (its ratio).
    const sample = (cmd: string) => Number(execFileSync('sh', ['-c', `head -n 500000 '${ndjson[0]!.file}' | ${cmd} | wc -c`], { encoding: 'utf8' }).trim());
    let zstdRatio = NaN;
    try {
      zstdRatio = sample('cat') / sample('zstd -19 -T2 -q -c');
    } catch {
      // no zstd on this machine: the figure says so
    }
    const gzipBytes = ndjson.map((n) => Number(execFileSync('sh', ['-c', `gzip -6 -c '${n.file}' | wc -c`], { encoding: 'utf8' }).trim()));

    // Both days leave the hot store; the same searches from the cold tier.
    await stopChild(server);
    server = await startChild(data, { env: { ...env, LOGHAVEN_RETENTION_DAYS: '1' } });
    const maintained = JSON.parse(cli(['db', 'maintain', '--url', server.url, '--format', 'json'])) as { retention: { rows: number } };
    // Today's records from the ingest phases are still being indexed and written to files after
    // the restart: the cold searches wait for that, as the hot ones did.
    await untilQuiet(server.url);
    const cold = await searches(server.url);
    const stats = JSON.parse(cli(['db', 'stats', '--url', server.url, '--format', 'json'])) as { cold: { days: number; records: number } };

    console.log('\n| measure | figure | reference, same run | ratio | target | met |\n|---|---|---|---|---|---|');
    const row = (m: string, fig: string, ref: string, ratio: string, target: string, met: boolean | null) => console.log(`| ${m} | ${fig} | ${ref} | ${ratio} | ${target} | ${met === null ? '' : met ? 'yes' : '**no**'} |`);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    row('hot store, both days, as loaded', mib(loadedBytes), `NDJSON ${mib(ndjsonBytes)}`, `1/${(ndjsonBytes / loadedBytes).toFixed(1)}`, '', true);
    row(`hot store after db optimize --rewrite (${(rewrite.ms / 1000).toFixed(1)} s)`, mib(hotBytes), `NDJSON ${mib(ndjsonBytes)}; zstd -19 of it: ${Number.isNaN(zstdRatio) ? 'zstd not installed' : `1/${zstdRatio.toFixed(1)}`}`, `1/${(ndjsonBytes / hotBytes).toFixed(1)}`, '≤ 1/12 after compaction', ndjsonBytes / hotBytes >= 12);
    for (const [i, a] of archived.entries()) {
      const n = ndjson[DAYS.map(dayName).indexOf(a.day)]!.bytes;
      row(`tar.gz of ${a.day} (${fmt(a.records)} records)`, mib(a.tar_bytes), `NDJSON ${mib(n)}; gzip -6 of it ${mib(gzipBytes[i]!)}`, `1/${(n / a.tar_bytes).toFixed(1)}`, '≤ 1/10', n / a.tar_bytes >= 10);
      row(`Parquet of ${a.day}`, mib(a.parquet_bytes), `NDJSON ${mib(n)}`, `1/${(n / a.parquet_bytes).toFixed(1)}`, '≤ 1/8', n / a.parquet_bytes >= 8);
      row(`archiving ${a.day}${LIVE ? ', full-speed ingest beside it' : ', nothing else running'}`, `${(a.ms / 1000).toFixed(1)} s`, '', '', `≤ 30 s for 5M rows (${fmt(a.records)} here)`, a.ms <= 30_000 * (a.records / 5_000_000));
    }
    if (LIVE) row('ingest while archiving', `${fmt(Math.round(duringRate))} lines/s`, `${fmt(Math.round(aloneRate))} lines/s alone`, `${(duringRate / aloneRate).toFixed(2)}×`, '≥ 0.8×', duringRate / aloneRate >= 0.8);
    for (const name of Object.keys(hot)) {
      const h = median(hot[name]!.ms);
      const c = median(cold[name]!.ms);
      const same = answerOf(hot[name]!.body) === answerOf(cold[name]!.body);
      row(`${name}, ${fmt(2 * ROWS)} rows, cold tier (${stats.cold.days} days)`, `${c.toFixed(0)} ms (${cold[name]!.ms.map((x) => x.toFixed(0)).join(' · ')})`, `hot ${h.toFixed(0)} ms (${hot[name]!.ms.map((x) => x.toFixed(0)).join(' · ')})`, `${(c / h).toFixed(2)}×`, `≤ 3×${same ? '' : '; ANSWERS DIFFER'}`, same && c / h <= 3);
    }
    console.log(`\nretention removed ${fmt(maintained.retention.rows)} rows; cold tier: ${stats.cold.days} days, ${fmt(stats.cold.records)} records`);
  } finally {
    await stopChild(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
