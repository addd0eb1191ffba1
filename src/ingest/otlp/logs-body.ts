// OTLP logs (ExportLogsServiceRequest), from JSON or protobuf, into rows. Per record:
// `resource.attributes` give service (`service.name`) and host (`host.name`), the rest of them
// going to `attrs.resource`; the scope goes to `attrs.scope`; `severityNumber` gives severity and
// level (`severityText` the level when there is no number); a string `body` is the message, any
// other body `attrs.body`; `traceId`/`spanId` are hex; `timeUnixNano` (else
// `observedTimeUnixNano`, else the receive time) is ts; a `category` attribute (the record's, else
// the resource's) is the category, and the code location attributes (`code.file.path` or
// `code.filepath`, line, function) make the source; other attributes go to attrs. A record that
// cannot be decoded or stored is counted in `partialSuccess`, and the rest are stored.

import { levelFromOtelSeverity, normaliseLevel } from '../../model/level.js';
import type { LogRecord } from '../../model/record.js';
import { MAX_MICROS, MIN_MICROS } from '../../model/timestamp.js';
import { RowBatchBuilder, type BufferSource, type RowBatch } from '../../store/row-format.js';
import { wellFormedJson } from '../common/json-scanner.js';
import type { NormaliseContext } from '../common/normalise.js';
import { ProtoReader, WireType } from '../common/protobuf.js';
import { ProtoRecordWriter } from './logs-proto.js';
import { LhError } from '../../errors.js';

export interface ParsedLogs {
  batch: RowBatch;
  rejected: number;
  /** Why each refused record was refused, the first MAX_REASONS of them ('' when none was). */
  errorMessage: string;
}

/** Reasons a partialSuccess names one by one; past them it says how many more. */
export const MAX_REASONS = 20;

/** A decoded AnyValue: what JSON can hold, with byte strings as base64. */
export type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

/** One log record, decoded from either encoding. */
export interface OtlpRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: Value | undefined;
  attributes: Record<string, Value>;
  traceId: string;
  spanId: string;
  flags: number;
  eventName: string;
}

export interface Scope {
  name: string;
  version: string;
  attributes: Record<string, Value>;
}

/** Writes records under one resource and scope after another (and counts those refused). */
export class LogsWriter {
  readonly out: RowBatchBuilder;
  rejected = 0;
  errorMessage = '';
  service: string | null = null;
  host: string | null = null;
  resource: Record<string, Value> | null = null;
  scope: Scope | null = null;
  private scopeAttrOf: Scope | null = null;
  private scopeAttrValue: Record<string, Value> | null = null;
  private sharedResource: Record<string, Value> | null | undefined = undefined;
  private sharedScope: Scope | null | undefined = undefined;
  private sharedText = '';

  constructor(
    bytes: number,
    readonly ctx: NormaliseContext,
    buffers: BufferSource | undefined,
  ) {
    this.out = new RowBatchBuilder(bytes + 1024, buffers);
  }

  setResource(attributes: Record<string, Value>): void {
    const { 'service.name': service, 'host.name': host, ...rest } = attributes;
    this.service = typeof service === 'string' ? service : null;
    this.host = typeof host === 'string' ? host : null;
    if (service !== undefined && this.service === null) rest['service.name'] = service;
    if (host !== undefined && this.host === null) rest['host.name'] = host;
    this.resource = Object.keys(rest).length > 0 ? rest : null;
  }

  /** A record that could not be decoded: counted, and its reason kept (the first MAX_REASONS). */
  fail(index: number, e: unknown): void {
    this.rejected++;
    if (this.rejected <= MAX_REASONS) {
      this.errorMessage += `${this.errorMessage === '' ? '' : '; '}log record ${index}: ${e instanceof LhError ? e.message.replace(/^invalid request body: /, '') : String(e)}`;
    }
  }

