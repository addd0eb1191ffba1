// The typed access-log table and its aggregates (SPEC §6), on DuckDB. Access records arrive in
// `logs` like any other (category `access`, source = the format, the parsed fields in attrs); the
// load that inserts them into `logs` also inserts them, typed, into `access_logs` and adds their
// partial aggregates to the aggregate tables — in the same transaction, so the aggregates never
// disagree with the rows, and a replayed segment adds nothing twice.
//
// Aggregates are mergeable: every load appends one partial row per key (hour, URL pattern, …) and
// readers sum them; once an hour has taken more than MAX_PARTIAL_LOADS loads, the load that
// crosses the line merges that hour's partial rows into one per key. Latency percentiles
// come from a log-bucketed sketch (DDSketch: bucket k holds values in (γ^(k-1), γ^k], read back
// as 2γ^k/(γ+1), within LATENCY_ACCURACY of the true value), whose bucket counts add up across
// loads like every other column. REBUILD_AGGREGATES_SQL (`loghaven db maintain`) recomputes them
// all from `access_logs`.

import { ACCESS_COLUMNS, ACCESS_SOURCES, LATENCY_ACCURACY, SKETCH_GAMMA as GAMMA, SKETCH_LN_GAMMA as LN_GAMMA, ZERO_BUCKET, ACCESS_SUMS_SQL as SUMS } from '../access.js';

// The sketch and the formats are the contract's (store/access.ts): every backend buckets alike.
export { ACCESS_SOURCES, LATENCY_ACCURACY, ZERO_BUCKET };

/** The sketch bucket of a latency in ms, as SQL over the expression `x`. */
export function bucketSql(x: string): string {
  return `CASE WHEN ${x} < 0.001 THEN ${ZERO_BUCKET} ELSE CAST(ceil(ln(${x}) / ${LN_GAMMA}) AS SMALLINT) END`;
}

/** A bucket's representative value, as SQL over the expression `k`. */
export function bucketValueSql(k: string): string {
  return `CASE WHEN ${k} = ${ZERO_BUCKET} THEN 0.0 ELSE 2 * pow(${GAMMA}, ${k}) / ${GAMMA + 1} END`;
}

