// `loghaven db optimize|maintain|monitor|stats`: database upkeep. Through a running server
// (`--url`, an admin key of every tenant in LOGHAVEN_API_KEY) or, for optimize, maintain and
// stats, on a stopped server's data directory (`--data-dir`, or the configuration's data_dir).
//
//   optimize  checkpoint: the WAL folded into the file, statistics fresh; the file rewritten when a
//             fifth of it is free space (--rewrite: always, --no-rewrite: never)
//   maintain  retention applied now (what it removed is reported), access-log aggregates rebuilt
//   monitor   a live table of ingest, queries, cache and storage, every --interval
//   stats     rows, days and bytes of each tier, and how well each packs the records
//   migrate   a DuckDB store copied into an empty PostgreSQL database (store/migrate.ts)

import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatByteSize } from '../../config/size.js';
import { isLhError } from '../../errors.js';
import { archiveDirOf, createLifecycle } from '../../lifecycle/lifecycle.js';
import type { RetentionResult } from '../../lifecycle/retention.js';
import { dbStats, type DbStats } from '../../lifecycle/stats.js';
import type { Store } from '../../store/store.js';
import type { Config } from '../../config/schema.js';
import { formatConfigError, isConfigError } from '../config-errors.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type ExitCode } from '../exit-codes.js';
import { API_KEY_ENV, describeFailure, exitCodeFor, getJson, runJob, sendJson, valueOrExit } from '../http-client.js';
import { withLocalStore } from '../local-store.js';
import { configFileOption, parsePositiveInteger, parseServerUrl, serverUrlOption } from '../options.js';

interface WhereOptions {
  url?: string;
  dataDir?: string;
  config?: string;
  format: 'text' | 'json';
}

/** The server's answer at `path`, or the same computed on the data directory; an exit code when it failed. */
async function ask<T>(
  o: WhereOptions,
  method: 'GET' | 'POST' | 'JOB',
  path: string,
  local: (store: Store, config: Config, dataDir: string) => Promise<T>,
  body: object = {},
): Promise<{ value: T } | { code: ExitCode }> {
  if (o.url !== undefined) {
    // A job on the server (retention over many days takes a while) is followed with a progress bar.
    return valueOrExit(
      method === 'JOB' ? await runJob<T>(o.url, path, body, path.split('/').pop()!) : await sendJson<T>(o.url, method, path, method === 'POST' ? {} : undefined, 30 * 60_000),
    );
  }
  try {
    return { value: await withLocalStore(o, local) };
  } catch (e) {
    if (isConfigError(e)) {
      process.stderr.write(`${formatConfigError(e)}\n`);
      return { code: EXIT_INVALID };
    }
    if (isLhError(e)) {
      process.stderr.write(`${e.message}\n`);
      return { code: e.status < 500 ? EXIT_INVALID : EXIT_FAILURE };
    }
    throw e;
  }
}

interface MaintainAnswer {
  retention: RetentionResult;
  access_aggregates: { rows: number; ms: number };
}

