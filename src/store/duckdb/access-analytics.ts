// Access-log analytics on DuckDB (store/access.ts). Summary, hourly, URL and error figures read
// the aggregate tables when the question allows it — no filter and a window of whole hours — and
// otherwise aggregate the matching rows of access_logs the same way on the fly (the same SQL over
// a derived relation, so both paths give figures of the same kind). Sessions, flows and funnels
// are built from access_logs with window functions, on one connection with the sessionised rows
// in a temporary table.

import type { DuckDBValue } from '@duckdb/node-api';
import type {
  AccessAnalytics,
  AccessError,
  AccessHour,
  AccessSelection,
  AccessSource,
  AccessSummary,
  AccessTotals,
  AccessUrl,
  FlowFigures,
  FunnelFigures,
  Latency,
  SessionFigures,
  SessionOptions,
} from '../access.js';
import { compileAccessWhere } from '../../query/access-sql.js';
import { AGGREGATES, REBUILD_AGGREGATES_SQL, bucketValueSql } from './access-tables.js';

export type Run = (sql: string, params: DuckDBValue[]) => Promise<DuckDBValue[][]>;

export interface AccessDeps {
  /** One read on a pooled connection. */
  read: Run;
  /** Several reads on one pooled connection (temporary tables live as long as `fn`). */
  withConnection<T>(fn: (run: Run) => Promise<T>): Promise<T>;
  /** Statements in one write transaction, serialised with the loads. */
  write<T>(fn: (run: Run) => Promise<T>): Promise<T>;
}

const HOUR_US = 3_600_000_000n;
const QUANTILES = [0.5, 0.9, 0.95, 0.99];

/** Sums every total-bearing aggregate has (access-tables.ts SUMS), as one select list. */
const TOTALS_SELECT = `sum(requests), sum(s2xx), sum(s3xx), sum(s4xx), sum(s5xx), sum(received_bytes), sum(sent_bytes),
  sum(latency_n), sum(latency_sum), min(latency_min), max(latency_max)`;
const TOTALS_WIDTH = 11;

class Params {
  readonly list: DuckDBValue[] = [];
  add(v: DuckDBValue): string {
    this.list.push(v);
    return `$${this.list.length}`;
  }
}

/** The relation an aggregate's rows come from for a selection: its table, or the same rows made on the fly. */
function relation(table: string, sel: AccessSelection, p: Params, aggregated: boolean): string {
  if (aggregated) {
    const w = [`tenant = ${p.add(sel.tenant)}`];
    if (sel.from !== undefined) w.push(`hour >= make_timestamp(${p.add(sel.from)})`);
    if (sel.to !== undefined) w.push(`hour < make_timestamp(${p.add(sel.to)})`);
    return `(SELECT * FROM ${table} WHERE ${w.join(' AND ')})`;
  }
  const fill = AGGREGATES.find((a) => a.table === table)!.fill;
  return `(WITH src AS (SELECT * FROM access_logs WHERE ${scanWhere(sel, p)}) ${fill})`;
}

/** The conditions on access_logs rows of a selection. */
function scanWhere(sel: AccessSelection, p: Params): string {
  const w = [`tenant = ${p.add(sel.tenant)}`];
  if (sel.from !== undefined) w.push(`ts >= make_timestamp(${p.add(sel.from)})`);
  if (sel.to !== undefined) w.push(`ts < make_timestamp(${p.add(sel.to)})`);
  if (sel.query !== undefined) {
    const f = compileAccessWhere(sel.query, 'duckdb', p.list.length + 1);
    p.list.push(...(f.params as DuckDBValue[]));
    w.push(f.sql);
  }
  return w.join(' AND ');
}

/**
 * Nearest-rank percentiles from sketch buckets: for each group, the value of the first bucket
 * whose running count reaches ⌈q·n⌉. `groups` are column names of `rel` (none: one row).
 */
