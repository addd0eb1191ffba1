// The typed access-log table and its aggregates (SPEC §6), on PostgreSQL: the same columns, the
// same aggregates and the same latency sketch as the DuckDB store (duckdb/access-tables.ts), so
// both answer the same. The load that COPYs access records into `logs` also types them into
// `access_logs` and adds them to the aggregates, in its transaction: the aggregates never disagree
// with the rows, and a replayed segment adds nothing twice.
//
// Aggregates hold one row per key, kept by upsert (DuckDB appends partial rows and merges them
// instead: it has no cheap upsert). Loads from every instance already take turns on the counter
// row; whatever else rewrites aggregates (rebuild, expiry, restore) takes that row too, so no
// two writers ever meet on an aggregate row.
//
// access_logs is one table, not a partition per day: retention deletes rows by its rules rather
// than dropping days, so partitions would not make it cheaper, and a new partition would need an
// exclusive lock on the table at the first load of each day. Its index on (tenant, ts) serves
// the time windows of reads, expiry and restore.

import type pg from 'pg';
import { LhError } from '../../errors.js';
import { DAY_MICROS } from '../../model/record.js';
import { ACCESS_COLUMNS, ACCESS_SOURCES, SKETCH_GAMMA, SKETCH_LN_GAMMA, ZERO_BUCKET, ACCESS_SUMS_SQL as SUMS } from '../access.js';
import type { CopyRows } from './copy-rows.js';

const PG_TYPES: Record<string, string> = { text: 'text', int: 'integer', bigint: 'bigint', double: 'double precision', timestamp: 'timestamp', 'text[]': 'text[]' };

/** Statuses fit a smallint, as on DuckDB. */
const SMALL = new Set(['status', 'elb_status_code', 'target_status_code']);

/** The attrs keys the parsers write, with their types (duckdb/access-tables.ts ATTR_TYPES). */
const ATTR_TYPES: Record<string, 'text' | 'integer' | 'smallint' | 'bigint' | 'double precision' | 'timestamp' | 'text[]'> = {
  type: 'text',
  elb: 'text',
  client_ip: 'text',
  client_port: 'integer',
  target_ip: 'text',
  target_port: 'integer',
  request_processing_time: 'double precision',
  target_processing_time: 'double precision',
  response_processing_time: 'double precision',
  elb_status_code: 'smallint',
  target_status_code: 'smallint',
  status: 'smallint',
  received_bytes: 'bigint',
  sent_bytes: 'bigint',
  bytes: 'bigint',
  method: 'text',
  protocol: 'text',
  port: 'integer',
  path: 'text',
  query: 'text',
  url_pattern: 'text',
  user_agent: 'text',
  ssl_cipher: 'text',
  ssl_protocol: 'text',
  target_group_arn: 'text',
  domain_name: 'text',
  chosen_cert_arn: 'text',
  matched_rule_priority: 'integer',
  request_creation_time: 'timestamp',
  actions_executed: 'text',
  redirect_url: 'text',
  error_reason: 'text',
  target_port_list: 'text',
  target_status_code_list: 'text',
  classification: 'text',
  classification_reason: 'text',
  conn_trace_id: 'text',
  transformed_host: 'text',
  transformed_uri: 'text',
  request_transform_status: 'text',
  ident: 'text',
  user: 'text',
  referer: 'text',
  extra: 'text[]',
};

/**
 * Timestamps DuckDB's TRY_CAST and PostgreSQL read alike (ISO, UTC or no zone, at most µs): any
 * other text is NULL, as it is on DuckDB when it cannot be read.
 */
const ISO_TIME = `'^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?)?Z?$'`;

/**
 * Functions of the typing that never fails, one per kind: DuckDB's json_transform reads a value
 * it cannot convert (text in a number field, a number out of range, a string where a list was)
 * as NULL, and so do these. `access_attrs` also turns the escapes PostgreSQL text cannot hold
 * (U+0000, lone surrogates) into U+FFFD, as the COPY of the row's own columns does.
 */