async function maintain(o: WhereOptions): Promise<ExitCode> {
  const r = await ask<MaintainAnswer>(o, 'JOB', '/api/v1/db/maintain', async (store, config, dataDir) => {
    const retention = await createLifecycle(config, store, dataDir).retention.run();
    return { retention, access_aggregates: await store.access.rebuildAggregates() };
  });
  if ('code' in r) return r.code;
  const { retention: t, access_aggregates: a } = r.value;
  if (o.format === 'json') process.stdout.write(`${JSON.stringify(r.value)}\n`);
  else {
    for (const d of t.expired) process.stdout.write(`expired ${d.tenant} ${d.day}: ${d.rows} rows\n`);
    for (const d of t.waiting_for_archive) process.stdout.write(`kept ${d.tenant} ${d.day} for now: ${d.rows} rows to expire once the day is archived\n`);
    for (const d of t.held) process.stdout.write(`kept ${d.tenant} ${d.day} for now: restored from its archive lately\n`);
    for (const d of t.files_removed) process.stdout.write(`removed category files of ${d}\n`);
    if (t.size !== null) {
      for (const d of t.size.days) process.stdout.write(`removed ${d.day} for retention.max_disk_bytes: ${d.hot_rows} rows, ${d.archives} archives${d.files ? ', category files' : ''}\n`);
      process.stdout.write(`data directory: ${formatByteSize(t.size.bytes_before)} before, ${formatByteSize(t.size.bytes_after)} after, bound ${formatByteSize(t.size.max_bytes)}${t.size.over ? ' (still over: no closed day left to remove)' : ''}\n`);
    }
    if (t.optimized?.rewritten) process.stdout.write(`database file rewritten: ${formatByteSize(t.optimized.bytes_before)} before, ${formatByteSize(t.optimized.bytes_after)} after\n`);
    process.stdout.write(`retention: ${t.rows} rows expired from ${t.expired.length} tenant days in ${t.ms} ms\naccess aggregates rebuilt from ${a.rows} rows in ${a.ms} ms\n`);
  }
  return EXIT_OK;
}

async function optimize(o: WhereOptions & { rewrite?: boolean }): Promise<ExitCode> {
  const rewrite = o.rewrite ?? 'auto';
  const r = await ask(o, 'JOB', '/api/v1/db/optimize', (store) => store.optimize({ rewrite }), { rewrite });
  if ('code' in r) return r.code;
  const d = r.value;
  process.stdout.write(
    o.format === 'json'
      ? `${JSON.stringify(d)}\n`
      : `store ${d.rewritten ? 'rewritten' : 'checkpointed'} in ${d.ms} ms: ${formatByteSize(d.bytes_before)} before, ${formatByteSize(d.bytes_after)} after\n`,
  );
  return EXIT_OK;
}

const ratio = (r: number | null) => (r === null || r === 0 ? '-' : `1/${(1 / r).toFixed(1)}`);

