// The benchmark corpus (bench/lib/corpus.ts) in each ingest protocol's wire format: the same
// records, field for field, as a Loki push (JSON and protobuf), an Elasticsearch bulk body, an OTLP export (JSON and
// protobuf) and RFC 5424 syslog lines — each the way the usual shipper of that protocol would send
// them.

import protobuf from 'protobufjs';
import snappyjs from 'snappyjs';
import { corpusLines } from './corpus.js';

/** One corpus line, decoded. */
export interface CorpusRecord {
  ts: string;
  level: string;
  service: string;
  host: string;
  msg: string;
  req: string;
  status: number;
  duration_ms: number;
  http?: { method: string; bytes: number };
  user?: { id: number; plan: string };
  region?: string;
  retry?: number;
}

export interface Corpus {
  lines: string[];
  records: CorpusRecord[];
}

export function corpus(count: number): Corpus {
  const lines = corpusLines(count);
  return { lines, records: lines.map((l) => JSON.parse(l) as CorpusRecord) };
}

/** Request bodies of `batch` records each, over the whole corpus. */
export interface Bodies {
  bodies: Buffer[];
  linesPerBody: number;
  bytesPerLine: number;
}

function batches(c: Corpus, batch: number, encode: (records: CorpusRecord[], lines: string[]) => string | Uint8Array): Bodies {
  const bodies: Buffer[] = [];
  for (let i = 0; i + batch <= c.records.length; i += batch) {
    bodies.push(Buffer.from(encode(c.records.slice(i, i + batch), c.lines.slice(i, i + batch))));
  }
  const bytes = bodies.reduce((n, b) => n + b.length, 0);
  return { bodies, linesPerBody: batch, bytesPerLine: bytes / (bodies.length * batch) };
}

function nanos(ts: string): string {
  return (BigInt(Date.parse(ts)) * 1_000_000n).toString();
}

/** Groups records by a key, in the order each key first appears. */
function groupBy<T>(items: T[], key: (t: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = []));
    g.push(t);
  }
  return [...groups.values()];
}

/**
 * Loki JSON push, as pino-loki and Promtail's JSON stage ship application logs: one stream per
 * service (`service_name` label), each entry the application's JSON line as written.
 */
export function lokiBodies(c: Corpus, batch: number): Bodies {
  return batches(c, batch, (records, lines) => {
    const indexed = records.map((r, i) => ({ r, line: lines[i]! }));
    const streams = groupBy(indexed, (x) => x.r.service).map((g) => ({
      stream: { service_name: g[0]!.r.service },
      values: g.map((x) => [nanos(x.r.ts), x.line]),
    }));
    return JSON.stringify({ streams });
  });
}

/** Loki's PushRequest, the parts the bench sends (protobufjs encodes it). */
const LOKI_PUSH = protobuf
  .parse(
    `syntax = "proto3";
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message EntryAdapter { Timestamp timestamp = 1; string line = 2; }
message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; }
message PushRequest { repeated StreamAdapter streams = 1; }`,
  )
  .root.lookupType('PushRequest');

/**
 * The same pushes as lokiBodies in Loki's own wire format, snappy-compressed protobuf, as Promtail
 * and Grafana Alloy send them.
 */
export function lokiProtobufBodies(c: Corpus, batch: number): Bodies {
  return batches(c, batch, (records, lines) => {
    const indexed = records.map((r, i) => ({ r, line: lines[i]! }));
    const streams = groupBy(indexed, (x) => x.r.service).map((g) => ({
      labels: `{service_name=${JSON.stringify(g[0]!.r.service)}}`,
      entries: g.map((x) => {
        const ms = Date.parse(x.r.ts);
        return { timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 }, line: x.line };
      }),
    }));
    return snappyjs.compress(LOKI_PUSH.encode(LOKI_PUSH.fromObject({ streams })).finish());
  });
}

/**
 * Loki JSON push with structured metadata, as Grafana Alloy ships it when the line's trace
 * context goes beside it: each entry [ns, the JSON line, {"trace_id", "span_id"}].
 */