  record(r: OtlpRecord, index: number): void {
    const nanos = r.timeUnixNano !== 0n ? r.timeUnixNano : r.observedTimeUnixNano;
    const ts = nanos !== 0n ? nanos / 1000n : this.ctx.receivedAt;
    if (ts < MIN_MICROS || ts > MAX_MICROS) return this.fail(index, `time ${nanos} ns is outside the years 1–9999`);
    // The attributes were decoded for this record alone: they become its attrs without a copy.
    const attrs = r.attributes;
    const category = takeString(attrs, 'category') ?? (typeof this.resource?.category === 'string' ? this.resource.category : null);
    const source = sourceOf(attrs);
    let level = levelFromOtelSeverity(r.severityNumber);
    const severity = level !== null ? r.severityNumber : null;
    if (level === null && r.severityText !== '') level = normaliseLevel(r.severityText);
    // A text that says more than the level (an unknown spelling) is kept.
    if (r.severityText !== '' && level === null) attrs.severity_text = r.severityText;
    let message: string | null = null;
    if (typeof r.body === 'string') message = r.body;
    else if (r.body !== undefined) attrs.body = r.body;
    if (r.eventName !== '') attrs.event_name = r.eventName;
    if (r.flags !== 0) attrs.flags = r.flags;
    const shared = this.sharedAttrs();
    let json: string;
    if (shared === '') {
      json = wellFormedJson(JSON.stringify(attrs));
    } else if (Object.hasOwn(attrs, 'resource') || Object.hasOwn(attrs, 'scope')) {
      // The record's own attribute of that name gives way, in its place.
      if (this.resource !== null) attrs.resource = this.resource;
      const scope = this.scopeAttr();
      if (scope !== null) attrs.scope = scope;
      json = wellFormedJson(JSON.stringify(attrs));
    } else {
      const own = wellFormedJson(JSON.stringify(attrs));
      json = own.length === 2 ? `{${shared}}` : `${own.slice(0, -1)},${shared}}`;
    }
    const rec: LogRecord = {
      ts,
      receivedAt: this.ctx.receivedAt,
      tenant: this.ctx.tenant,
      level,
      severity,
      service: this.service,
      host: this.host,
      category,
      source,
      message,
      traceId: r.traceId !== '' ? r.traceId : null,
      spanId: r.spanId !== '' ? r.spanId : null,
      attrs: json,
    };
    this.out.writeRecord(rec);
  }

  /**
   * The members `"resource":…,"scope":…` that end the attrs of every record under the current
   * resource and scope, as JSON text made once for each pair ('' when both are empty).
   */
  sharedAttrs(): string {
    if (this.sharedResource === this.resource && this.sharedScope === this.scope) return this.sharedText;
    // A Collector's batch repeats the same scope (and often no other resource attributes) under
    // each resource: the text stays when its content does.
    const same = this.sharedResource === this.resource && sameScope(this.sharedScope, this.scope);
    this.sharedResource = this.resource;
    this.sharedScope = this.scope;
    if (!same) {
      const scope = this.scopeAttr();
      const members: string[] = [];
      if (this.resource !== null) members.push(`"resource":${JSON.stringify(this.resource)}`);
      if (scope !== null) members.push(`"scope":${JSON.stringify(scope)}`);
      this.sharedText = members.length === 0 ? '' : wellFormedJson(`{${members.join(',')}}`).slice(1, -1);
    }
    return this.sharedText;
  }

  /** `attrs.scope` of the records under the current scope (made once per scope), or null. */
  private scopeAttr(): Record<string, Value> | null {
    if (this.scope === null) return null;
    if (this.scopeAttrOf === this.scope) return this.scopeAttrValue;
    this.scopeAttrOf = this.scope;
    this.scopeAttrValue = scopeAttr(this.scope);
    return this.scopeAttrValue;
  }