async function stats(o: WhereOptions): Promise<ExitCode> {
  const r = await ask<DbStats>(o, 'GET', '/api/v1/db/stats', (store, config, dataDir) => dbStats(store, dataDir, archiveDirOf(config, dataDir)));
  if ('code' in r) return r.code;
  const s = r.value;
  if (o.format === 'json') {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return EXIT_OK;
  }
  const rows: [string, string][] = [
    ['hot store', `${s.hot.backend}: ${s.hot.rows.toLocaleString('en-US')} rows, ${s.hot.days} days (${s.hot.first_day ?? '-'} … ${s.hot.last_day ?? '-'}), ${s.hot.tenants} tenants, ${formatByteSize(s.hot.bytes)}${s.hot.bytes_per_row === null ? '' : ` (${s.hot.bytes_per_row} bytes a row)`}`],
    ['archives', `${s.archive.days} tenant days, ${s.archive.records.toLocaleString('en-US')} records; tar.gz ${formatByteSize(s.archive.tar_bytes)} (${ratio(s.archive.tar_ratio)} of the JSONL), parquet ${formatByteSize(s.archive.parquet_bytes)} (${ratio(s.archive.parquet_ratio)})${s.archive.incomplete > 0 ? `; ${s.archive.incomplete} incomplete` : ''}`],
    ['cold (archive only)', `${s.cold.days} tenant days, ${s.cold.records.toLocaleString('en-US')} records no longer in the hot store`],
    ['category files', `${s.files.days} days, ${formatByteSize(s.files.bytes)}`],
  ];
  const width = Math.max(...rows.map(([l]) => l.length));
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(width)}  ${value}\n`);
  return EXIT_OK;
}

interface MonitorOptions {
  url: string;
  interval: number;
  count?: number;
  format: 'text' | 'json';
}

interface StatusSample {
  store: { rows: number; bytes: number };
  ingest: { queue_records: number; spool_backlog_bytes: number };
  queries: { running: number; queued: number };
  cache: { enabled: boolean; hit_ratio?: number | null };
  memory: { rss_bytes: number };
  ready: boolean;
}

function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000) : NaN;
  if (!(ms >= 100 && ms <= 3_600_000)) throw new InvalidArgumentError('expected a duration between 100ms and 60m such as 2s, 500ms, 1m');
  return ms;
}

/** One line per sample: ingest (rows/s from the store's count), queues, queries, cache, storage; until interrupted or --count. */
async function monitor(o: MonitorOptions): Promise<ExitCode> {
  let last: { at: number; rows: number } | null = null;
  const header = ['time', 'rows/s', 'rows', 'store', 'queue', 'spool', 'queries', 'cache', 'rss', 'ready'];
  const widths = [8, 9, 13, 10, 8, 10, 8, 6, 10, 5];
  if (o.format === 'text') process.stdout.write(`${header.map((h, i) => h.padStart(widths[i]!)).join(' ')}\n`);
  for (let n = 0; o.count === undefined || n < o.count; n++) {
    if (n > 0) await new Promise((r) => setTimeout(r, o.interval));
    const r = await getJson<StatusSample>(o.url, '/api/v1/status', { timeoutMs: Math.max(5000, o.interval) });
    if (!r.ok) {
      process.stderr.write(`${describeFailure(r.failure)}\n`);
      return exitCodeFor(r.failure);
    }
    const s = r.value;
    const now = Date.now();
    const rate = last === null ? null : Math.max(0, ((s.store.rows - last.rows) * 1000) / (now - last.at));
    last = { at: now, rows: s.store.rows };
    const hit = s.cache.enabled && typeof s.cache.hit_ratio === 'number' ? `${Math.round(s.cache.hit_ratio * 100)}%` : '-';
    if (o.format === 'json') {
      process.stdout.write(`${JSON.stringify({ at: new Date(now).toISOString(), rows_per_s: rate === null ? null : Math.round(rate), rows: s.store.rows, store_bytes: s.store.bytes, queue_records: s.ingest.queue_records, spool_backlog_bytes: s.ingest.spool_backlog_bytes, queries_running: s.queries.running, queries_queued: s.queries.queued, cache_hit_ratio: s.cache.enabled ? (s.cache.hit_ratio ?? null) : null, rss_bytes: s.memory.rss_bytes, ready: s.ready })}\n`);
    } else {
      const cells = [
        new Date(now).toISOString().slice(11, 19),
        rate === null ? '-' : Math.round(rate).toLocaleString('en-US'),
        s.store.rows.toLocaleString('en-US'),
        formatByteSize(s.store.bytes),
        s.ingest.queue_records.toLocaleString('en-US'),
        formatByteSize(s.ingest.spool_backlog_bytes),
        `${s.queries.running}+${s.queries.queued}`,
        hit,
        formatByteSize(s.memory.rss_bytes),
        s.ready ? 'yes' : 'NO',
      ];
      process.stdout.write(`${cells.map((c, i) => c.padStart(widths[i]!)).join(' ')}\n`);
    }
  }
  return EXIT_OK;
}

interface MigrateOptions {
  from: string;
  to: string;
  format: 'text' | 'json';
}

async function migrate(o: MigrateOptions): Promise<ExitCode> {
  if (!o.from.startsWith('duckdb:') || o.from.length === 'duckdb:'.length) {
    process.stderr.write(`--from must be duckdb:PATH (a data directory or a loghaven.duckdb file), got ${JSON.stringify(o.from)}\n`);
    return EXIT_INVALID;
  }
  if (!/^postgres(ql)?:\/\//.test(o.to)) {
    process.stderr.write(`--to must be a PostgreSQL URL such as postgres://user@host:5432/db, got ${JSON.stringify(o.to)}\n`);
    return EXIT_INVALID;
  }
  const { migrateDuckDbToPostgres } = await import('../../store/migrate.js');
  const bar =
    process.stderr.isTTY && o.format === 'text'
      ? new cliProgress.SingleBar({ format: ' {bar} {percentage}% | {value}/{total} rows | ETA {eta_formatted}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
      : null;
  let started = false;
  try {
    const result = await migrateDuckDbToPostgres(
      o.from.slice('duckdb:'.length),
      { url: o.to, poolMax: 4, idleTimeoutMs: 10_000, connectTimeoutMs: 10_000, acquireTimeoutMs: 60_000 },
      (p) => {
        if (bar === null) return;
        if (!started) bar.start(Math.max(1, p.total), 0);
        started = true;
        bar.update(p.rows);
      },
    );
    bar?.stop();
    if (o.format === 'json') process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(`copied ${result.rows} rows of ${result.days} tenant days and ${result.keys} API keys in ${result.seconds} s\n`);
      for (const m of result.mismatches) process.stdout.write(`count differs: ${m.tenant} ${m.day}: ${m.source} in DuckDB, ${m.target} in PostgreSQL\n`);
      process.stdout.write(result.mismatches.length === 0 ? 'every tenant day has the same count on both sides\n' : '');
    }
    return result.mismatches.length === 0 ? EXIT_OK : EXIT_FAILURE;
  } catch (e) {
    bar?.stop();
    if (isLhError(e)) {
      process.stderr.write(`${e.message}\n`);
      return e.status < 500 ? EXIT_INVALID : EXIT_FAILURE;
    }
    throw e;
  }
}