const FUNCTIONS_SQL: string[] = [
  `CREATE FUNCTION access_attrs(j json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN json_typeof(j) = 'object'
      THEN regexp_replace(j::text, '(?<!\\\\)((?:\\\\\\\\)*)\\\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})', '\\1\\\\ufffd', 'g')::json
      ELSE '{}'::json END`,
  // A number, rounded to a whole one as DuckDB does, or NULL past `lim`.
  `CREATE FUNCTION access_whole(v text, lim numeric) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN v ~ '^-?[0-9]{1,30}(\\.[0-9]*)?([eE][-+]?[0-9]{1,3})?$'
      THEN CASE WHEN abs(round(v::numeric)) <= lim THEN round(v::numeric) END END`,
  `CREATE FUNCTION access_double(v text) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN v ~ '^-?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]{1,3})?$'
      THEN CASE WHEN abs(v::numeric) = 0 OR abs(v::numeric) BETWEEN 1e-307 AND 1e308 THEN v::double precision END END`,
  // A date past its month's end passes the pattern and fails the cast: only an exception tells
  // (a subtransaction each, so only the safe typing calls it, and never in a parallel plan).
  `CREATE FUNCTION access_timestamp(v text) RETURNS timestamp LANGUAGE plpgsql STABLE AS $$
    BEGIN
      IF v IS NULL OR v !~ ${ISO_TIME} THEN RETURN NULL; END IF;
      RETURN v::timestamp;
    EXCEPTION WHEN others THEN
      RETURN NULL;
    END $$`,
  `CREATE FUNCTION access_text_array(v json) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN json_typeof(v) = 'array' THEN ARRAY(SELECT json_array_elements_text(v)) END`,
  // DuckDB's round(x, 6): x·10⁶ rounded half away from zero, divided back (PostgreSQL's own
  // round of a double rounds half to even, and its round to places goes through numeric).
  `CREATE FUNCTION access_round6(x double precision) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (trunc(x * 1e6::float8) + CASE WHEN abs(x * 1e6::float8 - trunc(x * 1e6::float8)) >= 0.5::float8 THEN sign(x * 1e6::float8) ELSE 0 END) / 1e6::float8`,
];

const quote = (name: string) => `"${name}"`;

/** An attrs value of the never-failing typing (every key read as text) in its type. */
function safeValue(key: string): string {
  const v = `a.${quote(key)}`;
  switch (ATTR_TYPES[key]) {
    case 'integer':
      return `access_whole(${v}, 2147483647)::integer`;
    case 'smallint':
      return `access_whole(${v}, 32767)::smallint`;
    case 'bigint':
      return `access_whole(${v}, 9223372036854775807)::bigint`;
    case 'double precision':
      return `access_double(${v})`;
    case 'timestamp':
      return `access_timestamp(${v})`;
    case 'text[]':
      return `access_text_array(${v})`;
    default:
      return v;
  }
}

/**
 * access_logs rows of the `logs` rows matching `where` (over `l`), typed. The fast form lets
 * json_to_record type each attrs value, and fails on one it cannot; the safe form reads them as
 * text and checks each (a third slower), for the loads the fast one failed and the backfill.
 */
export function typedRowsSql(where: string, safe: boolean): string {
  const defs = Object.entries(ATTR_TYPES)
    .map(([k, t]) => `${quote(k)} ${safe ? (t === 'text[]' ? 'json' : 'text') : t === 'timestamp' ? 'text' : t}`)
    .join(', ');
  const a = (k: string) => (safe ? safeValue(k) : ATTR_TYPES[k] === 'timestamp' ? `CASE WHEN a.${quote(k)} ~ ${ISO_TIME} THEN a.${quote(k)}::timestamp END` : `a.${quote(k)}`);
  const cols: Record<string, string> = {
    format: 'l.source',
    host: 'l.host',
    request: 'l.message',
    trace_id: 'l.trace_id',
    status: `coalesce(${a('elb_status_code')}, ${a('status')})`,
    sent_bytes: `coalesce(${a('sent_bytes')}, ${a('bytes')})`,
    latency_ms: `access_round6((${a('request_processing_time')} + ${a('target_processing_time')} + ${a('response_processing_time')}) * 1000)`,
    user_name: a('user'),
  };
  const select = ACCESS_COLUMNS.map(([n]) => `${cols[n] ?? a(n)} AS ${n}`).join(', ');
  return `SELECT l.seq, l.tenant, l.ts, ${select}
    FROM logs l CROSS JOIN LATERAL json_to_record(${safe ? 'access_attrs(l.attrs)' : 'l.attrs'}) AS a(${defs})
    WHERE ${where} AND l.category = 'access' AND l.source IN (${ACCESS_SOURCES.map((s) => `'${s}'`).join(', ')})`;
}

