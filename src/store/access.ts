// The access-log analytics contract every backend answers (SPEC §6): the typed access table's
// columns, and the reads the analytics service (query/access/) makes of it and its aggregates.
// Figures come back as plain numbers; the service shapes them into answers.

import type { QueryNode } from '../query/ast.js';

/** The typed columns of the access table (after seq, tenant and ts), with their kinds. */
export const ACCESS_COLUMNS: readonly (readonly [string, 'text' | 'int' | 'bigint' | 'double' | 'timestamp' | 'text[]'])[] = [
  ['format', 'text'],
  ['type', 'text'],
  ['elb', 'text'],
  ['client_ip', 'text'],
  ['client_port', 'int'],
  ['target_ip', 'text'],
  ['target_port', 'int'],
  ['request_processing_time', 'double'],
  ['target_processing_time', 'double'],
  ['response_processing_time', 'double'],
  ['latency_ms', 'double'],
  ['status', 'int'],
  ['elb_status_code', 'int'],
  ['target_status_code', 'int'],
  ['received_bytes', 'bigint'],
  ['sent_bytes', 'bigint'],
  ['request', 'text'],
  ['method', 'text'],
  ['protocol', 'text'],
  ['host', 'text'],
  ['port', 'int'],
  ['path', 'text'],
  ['query', 'text'],
  ['url_pattern', 'text'],
  ['user_agent', 'text'],
  ['ssl_cipher', 'text'],
  ['ssl_protocol', 'text'],
  ['target_group_arn', 'text'],
  ['trace_id', 'text'],
  ['domain_name', 'text'],
  ['chosen_cert_arn', 'text'],
  ['matched_rule_priority', 'int'],
  ['request_creation_time', 'timestamp'],
  ['actions_executed', 'text'],
  ['redirect_url', 'text'],
  ['error_reason', 'text'],
  ['target_port_list', 'text'],
  ['target_status_code_list', 'text'],
  ['classification', 'text'],
  ['classification_reason', 'text'],
  ['conn_trace_id', 'text'],
  ['transformed_host', 'text'],
  ['transformed_uri', 'text'],
  ['request_transform_status', 'text'],
  ['ident', 'text'],
  ['user_name', 'text'],
  ['referer', 'text'],
  ['extra', 'text[]'],
];

/** Formats whose records go to the access table (connection logs stay in `logs` alone). */
export const ACCESS_SOURCES = ['alb', 'combined', 'common'];

// The latency sketch every backend keeps (DDSketch: bucket k holds values in (γ^(k-1), γ^k], read
// back as 2γ^k/(γ+1)). One definition, so that backends given the same rows give the same
// percentiles.

/** Relative accuracy of the latency sketch: a percentile is within 0.5 % of the true value. */
export const LATENCY_ACCURACY = 0.005;
export const SKETCH_GAMMA = (1 + LATENCY_ACCURACY) / (1 - LATENCY_ACCURACY);
export const SKETCH_LN_GAMMA = Math.log(SKETCH_GAMMA);
/** Bucket of latencies under a microsecond (zero, in practice), read back as 0. */
export const ZERO_BUCKET = -32768;

/** What every access read shares: a tenant, a time window (µs, `to` exclusive), a filter on the access table. */
export interface AccessSelection {
  tenant: string;
  from?: bigint;
  to?: bigint;
  query?: QueryNode;
}

export interface StatusClasses {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
}

/** Latency figures in ms; null when no request had all three timings. */
export interface Latency {
  min: number | null;
  avg: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface AccessTotals {
  requests: number;
  status_classes: StatusClasses;
  elb_errors: number;
  target_errors: number;
  received_bytes: number;
  sent_bytes: number;
  latency_ms: Latency;
}

export interface AccessSummary extends AccessTotals {
  clients: number;
  first_ts: bigint | null;
  last_ts: bigint | null;
}

export interface AccessHour extends AccessTotals {
  /** Start of the hour, µs. */
  hour: bigint;
}

export interface AccessUrl extends AccessTotals {
  method: string | null;
  pattern: string;
}

export interface AccessError {
  status: number;
  error_reason: string | null;
  pattern: string | null;
  target: string | null;
  count: number;
}

/** Where figures came from: the aggregate tables, or a scan of the access table. */
export type AccessSource = 'aggregates' | 'scan';

export interface SessionOptions {
  /** Inactivity that ends a session, µs. */
  gapMicros: bigint;
  /** Share of clients analysed, (0, 1]: a client is in the sample by a hash of its key. */
  sampleRate: number;
}

export interface SessionFigures {
  sessions: number;
  requests: number;
  entry_pages: { pattern: string; count: number }[];
  exit_pages: { pattern: string; count: number }[];
  length: { p50: number; p90: number; max: number; avg: number } | null;
  duration_s: { p50: number; p90: number; max: number; avg: number } | null;
}

export interface FlowFigures {
  paths: { steps: string[]; count: number }[];
  transitions: { from: string; to: string; count: number; probability: number }[];
}

export interface FunnelFigures {
  sessions: number;
  /** Sessions that reached each step, in step order. */
  reached: number[];
}

export interface AccessAnalytics {
  summary(sel: AccessSelection): Promise<{ source: AccessSource; summary: AccessSummary }>;
  hourly(sel: AccessSelection): Promise<{ source: AccessSource; items: AccessHour[] }>;
  urls(sel: AccessSelection, limit: number): Promise<{ source: AccessSource; items: AccessUrl[] }>;
  errors(sel: AccessSelection, limit: number): Promise<{ source: AccessSource; items: AccessError[] }>;
  /** About how many sessions the selection holds (to decide on sampling): one cheap pass. */
  estimateSessions(sel: AccessSelection, gapMicros: bigint): Promise<number>;
  sessions(sel: AccessSelection, opts: SessionOptions, limit: number): Promise<SessionFigures>;
  flows(sel: AccessSelection, opts: SessionOptions & { n: number; limit: number }): Promise<FlowFigures>;
  funnel(sel: AccessSelection, opts: SessionOptions & { steps: string[] }): Promise<FunnelFigures>;
  /** Recomputes every aggregate from the access table (`loghaven db maintain`); returns the rows it aggregated. */
  rebuildAggregates(): Promise<{ rows: number; ms: number }>;
}

/**
 * The figures every access aggregate row holds, over the access rows grouped: the same SQL on
 * both backends (DuckDB and PostgreSQL read it alike).
 */
export const ACCESS_SUMS_SQL = `count(*) AS requests,
  count(*) FILTER (WHERE status BETWEEN 200 AND 299) AS s2xx,
  count(*) FILTER (WHERE status BETWEEN 300 AND 399) AS s3xx,
  count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS s4xx,
  count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS s5xx,
  coalesce(sum(received_bytes), 0) AS received_bytes,
  coalesce(sum(sent_bytes), 0) AS sent_bytes,
  count(latency_ms) AS latency_n,
  coalesce(sum(latency_ms), 0) AS latency_sum,
  min(latency_ms) AS latency_min,
  max(latency_ms) AS latency_max`;
