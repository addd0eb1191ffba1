// Maps a JSON object onto the record model (SPEC §1): known field names and their aliases become
// record fields, everything else stays in `attrs`. The alias table here is the one every protocol
// uses; normaliseObject applies it to an already decoded value (the reference, and protocols that
// decode into objects), and json-rows.ts applies the same rules straight to JSON bytes on the hot
// path. A dotted alias (`host.name`) matches a member of that name and the same path through a
// nested object (`{"host":{"name":…}}`, as Elastic Common Schema documents have it).

import type { Level, LogRecord } from '../../model/record.js';
import { parseTimestamp } from '../../model/timestamp.js';
import { normaliseLevel, levelFromOtelSeverity } from '../../model/level.js';
import { wellFormedJson } from './json-scanner.js';

/**
 * Input names of each record field, in priority order: when a record carries two aliases of the
 * same field, the first listed wins and the other is kept in `attrs`.
 */
export const FIELD_ALIASES = {
  ts: ['ts', 'timestamp', 'time', '@timestamp', '@t', 'date', 'datetime'],
  level: ['level', 'lvl', 'severity', '@l', 'loglevel', 'log_level', 'severity_text', 'severityText', 'log.level'],
  message: ['message', 'msg', '@m', '@mt', 'text'],
  service: ['service', 'app', 'application', 'service_name', 'job', 'service.name'],
  host: ['host', 'hostname', 'host_name', 'host.name'],
  category: ['category'],
  source: ['source', 'caller'],
  trace_id: ['trace_id', 'traceId', 'trace.id', 'traceid'],
  span_id: ['span_id', 'spanId', 'span.id', 'spanid'],
} as const;

export type AliasedField = keyof typeof FIELD_ALIASES;

/** Alias name → the field it feeds and its priority (lower wins). */
const ALIAS_INDEX = new Map<string, { field: AliasedField; rank: number }>();
for (const [field, names] of Object.entries(FIELD_ALIASES) as [AliasedField, readonly string[]][]) {
  names.forEach((name, rank) => ALIAS_INDEX.set(name, { field, rank }));
}

/** The first segments of the dotted aliases: members whose nested objects may hold a field. */
export const NESTED_PARENTS: ReadonlySet<string> = new Set(
  [...ALIAS_INDEX.keys()].filter((n) => n.includes('.')).map((n) => n.slice(0, n.indexOf('.'))),
);

export type NormaliseResult = { ok: true; record: LogRecord } | { ok: false; error: string };

export interface NormaliseContext {
  tenant: string;
  receivedAt: bigint;
}

/**
 * Record fields that come from around a record — a stream's labels, an index name, a syslog
 * header — rather than from the record itself. A field the record has wins.
 */
export interface RecordDefaults {
  /** µs; records without a timestamp get this rather than the receive time. */
  ts?: bigint;
  level?: Level;
  /** Goes with `level`: used only when the level is the default one. */
  severity?: number;
  service?: string;
  host?: string;
  category?: string;
  source?: string;
  message?: string;
  traceId?: string;
  spanId?: string;
  /** Members for attrs, each kept unless the record has a member of the same name. */
  attrs?: Record<string, unknown>;
}

/** Turns one decoded JSON value into a record, or says why it cannot be one. */
export function normaliseObject(value: unknown, ctx: NormaliseContext, defaults?: RecordDefaults): NormaliseResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: `expected a JSON object, got ${describe(value)}` };
  }
  const obj = value as Record<string, unknown>;
  const fields = normaliseFields(obj, ctx, defaults);
  if (!fields.ok) return fields;
  let rest: Record<string, unknown> | null = null;
  for (const key in defaults?.attrs ?? {}) {
    if (!(key in obj)) (rest ??= {})[key] = defaults!.attrs![key];
  }
  for (const key in obj) {
    if (fields.consumed.has(key)) continue;
    const v = obj[key];
    if (NESTED_PARENTS.has(key) && isPlainObject(v)) {
      // Members of a nested object that became record fields leave it; an emptied one goes.
      let kept: Record<string, unknown> | null = null;
      for (const sub in v) if (!fields.consumed.has(`${key}.${sub}`)) (kept ??= {})[sub] = v[sub];
      const had = Object.keys(v).length > 0;
      if (kept === null && had) continue;
      (rest ??= {})[key] = kept ?? v;
      continue;
    }
    (rest ??= {})[key] = v;
  }
  if (rest !== null) fields.record.attrs = wellFormedJson(JSON.stringify(rest));
  return { ok: true, record: fields.record };
}

