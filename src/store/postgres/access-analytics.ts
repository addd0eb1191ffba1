// Access-log analytics on PostgreSQL (store/access.ts), the same questions answered the same way
// as on DuckDB (duckdb/access-analytics.ts): summary, hourly, URL and error figures read the
// aggregate tables when the question allows it — no filter and a window of whole hours — and
// otherwise aggregate the matching rows of access_logs with the same SQL on the fly. Sessions,
// flows and funnels are built from access_logs with window functions, in one transaction with
// the sessionised rows in a temporary table.
//
// Where the engines differ, the SQL says how it keeps the answers alike: text is ordered by its
// bytes (COLLATE "C", DuckDB's order), percentiles are the same nearest rank, sums of counts are
// exact. Two things cannot be alike: the client hash that picks a sample (DuckDB's hash() has no
// PostgreSQL twin), so a sampled answer analyses other clients than on DuckDB, and the session
// estimate, exact here where DuckDB's approx_count_distinct is within a few per cent.

import type pg from 'pg';
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
import { AGGREGATES, bucketValueSql, rebuildAggregates } from './access-tables.js';

/** Runs `fn` in a transaction on one pooled connection (errors mapped to LhError by the store). */
export type AccessTransaction = <T>(fn: (c: pg.ClientBase) => Promise<T>) => Promise<T>;

type Value = unknown;

const HOUR_US = 3_600_000_000n;
const QUANTILES = [0.5, 0.9, 0.95, 0.99];

/** Sums every total-bearing aggregate has (access-tables.ts SUMS), as one select list. */
const TOTALS_SELECT = `sum(requests), sum(s2xx), sum(s3xx), sum(s4xx), sum(s5xx), sum(received_bytes), sum(sent_bytes),
  sum(latency_n), sum(latency_sum), min(latency_min), max(latency_max)`;
const TOTALS_WIDTH = 11;

/** Rows as arrays, in select-list order. */
async function rowsOf(c: pg.ClientBase, text: string, values: Value[] = []): Promise<Value[][]> {
  return (await c.query<Value[]>({ text, values, rowMode: 'array' })).rows;
}

class Params {
  readonly list: Value[] = [];
  add(v: Value): string {
    this.list.push(v);
    return `$${this.list.length}`;
  }
}

/** The relation an aggregate's rows come from for a selection: its table, or the same rows made on the fly. */
function relation(table: string, sel: AccessSelection, p: Params, aggregated: boolean): string {
  if (aggregated) {
    const w = [`tenant = ${p.add(sel.tenant)}`];
    if (sel.from !== undefined) w.push(`hour >= ${p.add(sel.from)}::bigint`);
    if (sel.to !== undefined) w.push(`hour < ${p.add(sel.to)}::bigint`);
    return `(SELECT * FROM ${table} WHERE ${w.join(' AND ')})`;
  }
  const fill = AGGREGATES.find((a) => a.table === table)!.fill;
  return `(${fill(`(SELECT * FROM access_logs WHERE ${scanWhere(sel, p)}) AS src`)})`;
}

/** The conditions on access_logs rows of a selection. */
function scanWhere(sel: AccessSelection, p: Params): string {
  const w = [`tenant = ${p.add(sel.tenant)}`];
  if (sel.from !== undefined) w.push(`ts >= ${p.add(sel.from)}::bigint`);
  if (sel.to !== undefined) w.push(`ts < ${p.add(sel.to)}::bigint`);
  if (sel.query !== undefined) {
    const f = compileAccessWhere(sel.query, 'postgres', p.list.length + 1);
    p.list.push(...f.params);
    w.push(f.sql);
  }
  return w.join(' AND ');
}

/**
 * Nearest-rank percentiles from sketch buckets: for each group, the value of the first bucket
 * whose running count reaches ⌈q·n⌉ (columns q0…q3). `groups` are column names of `rel` (none:
 * one row, grouped by a constant g).
 */
function quantilesSql(rel: string, groups: string[]): string {
  const part = groups.length === 0 ? ['g'] : groups;
  const keys = groups.length === 0 ? ['0 AS g'] : groups;
  const cols = QUANTILES.map((q, i) => `${bucketValueSql(`min(bucket) FILTER (WHERE cum >= ceil(${q} * tot - 1e-9))`)} AS q${i}`).join(', ');
  return `WITH b AS (SELECT ${keys.join(', ')}, bucket, sum(n) AS n FROM ${rel} AS r GROUP BY ${part.join(', ')}, bucket),
    c AS (SELECT ${part.join(', ')}, bucket, sum(n) OVER (PARTITION BY ${part.join(', ')} ORDER BY bucket) AS cum,
      sum(n) OVER (PARTITION BY ${part.join(', ')}) AS tot FROM b)
    SELECT ${part.join(', ')}, ${cols} FROM c GROUP BY ${part.join(', ')}`;
}

const num = (v: Value): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: Value): number | null => (v === null || v === undefined ? null : Number(v));

