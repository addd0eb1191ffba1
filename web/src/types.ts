// The API's answers as the UI reads them (the server's schemas are in src/api/http/schemas.ts).

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface WireRecord {
  ts: string;
  received_at: string;
  tenant: string;
  level: Level | null;
  severity: number | null;
  service: string | null;
  host: string | null;
  category: string | null;
  source: string | null;
  message: string | null;
  trace_id: string | null;
  span_id: string | null;
  attrs: Record<string, unknown>;
}

export interface SearchAnswer {
  items: WireRecord[];
  next_cursor: string | null;
  stats: { rows_scanned: number; elapsed_ms: number; cold_days?: number };
}

export interface HistogramAnswer {
  step_ms: number;
  /** With by=level, `levels` counts each bucket's records per level (`none`: without one). */
  buckets: { ts: string; count: number; levels?: Record<string, number> }[];
}

export interface Latency {
  min: number | null;
  avg: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface StatusClasses {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
}

/** What every access analytics answer may add: sampling and loads still running. */
export interface AccessMeta {
  sample_rate?: number;
  sampled?: boolean;
  estimated_sessions?: number;
  partial?: boolean;
  rows_loading?: number;
  source?: string;
}

export interface AccessSummary extends AccessMeta {
  requests: number;
  status_classes: StatusClasses;
  elb_errors: number;
  target_errors: number;
  received_bytes: number;
  sent_bytes: number;
  clients: number;
  latency_ms: Latency;
  first_ts: string | null;
  last_ts: string | null;
}

export interface AccessHour extends Omit<AccessSummary, 'clients' | 'first_ts' | 'last_ts'> {
  hour: string;
}

export interface AccessUrl {
  method: string | null;
  pattern: string;
  count: number;
  status_classes: StatusClasses;
  latency_ms: Latency;
  received_bytes: number;
  sent_bytes: number;
}

export interface AccessErrorPattern {
  status: number;
  error_reason: string | null;
  pattern: string | null;
  target: string | null;
  count: number;
}

export interface PatternCount {
  pattern: string;
  count: number;
}

export interface Spread {
  p50: number;
  p90: number;
  max: number;
  avg: number;
}

export interface AccessSessions extends AccessMeta {
  sessions: number;
  sessions_analyzed?: number;
  requests: number;
  gap_s: number;
  entry_pages: PatternCount[];
  exit_pages: PatternCount[];
  /** Null when there is no session. */
  length: Spread | null;
  duration_s: Spread | null;
}

export interface AccessFlows extends AccessMeta {
  n: number;
  paths: { steps: string[]; count: number }[];
  transitions: { from: string; to: string; count: number; probability: number }[];
}

export interface AccessFunnel extends AccessMeta {
  sessions: number;
  steps: { pattern: string; sessions: number; conversion: number; drop_off: number; drop_off_rate: number }[];
}
