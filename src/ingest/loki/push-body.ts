// Loki's push body — JSON (`{"streams":[{"stream":{labels},"values":[[ns, line, {metadata}]]}]}`)
// or the snappy-compressed protobuf PushRequest of Promtail and Grafana Alloy — into rows. A
// stream's labels, then an entry's structured metadata, give the record's fields
// (`service_name`/`service`/`app`/`job` → service, `host`/`hostname`/`instance` → host,
// `level`/`detected_level` → level, `trace_id`/`span_id` → trace and span ids, the rest → attrs)
// and the entry's nanosecond timestamp its ts.
// A line that is a JSON object is read like a native record, its own fields winning; any other
// line is the message. A bad stream or entry is reported by stream labels and entry number and
// never costs the others.

import { isUtf8 } from 'node:buffer';
import { normaliseLevel } from '../../model/level.js';
import type { Level } from '../../model/record.js';
import { MAX_MICROS, MIN_MICROS, parseTimestamp } from '../../model/timestamp.js';
import { RowBatchBuilder, type BufferSource, type RowBatch } from '../../store/row-format.js';
import { JsonRowEncoder, prepareDefaults, type PreparedDefaults } from '../common/json-rows.js';
import { JsonObjectScanner } from '../common/json-scanner.js';
import type { NormaliseContext, RecordDefaults, ShadowField } from '../common/normalise.js';
import { PlainCursor, ProtoReader, WireType } from '../common/protobuf.js';

export interface LokiError {
  /** The stream's labels as Loki writes them (`{job="api"}`). */
  stream: string;
  /** 1-based entry number in the stream; 0 for the stream itself. */
  entry: number;
  error: string;
}

export interface ParsedPush {
  batch: RowBatch;
  rejected: number;
  /** The first MAX_REPORTED_ERRORS problems; `rejected` counts every entry refused. */
  errors: LokiError[];
}

export const MAX_REPORTED_ERRORS = 100;

/** Label names that become record fields, in priority order (the first present wins). */
const LABEL_FIELDS: [ShadowField, string[]][] = [
  ['service', ['service_name', 'service', 'app', 'job']],
  ['host', ['host', 'hostname', 'instance']],
  ['level', ['level', 'detected_level']],
  ['category', ['category']],
  ['source', ['source']],
  ['traceId', ['trace_id', 'traceID', 'traceId']],
  ['spanId', ['span_id', 'spanID', 'spanId']],
];
const FIELD_LABELS = new Set(LABEL_FIELDS.flatMap(([, names]) => names));

/**
 * A record's defaults from a stream's labels and an entry's structured metadata: each field from
 * the metadata if it has one of the field's names, else from the labels; the rest as attrs
 * (metadata winning over a label of the same name). A label that feeds a field the line sets
 * itself (a JSON line's own `host`, `level`…) is kept in attrs under its name.
 */
export function labelDefaults(labels: Record<string, string>, metadata?: Record<string, string>): RecordDefaults {
  const d: RecordDefaults = {};
  const used = new Set<string>();
  for (const [field, names] of LABEL_FIELDS) {
    for (const source of metadata ? [metadata, labels] : [labels]) {
      const name = names.find((n) => source[n] !== undefined && source[n] !== '' && (field !== 'level' || normaliseLevel(source[n]) !== null));
      if (name === undefined) continue;
      const v = source[name]!;
      if (field === 'level') d.level = normaliseLevel(v) as Level;
      else (d as Record<string, unknown>)[field] = v;
      // A JSON line with a value of its own for the field keeps the label's in attrs.
      (d.shadow ??= []).push({ field: field as ShadowField, key: name, value: v });
      used.add(name);
      break;
    }
  }
  const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(metadata ? { ...labels, ...metadata } : labels)) {
    // A field's name that fed the field, or empty, says nothing more.
    if (used.has(k) || (FIELD_LABELS.has(k) && v === '')) continue;
    attrs[k] = v;
  }
  if (Object.keys(attrs).length > 0) d.attrs = attrs;
  return d;
}