interface Fields {
  ok: true;
  record: LogRecord;
  /** Alias names that became record fields (members and nested paths that leave attrs). */
  consumed: Set<string>;
}

/** A candidate source of a field: an alias name and where its value is. */
interface Candidate {
  name: string;
  rank: number;
  value: unknown;
}

function normaliseFields(obj: Record<string, unknown>, ctx: NormaliseContext, defaults?: RecordDefaults): Fields | { ok: false; error: string } {
  // Which member feeds each field: the best-ranked alias present (of equals, the later). An
  // object or array can be no field but a (bad) timestamp: `"service":{"name":…}` leaves the
  // field to `service.name`.
  const chosen: Partial<Record<AliasedField, Candidate>> = {};
  const consider = (name: string, value: unknown) => {
    const alias = ALIAS_INDEX.get(name);
    if (alias === undefined) return;
    if (alias.field !== 'ts' && value !== null && typeof value === 'object') return;
    const prev = chosen[alias.field];
    if (prev === undefined || alias.rank <= prev.rank) chosen[alias.field] = { name, rank: alias.rank, value };
  };
  for (const key in obj) {
    const v = obj[key];
    consider(key, v);
    if (NESTED_PARENTS.has(key) && isPlainObject(v)) for (const sub in v) consider(`${key}.${sub}`, v[sub]);
  }

  const record: LogRecord = {
    ts: defaults?.ts ?? ctx.receivedAt,
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

  const tsFrom = chosen.ts;
  if (tsFrom !== undefined) {
    const raw = tsFrom.value;
    if (raw !== null && raw !== '') {
      const ts = parseTimestamp(raw);
      if (ts === null) return { ok: false, error: `invalid timestamp ${preview(raw)} in field "${tsFrom.name}"` };
      record.ts = ts;
    }
    consumed.add(tsFrom.name);
  }

  const levelFrom = chosen.level;
  if (levelFrom !== undefined) {
    const raw = levelFrom.value;
    if (levelFrom.name === 'severity' && typeof raw === 'number') {
      // A numeric `severity` is the OpenTelemetry severity number of the record model.
      const level = levelFromOtelSeverity(raw);
      if (level !== null) {
        record.severity = raw;
        record.level = level;
        consumed.add(levelFrom.name);
      }
    } else {
      const level = normaliseLevel(raw);
      // An unrecognised level is kept verbatim in attrs rather than dropped or guessed.
      if (level !== null) {
        record.level = level;
        consumed.add(levelFrom.name);
      }
    }
  }
  if (record.level === null && defaults?.level !== undefined) {
    record.level = defaults.level;
    record.severity = defaults.severity ?? null;
  }

  record.message = takeString(chosen.message, consumed) ?? defaults?.message ?? null;
  record.service = takeString(chosen.service, consumed) ?? defaults?.service ?? null;
  record.host = takeString(chosen.host, consumed) ?? defaults?.host ?? null;
  record.category = takeString(chosen.category, consumed) ?? defaults?.category ?? null;
  record.source = takeString(chosen.source, consumed) ?? defaults?.source ?? null;
  record.traceId = takeString(chosen.trace_id, consumed) ?? defaults?.traceId ?? null;
  record.spanId = takeString(chosen.span_id, consumed) ?? defaults?.spanId ?? null;
  return { ok: true, record, consumed };
}

/**
 * Strings are taken as they are, numbers and booleans as text; objects stay in attrs. A null is
 * taken as nothing (undefined: the default may apply).
 */
function takeString(from: Candidate | undefined, consumed: Set<string>): string | undefined {
  if (from === undefined) return undefined;
  const v = from.value;
  if (typeof v === 'string') {
    consumed.add(from.name);
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
    consumed.add(from.name);
    return String(v);
  }
  if (v === null) consumed.add(from.name);
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
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