function quantilesSql(rel: string, groups: string[]): string {
  const g = groups.length === 0 ? ['0 AS g'] : groups;
  const names = groups.length === 0 ? ['g'] : groups;
  const part = names.join(', ');
  const cols = QUANTILES.map((q) => `${bucketValueSql(`min(bucket) FILTER (WHERE cum >= ceil(${q} * tot - 1e-9))`)}`).join(', ');
  return `WITH b AS (SELECT ${g.join(', ')}, bucket, sum(n) AS n FROM ${rel} GROUP BY ALL),
    c AS (SELECT ${part}, bucket, sum(n) OVER (PARTITION BY ${part} ORDER BY bucket) AS cum, sum(n) OVER (PARTITION BY ${part}) AS tot FROM b)
    SELECT ${part}, ${cols} FROM c GROUP BY ALL`;
}

const num = (v: DuckDBValue): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: DuckDBValue): number | null => (v === null || v === undefined ? null : Number(v));

/** Totals from a TOTALS_SELECT row at `at`, with the percentiles `qs` (or nulls), clamped into [min, max]. */
function totalsOf(r: DuckDBValue[], at: number, qs: (number | null)[] | undefined): AccessTotals {
  const n = num(r[at + 7]);
  const min = numOrNull(r[at + 9]);
  const max = numOrNull(r[at + 10]);
  const clamp = (v: number | null | undefined) => (v === null || v === undefined || min === null || max === null ? null : round3(Math.min(max, Math.max(min, v))));
  const latency: Latency = {
    min: min === null ? null : round3(min),
    avg: n === 0 ? null : round3(num(r[at + 8]) / n),
    p50: clamp(qs?.[0]),
    p90: clamp(qs?.[1]),
    p95: clamp(qs?.[2]),
    p99: clamp(qs?.[3]),
    max: max === null ? null : round3(max),
  };
  return {
    requests: num(r[at]),
    status_classes: { '2xx': num(r[at + 1]), '3xx': num(r[at + 2]), '4xx': num(r[at + 3]), '5xx': num(r[at + 4]) },
    elb_errors: 0,
    target_errors: 0,
    received_bytes: num(r[at + 5]),
    sent_bytes: num(r[at + 6]),
    latency_ms: latency,
  };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** A session's client: its connection trace id when the log has one, else IP and user agent. */
const CLIENT_KEY = `coalesce(conn_trace_id, client_ip || chr(0) || coalesce(user_agent, ''))`;

export class DuckDbAccessAnalytics implements AccessAnalytics {
  constructor(private readonly deps: AccessDeps) {}

  /** The aggregate tables answer a selection exactly with no filter and whole hours; else a scan. */
  private sourceFor(sel: AccessSelection): AccessSource {
    const whole = (t: bigint | undefined) => t === undefined || t % HOUR_US === 0n;
    return sel.query === undefined && whole(sel.from) && whole(sel.to) ? 'aggregates' : 'scan';
  }

  async summary(sel: AccessSelection): Promise<{ source: AccessSource; summary: AccessSummary }> {
    const source = this.sourceFor(sel);
    const agg = source === 'aggregates';
    const p = new Params();
    const hourly = relation('access_hourly', sel, p, agg);
    const clients = relation('access_client_hourly', sel, p, agg);
    const latency = relation('access_hourly_latency', sel, p, agg);
    const rows = await this.deps.read(
      `SELECT * FROM (SELECT ${TOTALS_SELECT}, sum(elb_errors), sum(target_errors) FROM ${hourly}) t,
         (SELECT count(DISTINCT client_ip), epoch_us(min(first_ts)), epoch_us(max(last_ts)) FROM ${clients}) c,
         (SELECT 0 AS g) one LEFT JOIN (${quantilesSql(latency, [])}) q USING (g)`,
      p.list,
    );
    const r = rows[0]!;
    // After the totals, errors and client figures: the join key g, then the percentiles.
    const qs = r.slice(TOTALS_WIDTH + 6).map(numOrNull);
    const totals = totalsOf(r, 0, qs);
    totals.elb_errors = num(r[TOTALS_WIDTH]);
    totals.target_errors = num(r[TOTALS_WIDTH + 1]);
    return {
      source,
      summary: {
        ...totals,
        clients: num(r[TOTALS_WIDTH + 2]),
        first_ts: r[TOTALS_WIDTH + 3] === null ? null : BigInt(r[TOTALS_WIDTH + 3] as bigint),
        last_ts: r[TOTALS_WIDTH + 4] === null ? null : BigInt(r[TOTALS_WIDTH + 4] as bigint),
      },
    };
  }

  async hourly(sel: AccessSelection): Promise<{ source: AccessSource; items: AccessHour[] }> {
    const source = this.sourceFor(sel);
    const agg = source === 'aggregates';
    const p = new Params();
    const hourly = relation('access_hourly', sel, p, agg);
    const latency = relation('access_hourly_latency', sel, p, agg);
    const rows = await this.deps.read(
      `WITH t AS (SELECT hour, ${TOTALS_SELECT}, sum(elb_errors), sum(target_errors) FROM ${hourly} GROUP BY hour),
         q AS (${quantilesSql(latency, ['hour'])})
       SELECT epoch_us(t.hour), t.* EXCLUDE (hour), q.* EXCLUDE (hour) FROM t LEFT JOIN q USING (hour) ORDER BY t.hour`,
      p.list,
    );
    const items = rows.map((r) => {
      const totals = totalsOf(r, 1, r.slice(1 + TOTALS_WIDTH + 2).map(numOrNull));
      totals.elb_errors = num(r[1 + TOTALS_WIDTH]);
      totals.target_errors = num(r[2 + TOTALS_WIDTH]);
      return { hour: BigInt(r[0] as bigint), ...totals };
    });
    return { source, items };
  }

  async urls(sel: AccessSelection, limit: number): Promise<{ source: AccessSource; items: AccessUrl[] }> {
    const source = this.sourceFor(sel);
    const agg = source === 'aggregates';
    const p = new Params();
    const urls = relation('access_url_hourly', sel, p, agg);
    const latency = relation('access_url_latency', sel, p, agg);
    const rows = await this.deps.read(
      `WITH t AS (SELECT method, pattern, ${TOTALS_SELECT} FROM ${urls} GROUP BY ALL ORDER BY 3 DESC, 1, 2 LIMIT ${limit}),
         l AS (SELECT l.* FROM ${latency} l SEMI JOIN t ON l.method IS NOT DISTINCT FROM t.method AND l.pattern = t.pattern),
         q AS (${quantilesSql('l', ['method', 'pattern'])})
       SELECT t.*, q.* EXCLUDE (method, pattern) FROM t LEFT JOIN q ON t.method IS NOT DISTINCT FROM q.method AND t.pattern = q.pattern
       ORDER BY 3 DESC, 1, 2`,
      p.list,
    );
    const items = rows.map((r) => ({
      method: r[0] as string | null,
      pattern: r[1] as string,
      ...totalsOf(r, 2, r.slice(2 + TOTALS_WIDTH).map(numOrNull)),
    }));
    return { source, items };
  }

  async errors(sel: AccessSelection, limit: number): Promise<{ source: AccessSource; items: AccessError[] }> {
    const source = this.sourceFor(sel);
    const agg = source === 'aggregates';
    const p = new Params();
    const rel = relation('access_error_hourly', sel, p, agg);
    const rows = await this.deps.read(
      `SELECT status, error_reason, pattern, target, sum(n) AS count FROM ${rel} GROUP BY ALL
       ORDER BY count DESC, status, error_reason NULLS FIRST, pattern NULLS FIRST, target NULLS FIRST LIMIT ${limit}`,
      p.list,
    );
    const items = rows.map((r) => ({
      status: num(r[0]),
      error_reason: r[1] as string | null,
      pattern: r[2] as string | null,
      target: r[3] as string | null,
      count: num(r[4]),
    }));
    return { source, items };
  }

  async estimateSessions(sel: AccessSelection, gapMicros: bigint): Promise<number> {
    // A client's requests within one gap-long slot of time belong to one session, or to two when
    // a session crosses a slot boundary: the distinct (client, slot) pairs come close to the
    // session count, in one hashing pass with no sort.
    const p = new Params();
    const rows = await this.deps.read(
      `SELECT approx_count_distinct(hash(${CLIENT_KEY}, epoch_us(ts) // ${p.add(gapMicros)}))
       FROM access_logs WHERE ${scanWhere(sel, p)} AND url_pattern IS NOT NULL`,
      p.list,
    );
    return num(rows[0]![0]);
  }

  /**
   * Runs `fn` with the selection's sessionised rows in temporary table `s` (k, sn, ts, seq, p):
   * the client key, the session number within it, and the URL pattern.
   */
  private withSessions<T>(sel: AccessSelection, opts: SessionOptions, fn: (run: Run) => Promise<T>): Promise<T> {
    return this.deps.withConnection(async (run) => {
      const p = new Params();
      const gap = p.add(opts.gapMicros);
      const where = scanWhere(sel, p);
      const sample = opts.sampleRate >= 1 ? '' : `AND hash(${CLIENT_KEY}) % 1000000 < ${Math.round(opts.sampleRate * 1_000_000)}`;
      await run(
        // The client key is kept as its 64-bit hash: a tenth of the memory of the text, and no
        // two of a few million clients are expected to share one.
        `CREATE OR REPLACE TEMP TABLE s AS
         WITH r AS (SELECT hash(${CLIENT_KEY}) AS k, ts, seq, url_pattern AS p FROM access_logs WHERE ${where} AND url_pattern IS NOT NULL ${sample}),
           g AS (SELECT *, CASE WHEN epoch_us(ts) - epoch_us(lag(ts) OVER (PARTITION BY k ORDER BY ts, seq)) > ${gap} THEN 1 ELSE 0 END AS brk FROM r)
         SELECT k, sum(brk) OVER (PARTITION BY k ORDER BY ts, seq ROWS UNBOUNDED PRECEDING) AS sn, ts, seq, p FROM g`,
        p.list,
      );
      try {
        return await fn(run);
      } finally {
        await run('DROP TABLE IF EXISTS s', []).catch(() => undefined);
      }
    });
  }

  sessions(sel: AccessSelection, opts: SessionOptions, limit: number): Promise<SessionFigures> {
    return this.withSessions(sel, opts, async (run) => {
      await run(
        `CREATE OR REPLACE TEMP TABLE x AS SELECT k, sn, count(*) AS len, (epoch_us(max(ts)) - epoch_us(min(ts))) / 1e6 AS dur,
           first(p ORDER BY ts, seq) AS entry, last(p ORDER BY ts, seq) AS exit FROM s GROUP BY k, sn`,
        [],
      );
      try {
        const [stats] = await run(
          `SELECT count(*), sum(len), ${nearestRank('len', 0.5)}, ${nearestRank('len', 0.9)}, max(len), avg(len),
             ${nearestRank('dur', 0.5)}, ${nearestRank('dur', 0.9)}, max(dur), avg(dur) FROM x`,
          [],
        );
        const pages = async (col: string) =>
          (await run(`SELECT ${col}, count(*) AS n FROM x GROUP BY 1 ORDER BY n DESC, 1 LIMIT ${limit}`, [])).map((r) => ({
            pattern: r[0] as string,
            count: num(r[1]),
          }));
        const s = stats!;
        const sessions = num(s[0]);
        return {
          sessions,
          requests: num(s[1]),
          entry_pages: await pages('entry'),
          exit_pages: await pages('exit'),
          length: sessions === 0 ? null : { p50: num(s[2]), p90: num(s[3]), max: num(s[4]), avg: round3(num(s[5])) },
          duration_s: sessions === 0 ? null : { p50: round3(num(s[6])), p90: round3(num(s[7])), max: round3(num(s[8])), avg: round3(num(s[9])) },
        };
      } finally {
        await run('DROP TABLE IF EXISTS x', []).catch(() => undefined);
      }
    });
  }

  flows(sel: AccessSelection, opts: SessionOptions & { n: number; limit: number }): Promise<FlowFigures> {
    return this.withSessions(sel, opts, async (run) => {
      const transitions = await run(
        `WITH t AS (SELECT p AS f, lead(p) OVER (PARTITION BY k, sn ORDER BY ts, seq) AS t FROM s),
           c AS (SELECT f, t, count(*) AS n FROM t WHERE t IS NOT NULL GROUP BY ALL)
         SELECT f, t, n, n / sum(n) OVER (PARTITION BY f) FROM c ORDER BY n DESC, f, t LIMIT ${opts.limit}`,
        [],
      );
      // Each request and the n-1 after it in its session (lead() is cheap; a list over a
      // sliding window frame is not).
      const next = Array.from({ length: opts.n - 1 }, (_, i) => `lead(p, ${i + 1}) OVER w AS p${i + 1}`);
      const cols = ['p', ...next.map((_, i) => `p${i + 1}`)];
      const paths = await run(
        `WITH w AS (SELECT p, ${next.join(', ')} FROM s WINDOW w AS (PARTITION BY k, sn ORDER BY ts, seq))
         SELECT [${cols.join(', ')}] AS steps, count(*) AS n FROM w WHERE p${opts.n - 1} IS NOT NULL
         GROUP BY ALL ORDER BY n DESC, steps LIMIT ${opts.limit}`,
        [],
      );
      return {
        paths: paths.map((r) => ({ steps: listOf(r[0]), count: num(r[1]) })),
        transitions: transitions.map((r) => ({ from: r[0] as string, to: r[1] as string, count: num(r[2]), probability: Math.round(num(r[3]) * 1e6) / 1e6 })),
      };
    });
  }

  funnel(sel: AccessSelection, opts: SessionOptions & { steps: string[] }): Promise<FunnelFigures> {
    return this.withSessions(sel, opts, async (run) => {
      // Only the requests on step pages matter, numbered within their session; a session reaches
      // step i at the first request on step i's page after the one where it reached step i-1.
      const p = new Params();
      const patterns = [...new Set(opts.steps)].map((x) => p.add(x));
      const parts = [
        `r AS (SELECT k, sn, p, row_number() OVER (PARTITION BY k, sn ORDER BY ts, seq) AS rn FROM s WHERE p IN (${patterns.join(', ')}))`,
        `f0 AS (SELECT k, sn, min(rn) AS at FROM r WHERE p = ${p.add(opts.steps[0]!)} GROUP BY k, sn)`,
      ];
      for (let i = 1; i < opts.steps.length; i++) {
        parts.push(
          `f${i} AS (SELECT f.k, f.sn, min(r.rn) AS at FROM f${i - 1} f JOIN r ON r.k = f.k AND r.sn = f.sn AND r.rn > f.at
             WHERE r.p = ${p.add(opts.steps[i]!)} GROUP BY f.k, f.sn)`,
        );
      }
      const counts = opts.steps.map((_, i) => `(SELECT count(*) FROM f${i})`);
      const [row] = await run(`WITH ${parts.join(',\n')} SELECT (SELECT count(*) FROM (SELECT DISTINCT k, sn FROM s)), ${counts.join(', ')}`, p.list);
      return { sessions: num(row![0]), reached: row!.slice(1).map(num) };
    });
  }

  rebuildAggregates(): Promise<{ rows: number; ms: number }> {
    const started = performance.now();
    return this.deps.write(async (run) => {
      for (const sql of REBUILD_AGGREGATES_SQL) await run(sql, []);
      const [r] = await run('SELECT count(*) FROM access_logs', []);
      return { rows: num(r![0]), ms: Math.round(performance.now() - started) };
    });
  }
}

/** The nearest-rank percentile of `col` (the ⌈q·n⌉-th smallest value), as an aggregate. */
function nearestRank(col: string, q: number): string {
  return `list_sort(list(${col}))[greatest(1, CAST(ceil(${q} * count(*) - 1e-9) AS BIGINT))]`;
}

function listOf(v: DuckDBValue): string[] {
  const items = (v as { items?: DuckDBValue[] } | null)?.items ?? [];
  return items.map((x) => String(x));
}