/** The start of the hour of a µs time `ts` (floored, times before 1970 too), as SQL. */
export function hourSql(ts: string): string {
  return `(${ts} - ((${ts} % 3600000000) + 3600000000) % 3600000000)`;
}

/**
 * The sketch bucket of a latency in ms, as SQL over `x` (store/access.ts). Bounded to a smallint:
 * a latency of 10^140 ms (only a hand-made record has one) stays in the top bucket rather than
 * failing its load.
 */
export function bucketSql(x: string): string {
  return `CASE WHEN ${x} < 0.001::float8 THEN ${ZERO_BUCKET} ELSE least(ceil(ln(${x}) / ${SKETCH_LN_GAMMA}::float8), 32767)::smallint END`;
}

/** A bucket's representative value, as SQL over the expression `k`; in doubles, as DuckDB computes it. */
export function bucketValueSql(k: string): string {
  return `CASE WHEN ${k} = ${ZERO_BUCKET} THEN 0.0::float8 ELSE 2 * pow(${SKETCH_GAMMA}::float8, (${k})::float8) / ${SKETCH_GAMMA + 1}::float8 END`;
}

const SUM_COLUMNS = `requests bigint NOT NULL, s2xx bigint NOT NULL, s3xx bigint NOT NULL, s4xx bigint NOT NULL, s5xx bigint NOT NULL,
  received_bytes bigint NOT NULL, sent_bytes bigint NOT NULL,
  latency_n bigint NOT NULL, latency_sum double precision NOT NULL, latency_min double precision, latency_max double precision`;

/** How each SUMS column of a key's row takes in another's. */
const SUMS_MERGE: Record<string, Merge> = {
  requests: 'sum',
  s2xx: 'sum',
  s3xx: 'sum',
  s4xx: 'sum',
  s5xx: 'sum',
  received_bytes: 'sum',
  sent_bytes: 'sum',
  latency_n: 'sum',
  latency_sum: 'sum',
  latency_min: 'min',
  latency_max: 'max',
};

type Merge = 'sum' | 'min' | 'max';

export interface Aggregate {
  table: string;
  ddl: string;
  /** The key columns (a unique constraint, NULLs equal). */
  keys: string[];
  /** How each other column takes in a later load's row of the same key. */
  merge: Record<string, Merge>;
  /** Rows of the table (its columns in order) from access_logs rows in the FROM item `src`. */
  fill(src: string): string;
}