  result(): ParsedLogs {
    const more = this.rejected - MAX_REASONS;
    return { batch: this.out.finish(), rejected: this.rejected, errorMessage: more > 0 ? `${this.errorMessage}; and ${more} more` : this.errorMessage };
  }
}

/** Scopes with the same name and version and no attributes (which would take a deep comparison). */
function sameScope(a: Scope | null | undefined, b: Scope | null): boolean {
  if (a === undefined || a === null || b === null) return a === b;
  return a.name === b.name && a.version === b.version && isEmpty(a.attributes) && isEmpty(b.attributes);
}

function isEmpty(o: Record<string, Value>): boolean {
  for (const _ in o) return false;
  return true;
}

/** `attrs.scope` of the records under a scope, or null when the scope says nothing. */
export function scopeAttr(s: Scope): Record<string, Value> | null {
  if (s.name === '' && s.version === '' && Object.keys(s.attributes).length === 0) return null;
  const scope: Record<string, Value> = {};
  if (s.name !== '') scope.name = s.name;
  if (s.version !== '') scope.version = s.version;
  if (Object.keys(s.attributes).length > 0) scope.attributes = s.attributes;
  return scope;
}

/** Removes and returns a string attribute (left in place when it is not a string). */
function takeString(attrs: Record<string, Value>, name: string): string | null {
  const v = attrs[name];
  if (typeof v !== 'string' || v === '') return null;
  delete attrs[name];
  return v;
}

/** `file:line function` from the semantic conventions' code attributes (new names, then old). */
function sourceOf(attrs: Record<string, Value>): string | null {
  const file = takeString(attrs, 'code.file.path') ?? takeString(attrs, 'code.filepath');
  if (file === null) return null;
  let line: Value | undefined;
  for (const name of ['code.line.number', 'code.lineno']) {
    if (typeof attrs[name] === 'number' || typeof attrs[name] === 'string') {
      line ??= attrs[name];
      delete attrs[name];
    }
  }
  const fn = takeString(attrs, 'code.function.name') ?? takeString(attrs, 'code.function');
  return `${file}${line !== undefined ? `:${line}` : ''}${fn !== null ? ` ${fn}` : ''}`;
}

function bad(detail: string): LhError {
  return new LhError('LH_ERR_BAD_BODY', detail);
}

// ---- JSON (the OTLP/JSON mapping of proto3: camelCase names, int64 as strings, ids as hex) ----

/**
 * OTLP/JSON through objects: the spec of the byte decoder that the route uses (logs-json.ts,
 * held to it by a differential test), and what that decoder hands the bodies it does not read.
 */
