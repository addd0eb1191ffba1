// Maps a JSON object onto the record model (SPEC §1): known field names and their aliases become
// record fields, everything else stays in `attrs`. The alias table here is the one every protocol
// uses; normaliseObject applies it to an already decoded value (protocols that decode into
// objects), and json-rows.ts applies the same rules straight to JSON bytes on the hot path.

import type { LogRecord } from '../../model/record.js';
import { parseTimestamp } from '../../model/timestamp.js';
import { normaliseLevel, levelFromOtelSeverity } from '../../model/level.js';
import { wellFormedJson } from './json-scanner.js';

/**
 * Input names of each record field, in priority order: when a record carries two aliases of the
 * same field, the first listed wins and the other is kept in `attrs`.
 */
export const FIELD_ALIASES = {
  ts: ['ts', 'timestamp', 'time', '@timestamp', '@t', 'date', 'datetime'],
  level: ['level', 'lvl', 'severity', '@l', 'loglevel', 'log_level', 'severity_text', 'severityText'],
  message: ['message', 'msg', '@m', '@mt', 'text'],
  service: ['service', 'app', 'application', 'service_name', 'job'],
  host: ['host', 'hostname', 'host_name'],
  category: ['category'],
  source: ['source', 'caller'],
  trace_id: ['trace_id', 'traceId', 'trace.id', 'traceid'],
  span_id: ['span_id', 'spanId', 'span.id', 'spanid'],
} as const;

type AliasedField = keyof typeof FIELD_ALIASES;

/** Alias name → the field it feeds and its priority (lower wins). */
const ALIAS_INDEX = new Map<string, { field: AliasedField; rank: number }>();
for (const [field, names] of Object.entries(FIELD_ALIASES) as [AliasedField, readonly string[]][]) {
  names.forEach((name, rank) => ALIAS_INDEX.set(name, { field, rank }));
}

export type NormaliseResult = { ok: true; record: LogRecord } | { ok: false; error: string };

export interface NormaliseContext {
  tenant: string;
  receivedAt: bigint;
}

/** Turns one decoded JSON value into a record, or says why it cannot be one. */
export function normaliseObject(value: unknown, ctx: NormaliseContext): NormaliseResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: `expected a JSON object, got ${describe(value)}` };
  }
  const obj = value as Record<string, unknown>;
  const fields = normaliseFields(obj, ctx);
  if (!fields.ok) return fields;
  let rest: Record<string, unknown> | null = null;
  for (const key in obj) {
    if (fields.consumed.has(key)) continue;
    (rest ??= {})[key] = obj[key];
  }
  if (rest !== null) fields.record.attrs = wellFormedJson(JSON.stringify(rest));
  return { ok: true, record: fields.record };
}

interface Fields {
  ok: true;
  record: LogRecord;
  /** Keys that became record fields (everything else belongs in attrs). */
  consumed: Set<string>;
}

function normaliseFields(obj: Record<string, unknown>, ctx: NormaliseContext): Fields | { ok: false; error: string } {
  // Which key feeds each field: the best-ranked alias present.
  const chosen: Partial<Record<AliasedField, string>> = {};
  const chosenRank: Partial<Record<AliasedField, number>> = {};
  for (const key in obj) {
    const alias = ALIAS_INDEX.get(key);
    if (alias === undefined) continue;
    const prev = chosenRank[alias.field];
    if (prev === undefined || alias.rank < prev) {
      chosen[alias.field] = key;
      chosenRank[alias.field] = alias.rank;
    }
  }

  const record: LogRecord = {
    ts: ctx.receivedAt,
    receivedAt: ctx.receivedAt,
    tenant: ctx.tenant,
    level: null,
    severity: null,
    service: null,
    host: null,
    category: null,
    source: null,
    message: null,
    traceId: null,
    spanId: null,
    attrs: '{}',
  };
  const consumed = new Set<string>();

  const tsKey = chosen.ts;
  if (tsKey !== undefined) {
    const raw = obj[tsKey];
    if (raw !== null && raw !== '') {
      const ts = parseTimestamp(raw);
      if (ts === null) return { ok: false, error: `invalid timestamp ${preview(raw)} in field "${tsKey}"` };
      record.ts = ts;
    }
    consumed.add(tsKey);
  }

  const levelKey = chosen.level;
  if (levelKey !== undefined) {
    const raw = obj[levelKey];
    if (levelKey === 'severity' && typeof raw === 'number') {
      // A numeric `severity` is the OpenTelemetry severity number of the record model.
      const level = levelFromOtelSeverity(raw);
      if (level !== null) {
        record.severity = raw;
        record.level = level;
        consumed.add(levelKey);
      }
    } else {
      const level = normaliseLevel(raw);
      // An unrecognised level is kept verbatim in attrs rather than dropped or guessed.
      if (level !== null) {
        record.level = level;
        consumed.add(levelKey);
      }
    }
  }

  record.message = takeString(obj, chosen.message, consumed);
  record.service = takeString(obj, chosen.service, consumed);
  record.host = takeString(obj, chosen.host, consumed);
  record.category = takeString(obj, chosen.category, consumed);
  record.source = takeString(obj, chosen.source, consumed);
  record.traceId = takeString(obj, chosen.trace_id, consumed);
  record.spanId = takeString(obj, chosen.span_id, consumed);
  return { ok: true, record, consumed };
}

/** Strings are taken as they are, numbers and booleans as text; objects stay in attrs. */
function takeString(obj: Record<string, unknown>, key: string | undefined, consumed: Set<string>): string | null {
  if (key === undefined) return null;
  const v = obj[key];
  if (typeof v === 'string') {
    consumed.add(key);
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
    consumed.add(key);
    return String(v);
  }
  if (v === null) {
    consumed.add(key);
    return null;
  }
  return null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function preview(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}