export function lokiMetadataBodies(c: Corpus, batch: number): Bodies {
  let first = 0;
  return batches(c, batch, (records, lines) => {
    const indexed = records.map((r, i) => ({ r, line: lines[i]!, meta: traceContext(first + i) }));
    first += records.length;
    const streams = groupBy(indexed, (x) => x.r.service).map((g) => ({
      stream: { service_name: g[0]!.r.service },
      values: g.map((x) => [nanos(x.r.ts), x.line, x.meta]),
    }));
    return JSON.stringify({ streams });
  });
}

/**
 * The yardstick of lokiMetadataBodies: the same records and trace context as native NDJSON, each
 * line with `trace_id` and `span_id` members (the same values, so the same rows are stored).
 */
export function ndjsonMetadataPayloads(c: Corpus, batch: number): Bodies {
  let first = 0;
  return batches(c, batch, (_records, lines) => {
    const out = lines.map((line, i) => {
      const { trace_id, span_id } = traceContext(first + i);
      return `${line.slice(0, -1)},"trace_id":"${trace_id}","span_id":"${span_id}"}`;
    });
    first += lines.length;
    return out.join('\n');
  });
}

/** The made-up trace context of record number `i` (1-based ids, distinct for every record). */
function traceContext(i: number): { trace_id: string; span_id: string } {
  const n = i + 1;
  const hex = (v: number, len: number) => v.toString(16).padStart(len, '0').slice(-len);
  return { trace_id: `${hex(n * 2654435761, 16)}${hex(n, 16)}`, span_id: hex(n * 40503, 16) };
}

/** The record as an Elastic Common Schema document, flat dotted keys as ecs-logging writes them. */
function ecsDocument(r: CorpusRecord): Record<string, unknown> {
  const { ts, level, msg, service, host, ...rest } = r;
  return { '@timestamp': ts, 'log.level': level, message: msg, 'service.name': service, 'host.name': host, ...rest };
}

const ES_INDEX = 'app';

/** Elasticsearch bulk NDJSON: a `create` action and an ECS document per record. */
export function esBulkBodies(c: Corpus, batch: number): Bodies {
  const action = JSON.stringify({ create: { _index: ES_INDEX } });
  return batches(c, batch, (records) => records.map((r) => `${action}\n${JSON.stringify(ecsDocument(r))}\n`).join(''));
}

/**
 * The yardstick of esBulkBodies: the corpus lines as native NDJSON, each with the `_index` member
 * the bulk route keeps in attrs (first, where the route puts it), so the same rows are stored.
 */
export function ndjsonIndexPayloads(c: Corpus, batch: number): Bodies {
  return batches(c, batch, (_records, lines) => lines.map((line) => `{"_index":"${ES_INDEX}",${line.slice(1)}`).join('\n'));
}

const OTEL_SEVERITY: Record<string, [number, string]> = {
  debug: [5, 'DEBUG'],
  info: [9, 'INFO'],
  INFO: [9, 'INFO'],
  warn: [13, 'WARN'],
  WARNING: [13, 'WARN'],
  error: [17, 'ERROR'],
};

type AnyValue = { stringValue: string } | { intValue: number } | { doubleValue: number };

function anyValue(v: string | number): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
}

/** A record's attributes as OTLP KeyValues: nested objects flattened with dots, as semconv names are. */
function otlpAttributes(r: CorpusRecord): { key: string; value: AnyValue }[] {
  const { ts: _ts, level: _level, msg: _msg, service: _service, host: _host, ...rest } = r;
  const out: { key: string; value: AnyValue }[] = [];
  for (const [k, v] of Object.entries(rest)) {
    if (v !== null && typeof v === 'object') {
      for (const [sub, sv] of Object.entries(v as Record<string, string | number>)) out.push({ key: `${k}.${sub}`, value: anyValue(sv) });
    } else {
      out.push({ key: k, value: anyValue(v as string | number) });
    }
  }
  return out;
}

const OTLP_SCOPE = { name: 'app-logger', version: '1.0.0' };

/** OTLP/JSON ExportLogsServiceRequest bodies (otlpRequest). */
export function otlpJsonBodies(c: Corpus, batch: number): Bodies {
  return batches(c, batch, (records) => JSON.stringify(otlpRequest(records)));
}

/** The OTLP logs protos, the parts the bench sends and reads back (protobufjs encodes them). */
const OTLP_PROTO = protobuf.parse(`syntax = "proto3";
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message LogRecord { fixed64 time_unix_nano = 1; int32 severity_number = 2; string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }`).root;
const OTLP_REQUEST = OTLP_PROTO.lookupType('ExportLogsServiceRequest');
const OTLP_RESPONSE = OTLP_PROTO.lookupType('ExportLogsServiceResponse');