/** Totals from a TOTALS_SELECT row at `at`, with the percentiles `qs` (or nulls), clamped into [min, max]. */
function totalsOf(r: Value[], at: number, qs: (number | null)[] | undefined): AccessTotals {
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

/**
 * A session's client: its connection trace id when the log has one, else IP and user agent
 * (separated by U+0001: PostgreSQL text cannot hold DuckDB's U+0000, and no IP holds either).
 */
const CLIENT_KEY = `coalesce(conn_trace_id, client_ip || chr(1) || coalesce(user_agent, ''))`;
/** The client key's 64-bit hash, never negative (a sample takes it modulo a million). */
const CLIENT_HASH = `(hashtextextended(${CLIENT_KEY}, 0) & 9223372036854775807)`;

/** The nearest-rank percentile of `col` (the ⌈q·n⌉-th smallest value), as an aggregate: DuckDB's. */
function nearestRank(col: string, q: number): string {
  return `(array_agg(${col} ORDER BY ${col}))[greatest(1, ceil(${q} * count(*) - 1e-9))::integer]`;
}

export class PgAccessAnalytics implements AccessAnalytics {
  constructor(private readonly transaction: AccessTransaction) {}

  /** The aggregate tables answer a selection exactly with no filter and whole hours; else a scan. */
  private sourceFor(sel: AccessSelection): AccessSource {
    const whole = (t: bigint | undefined) => t === undefined || t % HOUR_US === 0n;
    return sel.query === undefined && whole(sel.from) && whole(sel.to) ? 'aggregates' : 'scan';
  }

  private read(text: string, values: Value[]): Promise<Value[][]> {
    return this.transaction((c) => rowsOf(c, text, values));
  }

  async summary(sel: AccessSelection): Promise<{ source: AccessSource; summary: AccessSummary }> {
    const source = this.sourceFor(sel);
    const agg = source === 'aggregates';
    const p = new Params();
    const hourly = relation('access_hourly', sel, p, agg);
    const clients = relation('access_client_hourly', sel, p, agg);
    const latency = relation('access_hourly_latency', sel, p, agg);
    const rows = await this.read(
      `SELECT t.*, c.*, q.q0, q.q1, q.q2, q.q3 FROM (SELECT ${TOTALS_SELECT}, sum(elb_errors), sum(target_errors) FROM ${hourly} AS h) t,
         (SELECT count(DISTINCT client_ip), min(first_ts), max(last_ts) FROM ${clients} AS k) c,
         (SELECT 0 AS g) one LEFT JOIN (${quantilesSql(latency, [])}) q USING (g)`,
      p.list,
    );
    const r = rows[0]!;
    const qs = r.slice(TOTALS_WIDTH + 5).map(numOrNull);
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
    const rows = await this.read(
      `WITH t AS (SELECT hour, ${TOTALS_SELECT}, sum(elb_errors), sum(target_errors) FROM ${hourly} AS h GROUP BY hour),
         q AS (${quantilesSql(latency, ['hour'])})
       SELECT t.*, q.q0, q.q1, q.q2, q.q3 FROM t LEFT JOIN q USING (hour) ORDER BY t.hour`,
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
    const rows = await this.read(
      `WITH t AS (SELECT method, pattern, ${TOTALS_SELECT.replace('sum(requests)', 'sum(requests) AS requests')} FROM ${urls} AS u
           GROUP BY method, pattern ORDER BY requests DESC, method COLLATE "C", pattern COLLATE "C" LIMIT ${p.add(limit)}),
         l AS (SELECT l.* FROM ${latency} AS l WHERE EXISTS (SELECT 1 FROM t WHERE l.pattern = t.pattern AND l.method IS NOT DISTINCT FROM t.method)),
         q AS (${quantilesSql('l', ['method', 'pattern'])})
       SELECT t.*, q.q0, q.q1, q.q2, q.q3 FROM t LEFT JOIN q ON t.pattern = q.pattern AND t.method IS NOT DISTINCT FROM q.method
       ORDER BY t.requests DESC, t.method COLLATE "C", t.pattern COLLATE "C"`,
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
    const rows = await this.read(
      `SELECT status, error_reason, pattern, target, sum(n) AS count FROM ${rel} AS e GROUP BY 1, 2, 3, 4
       ORDER BY count DESC, status, error_reason COLLATE "C" NULLS FIRST, pattern COLLATE "C" NULLS FIRST, target COLLATE "C" NULLS FIRST
       LIMIT ${p.add(limit)}`,
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
    // session count, in one hashing pass with no sort. Counted exactly (PostgreSQL has no
    // approximate distinct count); DuckDB's estimate of the same pairs is within a few per cent.
    const p = new Params();
    const rows = await this.read(
      `SELECT count(*) FROM (SELECT DISTINCT ${CLIENT_HASH}, ts / ${p.add(gapMicros)}::bigint
       FROM access_logs WHERE ${scanWhere(sel, p)} AND url_pattern IS NOT NULL) AS pairs`,
      p.list,
    );
    return num(rows[0]![0]);
  }

  /**
   * Runs `fn` in a transaction with the selection's sessionised rows in temporary table `s`
   * (k, sn, ts, seq, p): the client key's hash, the session number within it, and the URL
   * pattern. Temporary tables go with the transaction.
   */
  private withSessions<T>(sel: AccessSelection, opts: SessionOptions, fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
    return this.transaction(async (c) => {
      const p = new Params();
      const gap = p.add(opts.gapMicros);
      const where = scanWhere(sel, p);
      const sample = opts.sampleRate >= 1 ? '' : `AND ${CLIENT_HASH} % 1000000 < ${Math.round(opts.sampleRate * 1_000_000)}`;
      await c.query('CREATE TEMP TABLE s (k bigint, sn bigint, ts bigint, seq bigint, p text) ON COMMIT DROP');
      await c.query(
        `INSERT INTO s
         WITH r AS (SELECT ${CLIENT_HASH} AS k, ts, seq, url_pattern AS p FROM access_logs WHERE ${where} AND url_pattern IS NOT NULL ${sample}),
           g AS (SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY k ORDER BY ts, seq) > ${gap}::bigint THEN 1 ELSE 0 END AS brk FROM r)
         SELECT k, sum(brk) OVER (PARTITION BY k ORDER BY ts, seq ROWS UNBOUNDED PRECEDING) AS sn, ts, seq, p FROM g`,
        p.list,
      );
      await c.query('ANALYZE s');
      return fn(c);
    });
  }

  sessions(sel: AccessSelection, opts: SessionOptions, limit: number): Promise<SessionFigures> {
    return this.withSessions(sel, opts, async (c) => {
      await c.query(
        `CREATE TEMP TABLE x ON COMMIT DROP AS SELECT k, sn, count(*) AS len, (max(ts) - min(ts)) / 1e6::float8 AS dur,
           (array_agg(p ORDER BY ts, seq))[1] AS entry, (array_agg(p ORDER BY ts DESC, seq DESC))[1] AS exit FROM s GROUP BY k, sn`,
      );
      const [stats] = await rowsOf(
        c,
        `SELECT count(*), sum(len), ${nearestRank('len', 0.5)}, ${nearestRank('len', 0.9)}, max(len), avg(len),
           ${nearestRank('dur', 0.5)}, ${nearestRank('dur', 0.9)}, max(dur), avg(dur) FROM x`,
      );
      const pages = async (col: string) =>
        (await rowsOf(c, `SELECT ${col}, count(*) AS n FROM x GROUP BY 1 ORDER BY n DESC, ${col} COLLATE "C" LIMIT $1`, [limit])).map((r) => ({
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
    });
  }

  flows(sel: AccessSelection, opts: SessionOptions & { n: number; limit: number }): Promise<FlowFigures> {
    return this.withSessions(sel, opts, async (c) => {
      const transitions = await rowsOf(
        c,
        `WITH t AS (SELECT p AS f, lead(p) OVER (PARTITION BY k, sn ORDER BY ts, seq) AS t FROM s),
           c AS (SELECT f, t, count(*) AS n FROM t WHERE t IS NOT NULL GROUP BY f, t)
         SELECT f, t, n, n::float8 / (sum(n) OVER (PARTITION BY f))::float8 FROM c ORDER BY n DESC, f COLLATE "C", t COLLATE "C" LIMIT $1`,
        [opts.limit],
      );
      // Each request and the n-1 after it in its session.
      const next = Array.from({ length: opts.n - 1 }, (_, i) => `lead(p, ${i + 1}) OVER w AS p${i + 1}`);
      const cols = ['p', ...next.map((_, i) => `p${i + 1}`)];
      const paths = await rowsOf(
        c,
        `WITH w AS (SELECT p, ${next.join(', ')} FROM s WINDOW w AS (PARTITION BY k, sn ORDER BY ts, seq))
         SELECT * FROM (SELECT ARRAY[${cols.join(', ')}] AS steps, count(*) AS n FROM w WHERE p${opts.n - 1} IS NOT NULL GROUP BY 1) AS x
         ORDER BY n DESC, steps COLLATE "C" LIMIT $1`,
        [opts.limit],
      );
      return {
        paths: paths.map((r) => ({ steps: (r[0] as string[]).map(String), count: num(r[1]) })),
        transitions: transitions.map((r) => ({ from: r[0] as string, to: r[1] as string, count: num(r[2]), probability: Math.round(num(r[3]) * 1e6) / 1e6 })),
      };
    });
  }

  funnel(sel: AccessSelection, opts: SessionOptions & { steps: string[] }): Promise<FunnelFigures> {
    return this.withSessions(sel, opts, async (c) => {
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
      const [row] = await rowsOf(c, `WITH ${parts.join(',\n')} SELECT (SELECT count(*) FROM (SELECT DISTINCT k, sn FROM s) AS d), ${counts.join(', ')}`, p.list);
      return { sessions: num(row![0]), reached: row!.slice(1).map(num) };
    });
  }

  rebuildAggregates(): Promise<{ rows: number; ms: number }> {
    const started = performance.now();
    return this.transaction(async (c) => {
      await c.query('SET LOCAL statement_timeout = 0');
      const rows = await rebuildAggregates(c);
      return { rows, ms: Math.round(performance.now() - started) };
    });
  }
}