/** The aggregate tables, as on DuckDB (duckdb/access-tables.ts AGGREGATES). */
export const AGGREGATES: Aggregate[] = [
  {
    // Hourly summary, with ELB-made errors (the target never answered) apart from the target's.
    table: 'access_hourly',
    ddl: `CREATE TABLE access_hourly (tenant text NOT NULL, hour bigint NOT NULL, ${SUM_COLUMNS},
      elb_errors bigint NOT NULL, target_errors bigint NOT NULL, PRIMARY KEY (tenant, hour))`,
    keys: ['tenant', 'hour'],
    merge: { ...SUMS_MERGE, elb_errors: 'sum', target_errors: 'sum' },
    fill: (src) => `SELECT tenant, ${hourSql('ts')} AS hour, ${SUMS},
      count(*) FILTER (WHERE status >= 400 AND target_status_code IS NULL AND format = 'alb') AS elb_errors,
      count(*) FILTER (WHERE target_status_code >= 400) AS target_errors
      FROM ${src} GROUP BY 1, 2`,
  },
  {
    table: 'access_hourly_latency',
    ddl: `CREATE TABLE access_hourly_latency (tenant text NOT NULL, hour bigint NOT NULL, bucket smallint NOT NULL, n bigint NOT NULL,
      PRIMARY KEY (tenant, hour, bucket))`,
    keys: ['tenant', 'hour', 'bucket'],
    merge: { n: 'sum' },
    fill: (src) => `SELECT tenant, ${hourSql('ts')} AS hour, ${bucketSql('latency_ms')} AS bucket, count(*) AS n
      FROM ${src} WHERE latency_ms IS NOT NULL GROUP BY 1, 2, 3`,
  },
  {
    // URL-pattern summary.
    table: 'access_url_hourly',
    ddl: `CREATE TABLE access_url_hourly (tenant text NOT NULL, hour bigint NOT NULL, method text, pattern text NOT NULL, ${SUM_COLUMNS},
      UNIQUE NULLS NOT DISTINCT (tenant, hour, method, pattern))`,
    keys: ['tenant', 'hour', 'method', 'pattern'],
    merge: SUMS_MERGE,
    fill: (src) => `SELECT tenant, ${hourSql('ts')} AS hour, method, url_pattern AS pattern, ${SUMS}
      FROM ${src} WHERE url_pattern IS NOT NULL GROUP BY 1, 2, 3, 4`,
  },
  {
    table: 'access_url_latency',
    ddl: `CREATE TABLE access_url_latency (tenant text NOT NULL, hour bigint NOT NULL, method text, pattern text NOT NULL,
      bucket smallint NOT NULL, n bigint NOT NULL, UNIQUE NULLS NOT DISTINCT (tenant, hour, method, pattern, bucket))`,
    keys: ['tenant', 'hour', 'method', 'pattern', 'bucket'],
    merge: { n: 'sum' },
    fill: (src) => `SELECT tenant, ${hourSql('ts')} AS hour, method, url_pattern AS pattern, ${bucketSql('latency_ms')} AS bucket, count(*) AS n
      FROM ${src} WHERE url_pattern IS NOT NULL AND latency_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5`,
  },
  {
    // Client summary: who sends what, per hour (distinct clients of any whole-hour range).
    table: 'access_client_hourly',
    ddl: `CREATE TABLE access_client_hourly (tenant text NOT NULL, hour bigint NOT NULL, client_ip text NOT NULL,
      requests bigint NOT NULL, errors bigint NOT NULL, sent_bytes bigint NOT NULL, first_ts bigint NOT NULL, last_ts bigint NOT NULL,
      PRIMARY KEY (tenant, hour, client_ip))`,
    keys: ['tenant', 'hour', 'client_ip'],
    merge: { requests: 'sum', errors: 'sum', sent_bytes: 'sum', first_ts: 'min', last_ts: 'max' },
    fill: (src) => `SELECT tenant, ${hourSql('ts')} AS hour, client_ip, count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors,
      coalesce(sum(sent_bytes), 0) AS sent_bytes, min(ts) AS first_ts, max(ts) AS last_ts
      FROM ${src} WHERE client_ip IS NOT NULL GROUP BY 1, 2, 3`,
  },
  {
    // Error patterns: status, reason, URL pattern and target of every 4xx and 5xx.
    table: 'access_error_hourly',
    ddl: `CREATE TABLE access_error_hourly (tenant text NOT NULL, hour bigint NOT NULL, status smallint NOT NULL, error_reason text,
      pattern text, target text, n bigint NOT NULL, UNIQUE NULLS NOT DISTINCT (tenant, hour, status, error_reason, pattern, target))`,
    keys: ['tenant', 'hour', 'status', 'error_reason', 'pattern', 'target'],
    merge: { n: 'sum' },
    fill: (src) => `SELECT tenant, ${hourSql('ts')} AS hour, status, error_reason, url_pattern AS pattern,
      CASE WHEN target_ip IS NULL THEN NULL WHEN target_port IS NULL THEN target_ip ELSE target_ip || ':' || target_port END AS target,
      count(*) AS n
      FROM ${src} WHERE status >= 400 GROUP BY 1, 2, 3, 4, 5, 6`,
  },
];

/** Adds rows of `a` made from `src` to it: a key's row takes them in, or is created. */
function upsertSql(a: Aggregate, src: string): string {
  const set = Object.entries(a.merge)
    .map(([c, m]) => `${c} = ${m === 'sum' ? `${a.table}.${c} + excluded.${c}` : `${m === 'min' ? 'least' : 'greatest'}(${a.table}.${c}, excluded.${c})`}`)
    .join(', ');
  return `INSERT INTO ${a.table} ${a.fill(src)} ON CONFLICT (${a.keys.join(', ')}) DO UPDATE SET ${set}`;
}

const COLUMNS_SQL = ACCESS_COLUMNS.map(([n, kind]) => `${n} ${SMALL.has(n) ? 'smallint' : PG_TYPES[kind]}`);