const DUCKDB_TYPES: Record<string, string> = { text: 'VARCHAR', int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', timestamp: 'TIMESTAMP', 'text[]': 'VARCHAR[]' };

/** Statuses fit a SMALLINT (and take half the room of an INTEGER). */
const SMALL = new Set(['status', 'elb_status_code', 'target_status_code']);

const COLUMNS_SQL = ACCESS_COLUMNS.map(([n, kind]) => `${n} ${SMALL.has(n) ? 'SMALLINT' : DUCKDB_TYPES[kind]}`);

/** The attrs keys the parsers write and the types json_transform reads them as. */
const ATTR_TYPES: Record<string, string> = {
  type: 'VARCHAR',
  elb: 'VARCHAR',
  client_ip: 'VARCHAR',
  client_port: 'INTEGER',
  target_ip: 'VARCHAR',
  target_port: 'INTEGER',
  request_processing_time: 'DOUBLE',
  target_processing_time: 'DOUBLE',
  response_processing_time: 'DOUBLE',
  elb_status_code: 'SMALLINT',
  target_status_code: 'SMALLINT',
  status: 'SMALLINT',
  received_bytes: 'BIGINT',
  sent_bytes: 'BIGINT',
  bytes: 'BIGINT',
  method: 'VARCHAR',
  protocol: 'VARCHAR',
  port: 'INTEGER',
  path: 'VARCHAR',
  query: 'VARCHAR',
  url_pattern: 'VARCHAR',
  user_agent: 'VARCHAR',
  ssl_cipher: 'VARCHAR',
  ssl_protocol: 'VARCHAR',
  target_group_arn: 'VARCHAR',
  domain_name: 'VARCHAR',
  chosen_cert_arn: 'VARCHAR',
  matched_rule_priority: 'INTEGER',
  request_creation_time: 'VARCHAR',
  actions_executed: 'VARCHAR',
  redirect_url: 'VARCHAR',
  error_reason: 'VARCHAR',
  target_port_list: 'VARCHAR',
  target_status_code_list: 'VARCHAR',
  classification: 'VARCHAR',
  classification_reason: 'VARCHAR',
  conn_trace_id: 'VARCHAR',
  transformed_host: 'VARCHAR',
  transformed_uri: 'VARCHAR',
  request_transform_status: 'VARCHAR',
  ident: 'VARCHAR',
  user: 'VARCHAR',
  referer: 'VARCHAR',
  extra: 'VARCHAR[]',
};

/** SUMS of several partial rows merged into one. */
const SUMS_MERGED = `sum(requests), sum(s2xx), sum(s3xx), sum(s4xx), sum(s5xx), sum(received_bytes), sum(sent_bytes),
  sum(latency_n), sum(latency_sum), min(latency_min), max(latency_max)`;

const SUM_COLUMNS = `requests BIGINT NOT NULL, s2xx BIGINT NOT NULL, s3xx BIGINT NOT NULL, s4xx BIGINT NOT NULL, s5xx BIGINT NOT NULL,
  received_bytes BIGINT NOT NULL, sent_bytes BIGINT NOT NULL,
  latency_n BIGINT NOT NULL, latency_sum DOUBLE NOT NULL, latency_min DOUBLE, latency_max DOUBLE`;

/**
 * The aggregate tables: each is its key columns, how a batch of access_logs rows (a relation
 * named `src`) becomes partial rows of it, and how partial rows of it merge into one per key (a
 * select list, in the table's column order, grouped by its plain columns).
 */
export const AGGREGATES: { table: string; ddl: string; fill: string; merge: string }[] = [
  {
    // Hourly summary, with ELB-made errors (the target never answered) apart from the target's.
    table: 'access_hourly',
    ddl: `CREATE TABLE access_hourly (tenant VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, ${SUM_COLUMNS},
      elb_errors BIGINT NOT NULL, target_errors BIGINT NOT NULL)`,
    fill: `SELECT tenant, date_trunc('hour', ts) AS hour, ${SUMS},
      count(*) FILTER (WHERE status >= 400 AND target_status_code IS NULL AND format = 'alb') AS elb_errors,
      count(*) FILTER (WHERE target_status_code >= 400) AS target_errors
      FROM src GROUP BY ALL`,
    merge: `tenant, hour, ${SUMS_MERGED}, sum(elb_errors), sum(target_errors)`,
  },
  {
    table: 'access_hourly_latency',
    ddl: 'CREATE TABLE access_hourly_latency (tenant VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, bucket SMALLINT NOT NULL, n BIGINT NOT NULL)',
    fill: `SELECT tenant, date_trunc('hour', ts) AS hour, ${bucketSql('latency_ms')} AS bucket, count(*) AS n
      FROM src WHERE latency_ms IS NOT NULL GROUP BY ALL`,
    merge: 'tenant, hour, bucket, sum(n)',
  },
  {
    // URL-pattern summary.
    table: 'access_url_hourly',
    ddl: `CREATE TABLE access_url_hourly (tenant VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, method VARCHAR, pattern VARCHAR NOT NULL, ${SUM_COLUMNS})`,
    fill: `SELECT tenant, date_trunc('hour', ts) AS hour, method, url_pattern AS pattern, ${SUMS}
      FROM src WHERE url_pattern IS NOT NULL GROUP BY ALL`,
    merge: `tenant, hour, method, pattern, ${SUMS_MERGED}`,
  },
  {
    table: 'access_url_latency',
    ddl: `CREATE TABLE access_url_latency (tenant VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, method VARCHAR, pattern VARCHAR NOT NULL,
      bucket SMALLINT NOT NULL, n BIGINT NOT NULL)`,
    fill: `SELECT tenant, date_trunc('hour', ts) AS hour, method, url_pattern AS pattern, ${bucketSql('latency_ms')} AS bucket, count(*) AS n
      FROM src WHERE url_pattern IS NOT NULL AND latency_ms IS NOT NULL GROUP BY ALL`,
    merge: 'tenant, hour, method, pattern, bucket, sum(n)',
  },
  {
    // Client summary: who sends what, per hour (distinct clients of any whole-hour range).
    table: 'access_client_hourly',
    ddl: `CREATE TABLE access_client_hourly (tenant VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, client_ip VARCHAR NOT NULL,
      requests BIGINT NOT NULL, errors BIGINT NOT NULL, sent_bytes BIGINT NOT NULL, first_ts TIMESTAMP NOT NULL, last_ts TIMESTAMP NOT NULL)`,
    fill: `SELECT tenant, date_trunc('hour', ts) AS hour, client_ip, count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors,
      coalesce(sum(sent_bytes), 0) AS sent_bytes, min(ts) AS first_ts, max(ts) AS last_ts
      FROM src WHERE client_ip IS NOT NULL GROUP BY ALL`,
    merge: 'tenant, hour, client_ip, sum(requests), sum(errors), sum(sent_bytes), min(first_ts), max(last_ts)',
  },
  {
    // Error patterns: status, reason, URL pattern and target of every 4xx and 5xx.
    table: 'access_error_hourly',
    ddl: `CREATE TABLE access_error_hourly (tenant VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, status SMALLINT NOT NULL, error_reason VARCHAR,
      pattern VARCHAR, target VARCHAR, n BIGINT NOT NULL)`,
    fill: `SELECT tenant, date_trunc('hour', ts) AS hour, status, error_reason, url_pattern AS pattern,
      CASE WHEN target_ip IS NULL THEN NULL WHEN target_port IS NULL THEN target_ip ELSE target_ip || ':' || target_port END AS target,
      count(*) AS n
      FROM src WHERE status >= 400 GROUP BY ALL`,
    merge: 'tenant, hour, status, error_reason, pattern, target, sum(n)',
  },
];

export const ACCESS_MIGRATION_SQL: string[] = [
  `CREATE TABLE access_logs (
    seq BIGINT NOT NULL,
    tenant VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    ${COLUMNS_SQL.join(',\n    ')}
  )`,
  ...AGGREGATES.map((a) => a.ddl),
];

/** access_logs rows of the `logs` rows with seq > $1 (a load's rows), typed. */
export function typedRowsSql(where: string): string {
  const shape = JSON.stringify(ATTR_TYPES);
  const a = (k: string) => `a.${k}`;
  const cols: Record<string, string> = {
    format: 'l.source',
    host: 'l.host',
    request: 'l.message',
    trace_id: 'l.trace_id',
    status: 'coalesce(a.elb_status_code, a.status)',
    sent_bytes: 'coalesce(a.sent_bytes, a.bytes)',
    latency_ms: `round((a.request_processing_time + a.target_processing_time + a.response_processing_time) * 1000, 6)`,
    request_creation_time: 'TRY_CAST(a.request_creation_time AS TIMESTAMP)',
    user_name: 'a."user"',
  };
  const select = ACCESS_COLUMNS.map(([n]) => `${cols[n] ?? a(n)} AS ${n}`).join(', ');
  return `SELECT l.seq, l.tenant, l.ts, ${select}
    FROM (SELECT seq, tenant, ts, source, host, message, trace_id, json_transform(attrs, '${shape}') AS a
          FROM logs WHERE ${where} AND category = 'access' AND source IN (${ACCESS_SOURCES.map((s) => `'${s}'`).join(', ')})) l`;
}

/** Inserts the access rows among the logs rows with seq > $1 into access_logs; returns the SQL. */
export const INSERT_ACCESS_SQL = `INSERT INTO access_logs ${typedRowsSql('seq > $1')}`;

/** Appends the partial aggregates of the access_logs rows with seq > $1. */
export const APPEND_AGGREGATES_SQL: string[] = AGGREGATES.map(
  (a) => `INSERT INTO ${a.table} WITH src AS (SELECT * FROM access_logs WHERE seq > $1) ${a.fill}`,
);

/**
 * Partial rows one (tenant, hour) of an aggregate may hold before a load merges them: each load
 * appends a row per key it touches, so a live stream (a load a second) would otherwise leave
 * thousands per hour for every reader to sum.
 */
export const MAX_PARTIAL_LOADS = 16;

/**
 * The (tenant, hour µs) pairs among the access rows with seq > $1 that more than
 * MAX_PARTIAL_LOADS loads have added to (access_hourly takes one row per load and pair).
 */
export const CROWDED_HOURS_SQL = `SELECT h.tenant, epoch_us(h.hour) FROM access_hourly h
  JOIN (SELECT DISTINCT tenant, date_trunc('hour', ts) AS hour FROM access_logs WHERE seq > $1) n ON h.tenant = n.tenant AND h.hour = n.hour
  GROUP BY ALL HAVING count(*) > ${MAX_PARTIAL_LOADS}`;

const HOUR_OF = 'tenant = $1 AND hour = make_timestamp($2)';

/**
 * Merges the partial rows of one tenant and hour into one per key, in every aggregate: the
 * statements in order, and whether each takes the tenant ($1) and the hour's start in µs ($2).
 */
export const MERGE_HOUR_SQL: { sql: string; hourParams: boolean }[] = [
  ...AGGREGATES.flatMap((a) => [
    { sql: `CREATE OR REPLACE TEMP TABLE access_merged AS SELECT ${a.merge} FROM ${a.table} WHERE ${HOUR_OF} GROUP BY ALL`, hourParams: true },
    { sql: `DELETE FROM ${a.table} WHERE ${HOUR_OF}`, hourParams: true },
    { sql: `INSERT INTO ${a.table} SELECT * FROM access_merged`, hourParams: false },
  ]),
  { sql: 'DROP TABLE access_merged', hourParams: false },
];

/** Fills access_logs from the access records already in logs (the migration that adds it). */
export const BACKFILL_ACCESS_SQL = `INSERT INTO access_logs ${typedRowsSql('true')}`;

/** Rebuilds every aggregate from access_logs, one row per key (merging the loads' partial rows). */
export const REBUILD_AGGREGATES_SQL: string[] = AGGREGATES.flatMap((a) => [
  `DELETE FROM ${a.table}`,
  `INSERT INTO ${a.table} WITH src AS (SELECT * FROM access_logs) ${a.fill}`,
]);