/** Writes the entries of one stream after another. */
export class PushWriter {
  readonly encoder: JsonRowEncoder;
  rejected = 0;
  errors: LokiError[] = [];

  constructor(bytes: number, ctx: NormaliseContext, buffers: BufferSource | undefined) {
    this.encoder = new JsonRowEncoder(new RowBatchBuilder(bytes + (bytes >> 2) + 1024, buffers), ctx);
  }

  fail(stream: string, entry: number, error: string, entries = 1): void {
    this.rejected += entries;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push({ stream, entry, error });
  }

  /**
   * One entry: `line` is bytes `[start, end)`, valid UTF-8 (rows must be: see utf8Line);
   * `defaults.ts` is already its time.
   */
  entry(defaults: PreparedDefaults, line: Uint8Array, start: number, end: number): void {
    const enc = this.encoder;
    const first = JsonObjectScanner.skipWhitespace(line, start, end);
    if (line[first] === 123 /* { */) {
      enc.encodeObject(line, first, end, true, defaults);
      if (!enc.rejected) return;
    }
    // Not a JSON object (or not one that makes a record): the line is the message, whole.
    enc.encodeText(defaults, line, start, end);
  }

  result(): ParsedPush {
    return { batch: this.encoder.out.finish(), rejected: this.rejected, errors: this.errors };
  }
}

/** Nanoseconds since the epoch (decimal digits) as µs, or null when not a time loghaven keeps. */
export function nanosToMicros(ns: string | bigint): bigint | null {
  let v: bigint;
  if (typeof ns === 'bigint') v = ns;
  else if (/^-?\d{1,20}$/.test(ns)) v = BigInt(ns);
  else return null;
  const us = v / 1000n;
  return us >= MIN_MICROS && us <= MAX_MICROS ? us : null;
}

export function labelsText(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/**
 * `{"streams":[...]}`, Loki's JSON push (the legacy `entries` form too), through JSON.parse: every
 * shape, and every refusal with its reason. The route reads bodies with parseLokiJsonBytes
 * (push-json.ts), which leaves what is not the usual shape to this one and is tested against it.
 */
export function parseLokiJson(body: Buffer, ctx: NormaliseContext, buffers?: BufferSource): ParsedPush {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return withError(body.length, ctx, buffers, '', 0, `body is not JSON: ${(e as Error).message}`);
  }
  const streams = (doc as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(streams)) return withError(body.length, ctx, buffers, '', 0, 'body has no "streams" array');
  const w = new PushWriter(body.length, ctx, buffers);
  streams.forEach((s: unknown, si) => {
    const stream = s as { stream?: unknown; labels?: unknown; values?: unknown; entries?: unknown } | null;
    const labels = stream?.stream ?? (typeof stream?.labels === 'string' ? parseLabels(stream.labels) : undefined);
    const name = isLabels(labels) ? labelsText(labels) : `streams[${si}]`;
    const values = stream?.values ?? stream?.entries;
    if (!isLabels(labels) || !Array.isArray(values)) {
      w.fail(name, 0, !isLabels(labels) ? 'stream labels must be an object of strings' : 'stream has no "values" array', Array.isArray(values) ? values.length : 1);
      return;
    }
    const streamDefaults = prepareDefaults(labelDefaults(labels));
    values.forEach((v: unknown, ei) => {
      const [ts, line, meta] = Array.isArray(v) ? v : v && typeof v === 'object' ? [(v as { ts?: unknown }).ts, (v as { line?: unknown }).line] : [];
      const us = typeof ts === 'string' && !/^\d+$/.test(ts) ? parseTimestamp(ts) : typeof ts === 'string' ? nanosToMicros(ts) : null;
      if (us === null) return w.fail(name, ei + 1, `timestamp ${JSON.stringify(ts) ?? 'missing'} is not a Unix time in nanoseconds`);
      if (typeof line !== 'string') return w.fail(name, ei + 1, 'line must be a string');
      if (meta !== undefined && !isLabels(meta)) return w.fail(name, ei + 1, 'structured metadata must be an object of strings');
      const defaults = meta !== undefined && Object.keys(meta).length > 0 ? prepareDefaults(labelDefaults(labels, meta)) : streamDefaults;
      defaults.ts = us;
      const bytes = Buffer.from(line);
      w.entry(defaults, bytes, 0, bytes.length);
    });
  });
  return w.result();
}