/** Migration 2 (migrations.ts): the tables, and the access records already in `logs` typed and aggregated once. */
export const ACCESS_MIGRATION_SQL: string[] = [
  ...FUNCTIONS_SQL,
  `CREATE TABLE access_logs (
    seq bigint NOT NULL,
    tenant text NOT NULL,
    ts bigint NOT NULL,
    ${COLUMNS_SQL.join(',\n    ')}
  )`,
  'CREATE INDEX access_logs_tenant_ts ON access_logs (tenant, ts)',
  ...AGGREGATES.map((a) => a.ddl),
  `INSERT INTO access_logs ${typedRowsSql('true', true)}`,
  ...AGGREGATES.map((a) => `INSERT INTO ${a.table} ${a.fill('access_logs')}`),
];

/**
 * One statement that types the access records among the `logs` rows of seq $1..$2 (ts $3..$4:
 * the partitions to look in) into access_logs, adds them to every aggregate, and counts them.
 */
function loadSql(safe: boolean): string {
  const where = 'l.seq BETWEEN $1::bigint AND $2::bigint AND l.ts BETWEEN $3::bigint AND $4::bigint';
  const adds = AGGREGATES.map((a, i) => `a${i} AS (${upsertSql(a, 'ins')})`);
  return `WITH ins AS (INSERT INTO access_logs ${typedRowsSql(where, safe)} RETURNING *), ${adds.join(',\n')}
    SELECT count(*) AS n FROM ins`;
}

const LOAD_SQL = { fast: loadSql(false), safe: loadSql(true) };

const ACCESS_ROW = ACCESS_SOURCES.map((s) => Buffer.from(`\taccess\t${s}\t`));
const ACCESS_CATEGORY = Buffer.from('\taccess\t');

/**
 * Whether rows in COPY text may hold access records (category `access`, an access source): a
 * search of the bytes, so a load without any never asks PostgreSQL. A false yes (a host named
 * `access`) only costs that question.
 */
export function mayHoldAccessRecords(rows: CopyRows): boolean {
  const body = rows.body;
  for (let at = body.indexOf(ACCESS_CATEGORY); at !== -1; at = body.indexOf(ACCESS_CATEGORY, at + 1)) {
    if (ACCESS_ROW.some((b) => body.compare(b, 0, b.length, at, at + b.length) === 0)) return true;
  }
  return false;
}

/** SQLSTATE class 22 (data exception): a value the fast typing could not take. */
const isDataError = (e: unknown): boolean => typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code.startsWith('22');

/**
 * Runs one of two forms of a statement in the caller's transaction: the fast, and the safe
 * one if the fast one met a value it could not type (the rest of the transaction is kept).
 */
async function typed(c: pg.ClientBase, sql: { fast: string; safe: string }, params: unknown[], what: string): Promise<pg.QueryResult> {
  await c.query('SAVEPOINT access_typing');
  try {
    const r = await c.query(sql.fast, params);
    await c.query('RELEASE SAVEPOINT access_typing');
    return r;
  } catch (e) {
    if (!isDataError(e)) throw e;
    await c.query('ROLLBACK TO SAVEPOINT access_typing');
  }
  try {
    return await c.query(sql.safe, params);
  } catch (e) {
    throw new LhError('LH_ERR_STORE', `${what} cannot be typed into access_logs: ${(e as Error).message}`, undefined, { cause: e });
  }
}

/**
 * In a load's transaction, after its COPY: the access records among its rows (sequence numbers
 * firstSeq..lastSeq, times minTs..maxTs) typed into access_logs and added to the aggregates.
 * Resolves with the access rows added.
 */
export async function loadAccessRows(c: pg.ClientBase, firstSeq: bigint, lastSeq: bigint, rows: CopyRows): Promise<number> {
  if (rows.days.length === 0) return 0;
  const minTs = Math.min(...rows.days.map((d) => d.minTs));
  const maxTs = Math.max(...rows.days.map((d) => d.maxTs));
  const r = await typed(c, LOAD_SQL, [firstSeq, lastSeq, minTs, maxTs], `the access records of sequence numbers ${firstSeq}-${lastSeq}`);
  return Number(r.rows[0]!.n);
}

/**
 * Makes loads on every instance wait for the caller's transaction (they take the counter row
 * first): what a rewrite of aggregate rows takes before it starts, so that no load adds to a row
 * it is rewriting.
 */
export async function holdLoads(c: pg.ClientBase): Promise<void> {
  await c.query('SELECT last FROM seq_counter WHERE id = 1 FOR UPDATE');
}

/**
 * Before an expiry deletes any row: whether any of its tenant days (UTC days from `from`, µs)
 * holds access rows; if so, loads are held (holdLoads) until it commits. Taken first, before the
 * expiry locks any day's counts, which a load holding the counter row may be waiting for.
 */