/** The same requests as otlpJsonBodies, in protobuf, as the OpenTelemetry Collector's otlphttp exporter sends them by default. */
export function otlpProtobufBodies(c: Corpus, batch: number): Bodies {
  return batches(c, batch, (records) => OTLP_REQUEST.encode(OTLP_REQUEST.fromObject(otlpRequest(records))).finish());
}

/** The log records an OTLP/protobuf answer says were rejected (partialSuccess). */
export function otlpProtobufRejected(answer: Uint8Array): number {
  if (answer.length === 0) return 0;
  const doc = OTLP_RESPONSE.toObject(OTLP_RESPONSE.decode(answer), { longs: Number }) as { partialSuccess?: { rejectedLogRecords?: number } };
  return doc.partialSuccess?.rejectedLogRecords ?? 0;
}

/**
 * An ExportLogsServiceRequest as a Collector batching many SDK processes sends it: one
 * ResourceLogs per (service.name, host.name), one scope, records in corpus order within each.
 */
function otlpRequest(records: CorpusRecord[]): object {
  const resourceLogs = groupBy(records, (r) => `${r.service}\u0000${r.host}`).map((g) => ({
    resource: {
      attributes: [
        { key: 'service.name', value: { stringValue: g[0]!.service } },
        { key: 'host.name', value: { stringValue: g[0]!.host } },
      ],
    },
    scopeLogs: [
      {
        scope: OTLP_SCOPE,
        logRecords: g.map((r) => {
          const [severityNumber, severityText] = OTEL_SEVERITY[r.level] ?? [9, 'INFO'];
          return {
            timeUnixNano: nanos(r.ts),
            severityNumber,
            severityText,
            body: { stringValue: r.msg },
            attributes: otlpAttributes(r),
          };
        }),
      },
    ],
  }));
  return { resourceLogs };
}

/**
 * The yardstick of otlpJsonBodies: the same records as native NDJSON lines holding what the OTLP
 * route stores of each: the severity number (which gives the level), the attributes as flat
 * dotted keys, and the scope last, so the same rows are stored.
 */
export function ndjsonOtlpPayloads(c: Corpus, batch: number): Bodies {
  return batches(c, batch, (records) =>
    records
      .map((r) => {
        const attrs = Object.fromEntries(otlpAttributes(r).map(({ key, value }) => [key, Object.values(value)[0]]));
        const severity = (OTEL_SEVERITY[r.level] ?? [9])[0];
        return JSON.stringify({ ts: r.ts, severity, service: r.service, host: r.host, msg: r.msg, ...attrs, scope: OTLP_SCOPE });
      })
      .join('\n'),
  );
}

const SYSLOG_SEVERITY: Record<string, number> = { debug: 7, info: 6, INFO: 6, warn: 4, WARNING: 4, error: 3 };
const LOCAL0 = 16;

/** An SD-PARAM value: `"`, `\` and `]` escaped (RFC 5424 §6.3.3). */
function sdValue(v: string | number): string {
  return String(v).replace(/["\\\]]/g, (ch) => `\\${ch}`);
}

/**
 * RFC 5424 lines: facility local0, the level as severity, HOSTNAME, APP-NAME and a PROCID from
 * the record, the remaining fields as one structured-data element, the message last.
 */
export function syslogLines(c: Corpus): string[] {
  return c.records.map((r) => {
    const pri = LOCAL0 * 8 + (SYSLOG_SEVERITY[r.level] ?? 6);
    const procid = 1000 + (Number(r.host.slice(r.host.indexOf('-') + 1)) || 0) * 7;
    const params = otlpAttributes(r).map(({ key, value }) => `${key}="${sdValue(Object.values(value)[0] as string | number)}"`);
    return `<${pri}>1 ${r.ts} ${r.host} ${r.service} ${procid} - [app@32473 ${params.join(' ')}] ${r.msg}`;
  });
}

/** NDJSON payloads for ZeroMQ envelopes: the corpus lines as written, `batch` to a payload. */
export function ndjsonPayloads(c: Corpus, batch: number): Bodies {
  return batches(c, batch, (_records, lines) => lines.join('\n'));
}