/**
 * A snappy-decompressed protobuf PushRequest. Plain entries are written straight from the bytes
 * (plainEntry), the rest through a field reader; `readerOnly` reads every entry with the reader
 * (the spec the tests hold the byte path to).
 */
export function parseLokiProtobuf(buf: Buffer, ctx: NormaliseContext, buffers?: BufferSource, readerOnly = false): ParsedPush {
  const w = new PushWriter(buf.length, ctx, buffers);
  const req = new ProtoReader(buf, 0, buf.length, 'PushRequest');
  const plain = new PlainCursor(buf);
  let si = 0;
  while (req.next()) {
    if (req.field !== 1 || req.type !== WireType.Bytes) {
      req.skip();
      continue;
    }
    si++;
    const s = req.message(`stream ${si}`);
    let labels: Record<string, string> | null = null;
    let labelsRaw = '';
    const entries: number[] = []; // [start, end) of each
    // A stream whose own bytes do not decode costs only itself: the request's framing held.
    let broken: string | null = null;
    try {
      while (s.next()) {
        if (s.field === 1 && s.type === WireType.Bytes) {
          labelsRaw = s.string();
          labels = parseLabels(labelsRaw);
        } else if (s.field === 2 && s.type === WireType.Bytes) {
          const [es, ee] = s.bytes();
          entries.push(es, ee);
        } else {
          s.skip();
        }
      }
    } catch (e) {
      broken = (e as Error).message;
    }
    const name = labels ? labelsText(labels) : labelsRaw || `stream ${si}`;
    if (broken !== null) {
      w.fail(name, 0, broken, Math.max(1, entries.length / 2));
      continue;
    }
    if (labels === null) {
      w.fail(name, 0, `labels ${JSON.stringify(labelsRaw)} are not of the form {name="value", ...}`, Math.max(1, entries.length / 2));
      continue;
    }
    const streamDefaults = prepareDefaults(labelDefaults(labels));
    for (let k = 0; k < entries.length; k += 2) {
      const start = entries[k]!;
      const end = entries[k + 1]!;
      if (!readerOnly && plainEntry(w, streamDefaults, plain, start, end)) continue;
      const ei = k / 2;
      const e = new ProtoReader(buf, start, end, `entry ${ei + 1} of ${name}`);
      let us: bigint | null = null;
      let line: [number, number] = [0, 0];
      let meta: Record<string, string> | null = null;
      // Likewise an entry whose bytes do not decode costs only itself.
      try {
        while (e.next()) {
          if (e.field === 1 && e.type === WireType.Bytes) {
            const t = e.message('timestamp');
            let seconds = 0n;
            let nanos = 0n;
            while (t.next()) {
              if (t.field === 1 && t.type === WireType.Varint) seconds = t.varintBig();
              else if (t.field === 2 && t.type === WireType.Varint) nanos = t.varintBig();
              else t.skip();
            }
            us = nanosToMicros(seconds * 1_000_000_000n + nanos);
          } else if (e.field === 2 && e.type === WireType.Bytes) {
            line = e.bytes();
          } else if (e.field === 3 && e.type === WireType.Bytes) {
            const pair = e.message('structured metadata');
            let k = '';
            let v = '';
            while (pair.next()) {
              if (pair.field === 1 && pair.type === WireType.Bytes) k = pair.string();
              else if (pair.field === 2 && pair.type === WireType.Bytes) v = pair.string();
              else pair.skip();
            }
            (meta ??= {})[k] = v;
          } else {
            e.skip();
          }
        }
      } catch (err) {
        w.fail(name, ei + 1, (err as Error).message);
        continue;
      }
      if (us === null) {
        w.fail(name, ei + 1, 'timestamp missing or not a time loghaven keeps (years 1–9999)');
        continue;
      }
      const defaults = meta !== null ? prepareDefaults(labelDefaults(labels, meta)) : streamDefaults;
      defaults.ts = us;
      const bytes = utf8Line(buf, line[0], line[1]);
      w.entry(defaults, bytes, 0, bytes.length);
    }
  }
  return w.result();
}

