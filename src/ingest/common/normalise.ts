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
  // `log`: Fluent Bit's and Docker's line. As an object it is Elastic Common Schema's (`log.level`).
  message: ['message', 'msg', '@m', '@mt', 'text', 'log'],
  service: ['service', 'app', 'application', 'service_name', 'job', 'service.name'],
  host: ['host', 'hostname', 'host_name', 'host.name'],
  category: ['category'],
  source: ['source', 'caller'],
  trace_id: ['trace_id', 'traceId', 'trace.id', 'traceid'],
  span_id: ['span_id', 'spanId', 'span.id', 'spanid'],
} as const;

export type AliasedField = keyof typeof FIELD_ALIASES;

/** Most names one field may have (json-rows.ts codes a name by field and rank). */
export const MAX_ALIASES = 16;

/** The aliases in use: FIELD_ALIASES, the message's as `ingest.message_keys` sets them. */
let aliases: Readonly<Record<AliasedField, readonly string[]>> = FIELD_ALIASES;
const aliasListeners: (() => void)[] = [];

/** Alias name → the field it feeds and its priority (lower wins). */
let ALIAS_INDEX = indexAliases();

function indexAliases(): Map<string, { field: AliasedField; rank: number }> {
  const index = new Map<string, { field: AliasedField; rank: number }>();
  for (const [field, names] of Object.entries(aliases) as [AliasedField, readonly string[]][]) names.forEach((name, rank) => index.set(name, { field, rank }));
  return index;
}

export function currentAliases(): Readonly<Record<AliasedField, readonly string[]>> {
  return aliases;
}

/** Calls `fn` whenever the aliases change (json-rows.ts rebuilds its tables). */
export function onAliasesChanged(fn: () => void): void {
  aliasListeners.push(fn);
}

/** Why a list of message keys cannot be used (config validation), one message per problem. */
export function messageKeyProblems(keys: readonly string[]): string[] {
  const problems: string[] = [];
  if (keys.length === 0 || keys.length > MAX_ALIASES) problems.push(`ingest.message_keys: between 1 and ${MAX_ALIASES} names`);
  const seen = new Set<string>();
  for (const k of keys) {
    if (k === '' || k.includes('.')) problems.push(`ingest.message_keys: "${k}" is not a top-level member name (no dots, not empty)`);
    else if (seen.has(k)) problems.push(`ingest.message_keys: "${k}" is listed twice`);
    else {
      const other = (Object.entries(FIELD_ALIASES) as [AliasedField, readonly string[]][]).find(([f, names]) => f !== 'message' && names.includes(k));
      if (other !== undefined) problems.push(`ingest.message_keys: "${k}" already names the record's ${other[0]}`);
    }
    seen.add(k);
  }
  return problems;
}

/**
 * The member names a record's message comes from, first listed first (`ingest.message_keys`;
 * FIELD_ALIASES.message by default). Process-wide: every protocol maps the same way.
 */
export function setMessageKeys(keys: readonly string[]): void {
  const problems = messageKeyProblems(keys);
  if (problems.length > 0) throw new Error(problems.join('; '));
  aliases = { ...FIELD_ALIASES, message: [...keys] };
  ALIAS_INDEX = indexAliases();
  for (const fn of aliasListeners) fn();
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
  /**
   * Where a default came from (a Loki label): when the record has a value of its own for the
   * field, the default's `key: value` is kept in attrs instead of being lost (unless the record
   * has a member of that name).
   */
  shadow?: { field: ShadowField; key: string; value: string }[];
}

/** Fields a default of which can be shadowed by the record's own value. */
export type ShadowField = 'service' | 'host' | 'category' | 'source' | 'message' | 'traceId' | 'spanId' | 'level';

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
  // Defaults the record overrode, under their own names, unless attrs has that name already.
  for (const s of defaults?.shadow ?? []) {
    if (fields.own.has(s.field) && !(rest !== null && s.key in rest)) (rest ??= {})[s.key] = s.value;
  }
  if (rest !== null) fields.record.attrs = wellFormedJson(JSON.stringify(rest));
  return { ok: true, record: fields.record };
}

interface Fields {
  ok: true;
  record: LogRecord;
  /** Alias names that became record fields (members and nested paths that leave attrs). */
  consumed: Set<string>;
  /** Fields the record gave a value of its own (not a default's). */
  own: Set<ShadowField>;
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
  // Fields the record sets to a value of its own, other than the default's (shadowed defaults).
  const own = new Set<ShadowField>();
  if (record.level !== null) {
    if (record.level !== defaults?.level) own.add('level');
  } else if (defaults?.level !== undefined) {
    record.level = defaults.level;
    record.severity = defaults.severity ?? null;
  }

  const text = (field: Exclude<ShadowField, 'level'>, from: Candidate | undefined): string | null => {
    const v = takeString(from, consumed);
    if (v === undefined) return defaults?.[field] ?? null;
    if (v !== defaults?.[field]) own.add(field);
    return v;
  };
  record.message = text('message', chosen.message);
  record.service = text('service', chosen.service);
  record.host = text('host', chosen.host);
  record.category = text('category', chosen.category);
  record.source = text('source', chosen.source);
  record.traceId = text('traceId', chosen.trace_id);
  record.spanId = text('spanId', chosen.span_id);
  return { ok: true, record, consumed, own };
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
