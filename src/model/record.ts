// The record model of SPEC §1: every log, whatever protocol brought it, becomes one LogRecord.
// Timestamps are kept as integer microseconds since the Unix epoch (UTC) so no precision is lost
// between parsing, storage and output.

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

export interface LogRecord {
  /** Event time, µs since epoch, UTC. */
  ts: bigint;
  /** Time the server accepted the record, µs since epoch, UTC. */
  receivedAt: bigint;
  tenant: string;
  level: Level | null;
  /** OpenTelemetry severity number 1–24. */
  severity: number | null;
  service: string | null;
  host: string | null;
  category: string | null;
  source: string | null;
  message: string | null;
  traceId: string | null;
  spanId: string | null;
  /** Every other field, as a JSON object text (already serialised once, at ingest). */
  attrs: string;
}

/** A record as it comes back from the store: the stored fields plus its sequence number. */
export interface StoredRecord extends LogRecord {
  /** Monotonic per store, assigned at append; ties on `ts` are broken by it. */
  seq: bigint;
}

/** The names of the record fields as they appear on the wire (API output, query language). */
export const RECORD_FIELDS = [
  'ts',
  'received_at',
  'tenant',
  'level',
  'severity',
  'service',
  'host',
  'category',
  'source',
  'message',
  'trace_id',
  'span_id',
  'attrs',
] as const;
export type RecordField = (typeof RECORD_FIELDS)[number];

const MICROS_PER_MS = 1000n;

/** RFC 3339 with exactly six fractional digits, always UTC (`Z`). */
export function formatMicros(us: bigint): string {
  let ms = us / MICROS_PER_MS;
  let rest = us % MICROS_PER_MS;
  if (rest < 0n) {
    rest += MICROS_PER_MS;
    ms -= 1n;
  }
  const iso = new Date(Number(ms)).toISOString(); // 2024-01-02T03:04:05.678Z
  return `${iso.slice(0, 23)}${rest.toString().padStart(3, '0')}Z`;
}

/** A UTC day in µs. */
export const DAY_MICROS = 86_400_000_000n;

/** Whether `text` is a day as the lifecycle names them: `YYYY-MM-DD`, a real date. */
export function isDayName(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`));
}

/** The start of a UTC day (`YYYY-MM-DD`) in µs. */
export function dayStartMicros(day: string): bigint {
  return BigInt(Date.parse(`${day}T00:00:00Z`)) * 1000n;
}

/** The current time in µs: the wall clock at process start plus the monotonic clock since. */
export function nowMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

/** The wire (JSON) form of a stored record, with the SPEC §1 field names. */
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