/**
 * The entry at [start, end) of the cursor's body written straight from the bytes when it is
 * plain: a timestamp of non-negative seconds before 2255 and a line of valid UTF-8, nothing else
 * (no structured metadata). False, having written nothing, for anything else: the caller's reader decides then.
 */
function plainEntry(w: PushWriter, defaults: PreparedDefaults, c: PlainCursor, start: number, end: number): boolean {
  const buf = c.buf;
  c.pos = start;
  let seconds = -1;
  let nanos = 0;
  let lineStart = -1;
  let lineEnd = -1;
  while (c.pos < end) {
    const key = buf[c.pos++]!;
    if (key !== 0x0a && key !== 0x12) return false;
    // A length below 2^28 (four bytes at most) that fits.
    const len = c.length(end, 4);
    if (len < 0) return false;
    if (key === 0x12) {
      lineStart = c.pos;
      lineEnd = c.pos + len;
      c.pos += len;
      continue;
    }
    // google.protobuf.Timestamp: seconds and nanos, each at most five bytes (below 2^35).
    const tEnd = c.pos + len;
    seconds = 0;
    nanos = 0;
    while (c.pos < tEnd) {
      const tag = buf[c.pos++]!;
      if (tag !== 0x08 && tag !== 0x10) return false;
      const v = c.varint(tEnd, 5);
      if (v < 0) return false;
      if (tag === 0x08) seconds = v;
      else nanos = v;
    }
  }
  if (seconds < 0 || seconds >= 9e9 || lineStart < 0) return false;
  if (!isUtf8(buf.subarray(lineStart, lineEnd))) return false;
  // Exact: seconds · 10^6 stays below 2^53.
  defaults.ts = BigInt(seconds * 1_000_000 + Math.floor(nanos / 1000));
  w.entry(defaults, buf, lineStart, lineEnd);
  return true;
}

function withError(bytes: number, ctx: NormaliseContext, buffers: BufferSource | undefined, stream: string, entry: number, error: string): ParsedPush {
  const w = new PushWriter(bytes, ctx, buffers);
  w.fail(stream, entry, error);
  return w.result();
}

function isLabels(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** `{name="value", other="with \"escapes\""}` — Prometheus label syntax; null when it is not. */
export function parseLabels(text: string): Record<string, string> | null {
  const s = text.trim();
  if (!s.startsWith('{') || !s.endsWith('}')) return null;
  // No prototype: a label named __proto__ is a label like any other.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = 1;
  const end = s.length - 1;
  const ws = () => {
    while (i < end && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n')) i++;
  };
  ws();
  while (i < end) {
    const name = /^[a-zA-Z_][a-zA-Z0-9_.]*/.exec(s.slice(i))?.[0];
    if (name === undefined) return null;
    i += name.length;
    ws();
    if (s[i] !== '=') return null;
    i++;
    ws();
    if (s[i] !== '"') return null;
    i++;
    let value = '';
    for (;;) {
      if (i >= end) return null;
      const c = s[i++]!;
      if (c === '"') break;
      if (c === '\\') {
        const n = s[i++];
        value += n === 'n' ? '\n' : n === 't' ? '\t' : (n ?? '');
        continue;
      }
      value += c;
    }
    out[name] = value;
    ws();
    if (s[i] === ',') {
      i++;
      ws();
    } else if (i < end) {
      return null;
    }
  }
  return out;
}

/** Bytes `[start, end)` of `buf` with invalid UTF-8 sequences made U+FFFD, as a decoder makes them. */
function utf8Line(buf: Buffer, start: number, end: number): Buffer {
  const line = buf.subarray(start, end);
  return isUtf8(line) ? line : Buffer.from(line.toString('utf8'));
}