export function parseOtlpJson(body: Buffer, ctx: NormaliseContext, buffers?: BufferSource): ParsedLogs {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw bad(`body is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw bad('body is not an ExportLogsServiceRequest object');
  const w = new LogsWriter(body.length, ctx, buffers);
  let index = 0;
  for (const rl of list(doc.resourceLogs ?? doc.resource_logs, 'resourceLogs')) {
    w.setResource(jsonResourceAttributes(rl.resource));
    for (const sl of list(rl.scopeLogs ?? rl.scope_logs, 'scopeLogs')) {
      w.scope = jsonScope(sl.scope);
      for (const lr of list(sl.logRecords ?? sl.log_records, 'logRecords')) {
        index++;
        let rec: OtlpRecord;
        try {
          rec = jsonLogRecord(lr);
        } catch (e) {
          // One malformed record costs itself only.
          w.fail(index, e);
          continue;
        }
        w.record(rec, index);
      }
    }
  }
  return w.result();
}

/** The attributes of a decoded `resource` (anything but an object is a resource without any). */
export function jsonResourceAttributes(resource: unknown): Record<string, Value> {
  return keyValues(isObject(resource) ? resource.attributes : undefined, 'resource.attributes');
}

/** A decoded `scope` (anything but an object is a scope that says nothing). */
export function jsonScope(v: unknown): Scope {
  const scope = isObject(v) ? v : {};
  return { name: str(scope.name), version: str(scope.version), attributes: keyValues(scope.attributes, 'scope.attributes') };
}

/** A decoded log record's fields; throws when one of them cannot be decoded. */
export function jsonLogRecord(lr: Record<string, unknown>): OtlpRecord {
  return {
    timeUnixNano: uint64(lr.timeUnixNano ?? lr.time_unix_nano),
    observedTimeUnixNano: uint64(lr.observedTimeUnixNano ?? lr.observed_time_unix_nano),
    severityNumber: severityNumber(lr.severityNumber ?? lr.severity_number),
    severityText: str(lr.severityText ?? lr.severity_text),
    body: lr.body === undefined || lr.body === null ? undefined : anyValue(lr.body, 'body'),
    attributes: keyValues(lr.attributes, 'attributes'),
    traceId: hexId(lr.traceId ?? lr.trace_id, 'traceId'),
    spanId: hexId(lr.spanId ?? lr.span_id, 'spanId'),
    flags: Number(lr.flags ?? 0) || 0,
    eventName: str(lr.eventName ?? lr.event_name),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function list(v: unknown, what: string): Record<string, unknown>[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every(isObject)) throw bad(`${what} must be an array of objects`);
  return v;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function uint64(v: unknown): bigint {
  if (v === undefined || v === null || v === '') return 0n;
  const n = typeof v === 'number' && Number.isInteger(v) && v >= 0 ? BigInt(v) : typeof v === 'string' && /^\d{1,20}$/.test(v) ? BigInt(v) : -1n;
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw bad(`${JSON.stringify(v)} is not a uint64 of nanoseconds`);
  return n;
}

const SEVERITY_NAMES: Record<string, number> = {};
for (const [i, name] of ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].entries()) {
  for (let k = 1; k <= 4; k++) SEVERITY_NAMES[`SEVERITY_NUMBER_${name}${k === 1 ? '' : k}`] = i * 4 + k;
}

export function severityNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return SEVERITY_NAMES[v] ?? (/^\d+$/.test(v) ? Number(v) : 0);
  return 0;
}

function hexId(v: unknown, what: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v)) throw bad(`${what} must be a hex string`);
  return /^0*$/.test(v) ? '' : v.toLowerCase();
}

/** AnyValues nest this deep at most (as JSON members do in the native encoder): deeper is refused, not a stack overflow. */
const MAX_DEPTH = 128;

/** `out[key] = value`, where a key named __proto__ is an attribute like any other (assigning it would set the prototype). */
function setAttr(out: Record<string, Value>, key: string, value: Value): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function keyValues(v: unknown, what: string, depth = 0): Record<string, Value> {
  if (depth > MAX_DEPTH) throw bad(`${what} is nested more than ${MAX_DEPTH} deep`);
  const out: Record<string, Value> = {};
  for (const kv of list(v, what)) {
    if (typeof kv.key !== 'string') throw bad(`${what}: a key must be a string`);
    setAttr(out, kv.key, kv.value === undefined || kv.value === null ? null : anyValue(kv.value, what, kv.key, depth + 1));
  }
  return out;
}

/** `what` names the value, or with `key` the attribute `what.key` (the name is made only for an error). */
function anyValue(v: unknown, what: string, key?: string, depth = 0): Value {
  if (!isObject(v)) throw bad(`${path(what, key)} must be an AnyValue object`);
  if (depth > MAX_DEPTH) throw bad(`${path(what, key)} is nested more than ${MAX_DEPTH} deep`);
  if ('stringValue' in v) return str(v.stringValue);
  if ('boolValue' in v) return v.boolValue === true;
  if ('intValue' in v) {
    const n = v.intValue;
    if (typeof n === 'number') return n;
    if (typeof n === 'string' && /^-?\d+$/.test(n)) return Number.isSafeInteger(Number(n)) ? Number(n) : n;
    throw bad(`${path(what, key)}: intValue ${JSON.stringify(n)} is not an integer`);
  }
  if ('doubleValue' in v) return typeof v.doubleValue === 'number' ? v.doubleValue : Number(v.doubleValue);
  if ('arrayValue' in v) {
    const at = path(what, key);
    return list(isObject(v.arrayValue) ? v.arrayValue.values : [], `${at}.arrayValue`).map((x, i) => anyValue(x, `${at}[${i}]`, undefined, depth + 1));
  }
  if ('kvlistValue' in v) return keyValues(isObject(v.kvlistValue) ? v.kvlistValue.values : [], `${path(what, key)}.kvlistValue`, depth + 1);
  if ('bytesValue' in v) return str(v.bytesValue);
  return null;
}

function path(what: string, key: string | undefined): string {
  return key === undefined ? what : `${what}.${key}`;
}

// ---- protobuf (opentelemetry/proto/collector/logs/v1) ----

/**
 * A protobuf ExportLogsServiceRequest. Its records are written straight from the bytes
 * (logs-proto.ts) while they are plain, else through objects; `objectsOnly` takes the object path
 * for every record (the spec the tests hold the byte path to).
 */
export function parseOtlpProtobuf(buf: Buffer, ctx: NormaliseContext, buffers?: BufferSource, objectsOnly = false): ParsedLogs {
  const w = new LogsWriter(buf.length * 2, ctx, buffers);
  const fast = objectsOnly ? null : new ProtoRecordWriter(buf, w);
  const req = new ProtoReader(buf, 0, buf.length, 'ExportLogsServiceRequest');
  let index = 0;
  while (req.next()) {
    if (req.field !== 1 || req.type !== WireType.Bytes) {
      req.skip();
      continue;
    }
    const rl = req.message('ResourceLogs');
    const scopes: number[] = []; // [start, end) of each
    let resource: Record<string, Value> = {};
    while (rl.next()) {
      if (rl.field === 1 && rl.type === WireType.Bytes) {
        const r = rl.message('Resource');
        while (r.next()) {
          if (r.field === 1 && r.type === WireType.Bytes) readKeyValue(r.message('KeyValue'), resource);
          else r.skip();
        }
      } else if (rl.field === 2 && rl.type === WireType.Bytes) {
        const [ss, se] = rl.bytes();
        scopes.push(ss, se);
      } else {
        rl.skip();
      }
    }
    w.setResource(resource);
    resource = {};
    for (let k = 0; k < scopes.length; k += 2) {
      const sl = new ProtoReader(buf, scopes[k]!, scopes[k + 1]!, 'ScopeLogs');
      const records: number[] = []; // [start, end) of each
      const scope: Scope = { name: '', version: '', attributes: {} };
      while (sl.next()) {
        if (sl.field === 1 && sl.type === WireType.Bytes) {
          const sc = sl.message('InstrumentationScope');
          while (sc.next()) {
            if (sc.field === 1 && sc.type === WireType.Bytes) scope.name = sc.string();
            else if (sc.field === 2 && sc.type === WireType.Bytes) scope.version = sc.string();
            else if (sc.field === 3 && sc.type === WireType.Bytes) readKeyValue(sc.message('KeyValue'), scope.attributes);
            else sc.skip();
          }
        } else if (sl.field === 2 && sl.type === WireType.Bytes) {
          const [rs, re] = sl.bytes();
          records.push(rs, re);
        } else {
          sl.skip();
        }
      }
      w.scope = scope;
      for (let i = 0; i < records.length; i += 2) {
        const rs = records[i]!;
        const re = records[i + 1]!;
        index++;
        if (fast !== null && fast.write(rs, re)) continue;
        let rec: OtlpRecord;
        try {
          rec = readLogRecord(new ProtoReader(buf, rs, re, 'LogRecord'));
        } catch (e) {
          w.fail(index, e); // a malformed record message costs itself only
          continue;
        }
        w.record(rec, index);
      }
    }
  }
  return w.result();
}

function readLogRecord(r: ProtoReader): OtlpRecord {
  const rec: OtlpRecord = {
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 0,
    severityText: '',
    body: undefined,
    attributes: {},
    traceId: '',
    spanId: '',
    flags: 0,
    eventName: '',
  };
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.expect(WireType.Fixed64);
        rec.timeUnixNano = r.fixed64();
        break;
      case 11:
        r.expect(WireType.Fixed64);
        rec.observedTimeUnixNano = r.fixed64();
        break;
      case 2:
        r.expect(WireType.Varint);
        rec.severityNumber = r.varint();
        break;
      case 3:
        r.expect(WireType.Bytes);
        rec.severityText = r.string();
        break;
      case 5:
        r.expect(WireType.Bytes);
        rec.body = readAnyValue(r.message('AnyValue'));
        break;
      case 6:
        r.expect(WireType.Bytes);
        readKeyValue(r.message('KeyValue'), rec.attributes);
        break;
      case 8:
        r.expect(WireType.Fixed32);
        // Past the record's end are other records' bytes, or another request's in a pooled buffer.
        if (r.pos + 4 > r.end) throw r.error('truncated fixed32');
        rec.flags = r.buf.readUInt32LE(r.pos);
        r.pos += 4;
        break;
      case 9:
        r.expect(WireType.Bytes);
        rec.traceId = hex(r);
        break;
      case 10:
        r.expect(WireType.Bytes);
        rec.spanId = hex(r);
        break;
      case 12:
        r.expect(WireType.Bytes);
        rec.eventName = r.string();
        break;
      default:
        r.skip();
    }
  }
  return rec;
}

function hex(r: ProtoReader): string {
  const [s, e] = r.bytes();
  const id = r.buf.toString('hex', s, e);
  return /^0*$/.test(id) ? '' : id;
}

function readKeyValue(r: ProtoReader, into: Record<string, Value>, depth = 0): void {
  let key = '';
  let value: Value = null;
  while (r.next()) {
    if (r.field === 1 && r.type === WireType.Bytes) key = r.string();
    else if (r.field === 2 && r.type === WireType.Bytes) value = readAnyValue(r.message('AnyValue'), depth + 1);
    else r.skip();
  }
  setAttr(into, key, value);
}

function readAnyValue(r: ProtoReader, depth = 0): Value {
  if (depth > MAX_DEPTH) throw bad(`AnyValue nested more than ${MAX_DEPTH} deep`);
  let value: Value = null;
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.expect(WireType.Bytes);
        value = r.string();
        break;
      case 2:
        r.expect(WireType.Varint);
        value = r.varint() !== 0;
        break;
      case 3: {
        r.expect(WireType.Varint);
        const n = r.varintBig();
        value = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
        break;
      }
      case 4:
        r.expect(WireType.Fixed64);
        value = r.double();
        break;
      case 5: {
        r.expect(WireType.Bytes);
        const a = r.message('ArrayValue');
        const items: Value[] = [];
        while (a.next()) {
          if (a.field === 1 && a.type === WireType.Bytes) items.push(readAnyValue(a.message('AnyValue'), depth + 1));
          else a.skip();
        }
        value = items;
        break;
      }
      case 6: {
        r.expect(WireType.Bytes);
        const l = r.message('KeyValueList');
        const kv: Record<string, Value> = {};
        while (l.next()) {
          if (l.field === 1 && l.type === WireType.Bytes) readKeyValue(l.message('KeyValue'), kv, depth + 1);
          else l.skip();
        }
        value = kv;
        break;
      }
      case 7: {
        r.expect(WireType.Bytes);
        const [s, e] = r.bytes();
        value = r.buf.toString('base64', s, e);
        break;
      }
      default:
        r.skip();
    }
  }
  return value;
}