export function dbCommand(): Command {
  const db = new Command('db').description('database upkeep: optimize, maintain, monitor, stats, migrate');
  const where = (c: Command) =>
    c
      .addOption(new Option('--url <url>', `a running server (with an admin key in ${API_KEY_ENV}); without it, the data directory`).argParser(parseServerUrl))
      .addOption(new Option('--data-dir <dir>', 'data directory of a stopped server (overrides data_dir)').conflicts('url'))
      .addOption(configFileOption())
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'));
  where(db.command('optimize').description('checkpoint the store (the WAL folded into the file, statistics fresh), and rewrite its file when a fifth of it is free space'))
    .option('--rewrite', 'rewrite the database file in any case (the space of deleted rows goes back to the file system)')
    .option('--no-rewrite', 'only checkpoint')
    .action(async (o: WhereOptions & { rewrite?: boolean }) => {
      process.exitCode = await optimize(o);
    });
  where(db.command('maintain').description('apply retention now (what it removed is reported), and rebuild the access-log aggregates from the access table')).action(async (o: WhereOptions) => {
    process.exitCode = await maintain(o);
  });
  db.command('monitor')
    .description('a live table of a running server: ingest rate, queue, spool, queries, cache hit ratio, storage, memory')
    .addOption(serverUrlOption())
    .addOption(new Option('--interval <duration>', 'time between samples (e.g. 2s, 500ms)').default(2000, '2s').argParser(parseInterval))
    .addOption(new Option('--count <n>', 'stop after this many samples').argParser(parsePositiveInteger))
    .addOption(new Option('--format <format>', 'output format (json: one object per sample)').choices(['text', 'json']).default('text'))
    .action(async (o: MonitorOptions) => {
      process.exitCode = await monitor(o);
    });
  db.command('migrate')
    .description('copy a DuckDB store (a stopped server\'s data directory or its loghaven.duckdb) into an empty PostgreSQL database, sequence numbers and API keys included, and check every tenant day\'s count on both sides')
    .requiredOption('--from <source>', 'duckdb:PATH — the data directory or database file to copy')
    .requiredOption('--to <url>', 'postgres://user@host:5432/db — an empty database (set up as a server would)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: MigrateOptions) => {
      process.exitCode = await migrate(o);
    });
  where(db.command('stats').description('rows, days and bytes of each tier — hot store, archives, days only the archives hold, category files — and their ratios')).action(async (o: WhereOptions) => {
    process.exitCode = await stats(o);
  });
  return db;
}