export async function holdLoadsForAccessDays(c: pg.ClientBase, days: { tenant: string; from: bigint }[]): Promise<boolean> {
  if (days.length === 0) return false;
  const r = await c.query(
    `SELECT EXISTS (SELECT 1 FROM unnest($1::text[], $2::bigint[]) AS d(tenant, lo)
       WHERE EXISTS (SELECT 1 FROM access_logs a WHERE a.tenant = d.tenant AND a.ts >= d.lo AND a.ts < d.lo + ${DAY_MICROS})) AS found`,
    [days.map((d) => d.tenant), days.map((d) => String(d.from))],
  );
  if (r.rows[0]!.found !== true) return false;
  await holdLoads(c);
  return true;
}

const HOUR_US = 3_600_000_000n;

/**
 * Every aggregate's rows of a tenant's µs range computed again from access_logs: the range
 * widened to whole hours, since an aggregate row holds a whole hour.
 */
async function reaggregate(c: pg.ClientBase, tenant: string, from: bigint, to: bigint): Promise<void> {
  const floor = (t: bigint) => t - (((t % HOUR_US) + HOUR_US) % HOUR_US);
  const params = [tenant, floor(from), floor(to) === to ? to : floor(to) + HOUR_US];
  for (const a of AGGREGATES) {
    await c.query(`DELETE FROM ${a.table} WHERE tenant = $1 AND hour >= $2::bigint AND hour < $3::bigint`, params);
    await c.query(`INSERT INTO ${a.table} ${a.fill('(SELECT * FROM access_logs WHERE tenant = $1 AND ts >= $2::bigint AND ts < $3::bigint) AS src')}`, params);
  }
}

/**
 * In an expiry's transaction, after a tenant day's rows left `logs` (loads held first, see
 * holdLoadsForAccessDays): their access rows leave too, and the day's aggregates are computed
 * again from what stays. Resolves with the access rows deleted.
 */
export async function expireAccessDay(c: pg.ClientBase, tenant: string, from: bigint, to: bigint): Promise<number> {
  const r = await c.query(
    `DELETE FROM access_logs a WHERE a.tenant = $1 AND a.ts >= $2::bigint AND a.ts < $3::bigint
       AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.seq = a.seq AND l.tenant = $1 AND l.ts >= $2::bigint AND l.ts < $3::bigint)`,
    [tenant, from, to],
  );
  const deleted = r.rowCount ?? 0;
  if (deleted > 0) await reaggregate(c, tenant, from, to);
  return deleted;
}

const RESTORE_WHERE = `l.tenant = $1 AND l.ts >= $2::bigint AND l.ts < $3::bigint
  AND NOT EXISTS (SELECT 1 FROM access_logs x WHERE x.seq = l.seq AND x.tenant = $1 AND x.ts >= $2::bigint AND x.ts < $3::bigint)`;
const RESTORE_SQL = {
  fast: `INSERT INTO access_logs ${typedRowsSql(RESTORE_WHERE, false)}`,
  safe: `INSERT INTO access_logs ${typedRowsSql(RESTORE_WHERE, true)}`,
};

/**
 * In a restore's transaction, once a tenant day's rows are back in `logs` and before its counts
 * are taken: loads are held, the day's access records without an access row get one, and the
 * day's aggregates are computed again. Resolves with the access rows added.
 */
export async function restoreAccessDay(c: pg.ClientBase, tenant: string, from: bigint, to: bigint): Promise<number> {
  await holdLoads(c);
  const r = await typed(c, RESTORE_SQL, [tenant, from, to], `the restored access records of ${tenant}`);
  const added = r.rowCount ?? 0;
  if (added > 0) await reaggregate(c, tenant, from, to);
  return added;
}

/** Every aggregate computed again from access_logs (`loghaven db maintain`), loads held meanwhile. Resolves with the rows aggregated. */
export async function rebuildAggregates(c: pg.ClientBase): Promise<number> {
  await holdLoads(c);
  for (const a of AGGREGATES) {
    await c.query(`DELETE FROM ${a.table}`);
    await c.query(`INSERT INTO ${a.table} ${a.fill('access_logs')}`);
  }
  const r = await c.query<{ n: bigint }>('SELECT count(*) AS n FROM access_logs');
  return Number(r.rows[0]!.n);
}
