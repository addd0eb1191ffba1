// Fuzzing OTLP/HTTP logs (ExportLogsServiceRequest) in JSON and protobuf: random and mutated
// bodies throw nothing but a coded 400, never hang, only make rows the store takes, and never read
// past their input; in JSON every log record of a body that parses is a row or a rejection. A log
// record that cannot be decoded (JSON: a bad time, id, body or attribute; protobuf: bytes that do
// not decode) is counted in partialSuccess and never costs another; what is around the records
// (resourceLogs, scopeLogs, a resource or scope that does not decode) fails the whole request,
// which is the granularity the protocol answers in. A sample of the rows loads into DuckDB.

import fc from 'fast-check';
import protobuf from 'protobufjs';
import { afterAll, describe, expect, it } from 'vitest';
import { LEVELS, type Level } from '../../src/model/record.js';
import { parseOtlpProtobuf, type ParsedLogs } from '../../src/ingest/otlp/logs-body.js';
// What the route reads JSON requests with (it hands the unusual ones to parseOtlpJson, its reference).
import { parseOtlpJsonBytes as parseOtlpJson } from '../../src/ingest/otlp/logs-json.js';
import { CTX, fuzzBody, interleave, JUNK_EVERY, levelWord, PART_RUNS, ProtoWriter, RUNS, tag, text, wellFormed } from './arbitraries.js';
import { amidJunk, BatchSample, checkBatch, cleanly, expectSame, HangWatchdog, loadIntoStore } from './checks.js';

// ---- records and what they must become ----

/** An AnyValue, and the JSON value it must become in attrs. */
type AnyValue =
  | { string: string }
  | { bool: boolean }
  | { int: bigint }
  | { double: number }
  | { bytes: Uint8Array }
  | { array: AnyValue[] }
  | { kvlist: [string, AnyValue][] };

const key = fc.string({ maxLength: 6 }).map((k) => `x_${k}`);

/** A record's attribute name: now and then one the resource's or the scope's attrs take over. */
const recordKey = fc.oneof({ weight: 12, arbitrary: key }, { weight: 1, arbitrary: fc.constantFrom('resource', 'scope') });

const anyValue: fc.Arbitrary<AnyValue> = fc.letrec<{ v: AnyValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text(8).map((string) => ({ string })),
    fc.boolean().map((bool) => ({ bool })),
    fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer().map(BigInt)).map((int) => ({ int })),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((double) => ({ double })),
    fc.uint8Array({ maxLength: 6 }).map((bytes) => ({ bytes })),
    fc.array(tie('v'), { maxLength: 2 }).map((array) => ({ array })),
    fc.array(fc.tuple(key, tie('v')), { maxLength: 2 }).map((kvlist) => ({ kvlist })),
  ),
})).v;

function decoded(v: AnyValue): unknown {
  if ('string' in v) return wellFormed(v.string);
  if ('bool' in v) return v.bool;
  if ('int' in v) return v.int >= BigInt(Number.MIN_SAFE_INTEGER) && v.int <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.int) : v.int.toString();
  if ('double' in v) return v.double;
  if ('bytes' in v) return Buffer.from(v.bytes).toString('base64');
  if ('array' in v) return v.array.map(decoded);
  return kv(v.kvlist);
}

/** Attributes as a decoder keeps them: the last of a repeated key wins, in its first place. */
function kv(pairs: [string, AnyValue][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of pairs) o[k] = decoded(v);
  return JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
}

interface LogSpec {
  body: { string: string } | AnyValue | null;
  timeNs: bigint | null;
  observedNs: bigint | null;
  /** OpenTelemetry severity number 1–24, or a severity text alone. */
  severity: { number: number } | { text: readonly [string, Level] } | null;
  attributes: [string, AnyValue][];
  traceId: Uint8Array | null;
  spanId: Uint8Array | null;
}

/**
 * uint64 nanoseconds: the whole range (the year 2554 at most, so always a time loghaven keeps), and
 * as often the times before 2116 that real clients send (below 2^62: the byte path's range).
 */
const nanos = fc.oneof(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 1n, max: 2n ** 62n - 1n }));

/**
 * A body that is no string. Not an int64 past 2^53: the decoders give those as decimal strings
 * (exact), and a string body is the message, so such a body is stored as the message today while
 * smaller ones go to attrs.body (reported; the test takes no side until that is settled).
 */
const nonStringBody = anyValue.filter((v) => !('int' in v) || Number.isSafeInteger(Number(v.int)));

const logSpec: fc.Arbitrary<LogSpec> = fc.record({
  body: fc.oneof({ weight: 4, arbitrary: text(20).map((string) => ({ string })) }, { weight: 1, arbitrary: nonStringBody }, { weight: 1, arbitrary: fc.constant(null) }),
  timeNs: fc.option(nanos, { nil: null }),
  observedNs: fc.option(nanos, { nil: null }),
  severity: fc.option(fc.oneof(fc.integer({ min: 1, max: 24 }).map((number) => ({ number })), levelWord.map((t) => ({ text: t }))), { nil: null }),
  attributes: fc.array(fc.tuple(recordKey, anyValue), { maxLength: 3 }),
  traceId: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }), { nil: null }),
  spanId: fc.option(fc.uint8Array({ minLength: 8, maxLength: 8 }), { nil: null }),
});

/** The message of record `i` carries its tag (a string body), or it is found by its attribute. */
function withTag(spec: LogSpec, i: number): LogSpec {
  if (spec.body !== null && 'string' in spec.body) return { ...spec, body: { string: tag(i) + spec.body.string } };
  return { ...spec, attributes: [...spec.attributes, ['x_tag', { string: tag(i) }]] };
}

interface Resource {
  service: string | null;
  extra: [string, AnyValue][];
}

const resource: fc.Arbitrary<Resource> = fc.record({
  service: fc.option(text(8), { nil: null }),
  extra: fc.array(fc.tuple(key.map((k) => `r${k}`), anyValue), { maxLength: 2 }),
});

interface Expected {
  ts: bigint;
  level: Level | null;
  severity: number | null;
  service: string | null;
  message: string | null;
  traceId: string | null;
  spanId: string | null;
  attrs: Record<string, unknown>;
}

const hexOf = (b: Uint8Array | null) => (b === null || b.every((x) => x === 0) ? null : Buffer.from(b).toString('hex'));

/** A body that becomes the message: a string, or bytes (decoded as their base64 text, a string). */
function messageOf(body: LogSpec['body']): string | null {
  if (body === null) return null;
  if ('string' in body) return wellFormed(body.string);
  if ('bytes' in body) return Buffer.from(body.bytes).toString('base64');
  return null;
}

function expected(spec: LogSpec, res: Resource, scopeName: string): Expected {
  const ns = spec.timeNs ?? spec.observedNs;
  const sev = spec.severity;
  const attrs: Record<string, unknown> = kv(spec.attributes);
  const message = messageOf(spec.body);
  if (spec.body !== null && message === null) attrs.body = decoded(spec.body);
  const rest = kv(res.extra);
  if (Object.keys(rest).length > 0) attrs.resource = rest;
  if (scopeName !== '') attrs.scope = { name: wellFormed(scopeName) };
  return {
    ts: ns !== null ? ns / 1000n : CTX.receivedAt,
    level: sev === null ? null : 'number' in sev ? LEVELS[Math.floor((sev.number - 1) / 4)]! : sev.text[1],
    severity: sev !== null && 'number' in sev ? sev.number : null,
    service: res.service !== null ? wellFormed(res.service) : null,
    message,
    traceId: hexOf(spec.traceId),
    spanId: hexOf(spec.spanId),
    attrs: JSON.parse(JSON.stringify(attrs)) as Record<string, unknown>,
  };
}

/** A request: resources of scopes of good and bad records, in order. */
interface Request<Bad> {
  resources: { resource: Resource; scopes: { name: string; records: ({ ok: true; part: LogSpec } | { ok: false; part: Bad })[] }[] }[];
}

function request<Bad>(bad: fc.Arbitrary<Bad>, maxResources: number, maxRecords: number): fc.Arbitrary<Request<Bad>> {
  const scope = fc
    .tuple(fc.oneof(fc.constant(''), text(6)), fc.array(logSpec, { maxLength: maxRecords }), fc.array(bad, { maxLength: 2 }), fc.array(fc.nat(), { maxLength: 2 }))
    .map(([name, good, b, slots]) => ({ name, records: interleave(good, b, slots) }));
  return fc.array(fc.record({ resource, scopes: fc.array(scope, { minLength: 1, maxLength: 2 }) }), { maxLength: maxResources }).map((resources) => ({ resources }));
}

/** Every record in order with its 1-based index across the request. */
function records<Bad>(req: Request<Bad>): { index: number; resource: Resource; scope: string; record: { ok: true; part: LogSpec } | { ok: false; part: Bad } }[] {
  let index = 0;
  return req.resources.flatMap((r) => r.scopes.flatMap((s) => s.records.map((record) => ({ index: ++index, resource: r.resource, scope: s.name, record }))));
}

function checkParts<Bad>(req: Request<Bad>, parsed: ParsedLogs): void {
  const all = records(req);
  const rows = checkBatch(parsed.batch, CTX).map((r) => ({
    ts: r.ts,
    level: r.level,
    severity: r.severity,
    service: r.service,
    message: r.message,
    traceId: r.traceId,
    spanId: r.spanId,
    attrs: JSON.parse(r.attrs) as Record<string, unknown>,
  }));
  expectSame(
    rows,
    all.flatMap((x) => (x.record.ok ? [expected(withTag(x.record.part, x.index), x.resource, x.scope)] : [])),
  );
  const bad = all.filter((x) => !x.record.ok);
  expect(parsed.rejected).toBe(bad.length);
  expect(parsed.errorMessage).toMatch(bad.length === 0 ? /^$/ : new RegExp(`^log record ${bad[0]!.index}: `));
}

// ---- JSON ----

function jsonAny(v: AnyValue, upper: boolean): unknown {
  if ('string' in v) return { stringValue: v.string };
  if ('bool' in v) return { boolValue: v.bool };
  // int64 is a string in OTLP/JSON; a number is taken too.
  if ('int' in v) return { intValue: upper && Number.isSafeInteger(Number(v.int)) ? Number(v.int) : v.int.toString() };
  if ('double' in v) return { doubleValue: v.double };
  if ('bytes' in v) return { bytesValue: Buffer.from(v.bytes).toString('base64') };
  if ('array' in v) return { arrayValue: { values: v.array.map((x) => jsonAny(x, upper)) } };
  return { kvlistValue: { values: v.kvlist.map(([key, x]) => ({ key, value: jsonAny(x, upper) })) } };
}

/** One record in OTLP/JSON; `alt` writes the other spellings the parser takes (snake_case, numbers, upper-case hex). */
function jsonRecord(spec: LogSpec, alt: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const name = (camel: string, snake: string) => (alt ? snake : camel);
  if (spec.timeNs !== null) o[name('timeUnixNano', 'time_unix_nano')] = spec.timeNs.toString();
  if (spec.observedNs !== null) o[name('observedTimeUnixNano', 'observed_time_unix_nano')] = spec.observedNs.toString();
  if (spec.severity !== null) {
    if ('number' in spec.severity) o[name('severityNumber', 'severity_number')] = spec.severity.number;
    else o[name('severityText', 'severity_text')] = spec.severity.text[0];
  }
  if (spec.body !== null) o.body = jsonAny(spec.body, alt);
  if (spec.attributes.length > 0) o.attributes = spec.attributes.map(([key, v]) => ({ key, value: jsonAny(v, alt) }));
  const hex = (b: Uint8Array) => (alt ? Buffer.from(b).toString('hex').toUpperCase() : Buffer.from(b).toString('hex'));
  if (spec.traceId !== null) o[name('traceId', 'trace_id')] = hex(spec.traceId);
  if (spec.spanId !== null) o[name('spanId', 'span_id')] = hex(spec.spanId);
  return o;
}

/** Records OTLP/JSON must refuse, each for its own reason (each would carry a message if taken). */
const badJsonRecord: fc.Arbitrary<Record<string, unknown>> = fc
  .constantFrom<Record<string, unknown>>(
    { timeUnixNano: 'abc' },
    { timeUnixNano: '-5' },
    { timeUnixNano: 1.5 },
    { timeUnixNano: '18446744073709551616' },
    { observedTimeUnixNano: '123456789012345678901' },
    { traceId: 'xyz' },
    { spanId: 5 },
    { body: 'a plain string' },
    { attributes: [{ key: 5, value: { stringValue: 'x' } }] },
    { attributes: [{ key: 'a', value: { intValue: '1.5' } }] },
    { attributes: 'not a list' },
    { attributes: [{ key: 'a', value: { arrayValue: { values: [1] } } }] },
  )
  .map((o) => ({ body: { stringValue: 'a bad record' }, ...o }));

function jsonRequest(req: Request<Record<string, unknown>>, alt: boolean): Buffer {
  let index = 0;
  const doc = {
    resourceLogs: req.resources.map((r) => ({
      resource: {
        attributes: [
          ...(r.resource.service !== null ? [{ key: 'service.name', value: { stringValue: r.resource.service } }] : []),
          ...r.resource.extra.map(([key, v]) => ({ key, value: jsonAny(v, alt) })),
        ],
      },
      scopeLogs: r.scopes.map((s) => ({
        ...(s.name !== '' ? { scope: { name: s.name } } : {}),
        [alt ? 'log_records' : 'logRecords']: s.records.map((x) => {
          const i = ++index;
          return x.ok ? jsonRecord(withTag(x.part, i), alt) : x.part;
        }),
      })),
    })),
  };
  return Buffer.from(JSON.stringify(doc));
}

/** Log records of a JSON body, counted independently: when it parses, each is a row or a rejection. */
function jsonRecords(body: Buffer): number {
  try {
    const doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const arr = (v: unknown) => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
    return arr(doc.resourceLogs ?? doc.resource_logs).reduce(
      (n, rl) => n + arr(rl.scopeLogs ?? rl.scope_logs).reduce((m, sl) => m + arr(sl.logRecords ?? sl.log_records).length, 0),
      0,
    );
  } catch {
    return -1;
  }
}

const JSON_TOKENS = ['{"resourceLogs":[', '{"scopeLogs":[', '{"logRecords":[', '{"body":{"stringValue":"x"}}', '"timeUnixNano":"1"', '"attributes":[{"key":"k","value":', '{"intValue":"1"}', '{"kvlistValue":{"values":[', '"traceId":"ab"', ']', '}', '{', ',', '"', ':', 'null', '"__proto__"'];

describe('OTLP/JSON logs under fuzzing', () => {
  const watchdog = new HangWatchdog('parseOtlpJson');
  const sample = new BatchSample();
  afterAll(() => watchdog.stop());

  const validBody = fc.tuple(request(badJsonRecord, 2, 2), fc.boolean()).map(([req, alt]) => jsonRequest(req, alt));

  it(`makes only valid rows from ${RUNS} random and mutated bodies, each log record a row or a rejection, throwing nothing but a coded 400`, () => {
    fc.assert(
      fc.property(fuzzBody(validBody, JSON_TOKENS), fc.nat(), (body, junk) => {
        const parsed = cleanly(['LH_ERR_BAD_BODY'], () => watchdog.guard(body, () => parseOtlpJson(Buffer.from(body), CTX)));
        if (!parsed.ok) return;
        const { batch, rejected, errorMessage } = parsed.value;
        const records = checkBatch(batch, CTX);
        expect(records.length + rejected).toBe(jsonRecords(body));
        expect(errorMessage === '').toBe(rejected === 0);
        if (junk % JUNK_EVERY === 0) {
          const again = parseOtlpJson(amidJunk(body, junk), CTX);
          expect(again.batch.bytes.equals(batch.bytes)).toBe(true);
          expect(again.errorMessage).toBe(errorMessage);
        }
        sample.offer(batch, records);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it(`keeps every good log record whatever bad records surround it (${PART_RUNS} requests)`, () => {
    fc.assert(
      fc.property(request(badJsonRecord, 3, 4), fc.boolean(), (req, alt) => {
        const body = jsonRequest(req, alt);
        const parsed = watchdog.guard(body, () => parseOtlpJson(body, CTX));
        checkParts(req, parsed);
        sample.offer(parsed.batch, checkBatch(parsed.batch, CTX));
      }),
      { numRuns: PART_RUNS },
    );
  }, 300_000);

  it('stores a sample of the rows it made in DuckDB through the ingest pipeline, unchanged', async () => {
    expect((await loadIntoStore(sample)).rows).toBeGreaterThan(1000);
  }, 120_000);
});

// ---- protobuf ----

function protoAny(w: ProtoWriter, v: AnyValue): void {
  if ('string' in v) w.string(1, v.string);
  else if ('bool' in v) w.uint(2, v.bool ? 1 : 0);
  else if ('int' in v) w.uint(3, v.int);
  else if ('double' in v) w.double(4, v.double);
  else if ('array' in v) w.message(5, (a) => v.array.forEach((x) => a.message(1, (e) => protoAny(e, x))));
  else if ('kvlist' in v) w.message(6, (l) => v.kvlist.forEach(([k, x]) => l.message(1, (p) => p.string(1, k).message(2, (e) => protoAny(e, x)))));
  else w.raw(7, v.bytes);
}

function protoRecord(w: ProtoWriter, spec: LogSpec): void {
  if (spec.timeNs !== null) w.fixed64(1, spec.timeNs);
  if (spec.severity !== null) {
    if ('number' in spec.severity) w.uint(2, spec.severity.number);
    else w.string(3, spec.severity.text[0]);
  }
  if (spec.body !== null) w.message(5, (b) => protoAny(b, spec.body!));
  for (const [k, v] of spec.attributes) w.message(6, (p) => p.string(1, k).message(2, (e) => protoAny(e, v)));
  if (spec.traceId !== null) w.raw(9, spec.traceId);
  if (spec.spanId !== null) w.raw(10, spec.spanId);
  if (spec.observedNs !== null) w.fixed64(11, spec.observedNs);
}

/**
 * LogRecord bytes that do not decode (each after a tagged string body that would be a message):
 * a time with the wrong wire type, a length past the record, a truncated varint, an AnyValue with
 * a group, flags cut short, an id with the wrong wire type.
 */
const badProtoRecord: fc.Arbitrary<readonly number[]> = fc.constantFrom(
  [0x08, 0x01],
  [0x1a, 0x7f, 0x41],
  [0x10, 0x80],
  [0x2a, 0x01, 0x0b],
  [0x45, 0x01],
  [0x45],
  [0x48, 0x01],
  [0x09, 0x01, 0x02],
);

function protoRequest(req: Request<readonly number[]>): Buffer {
  let index = 0;
  const w = new ProtoWriter();
  for (const r of req.resources) {
    w.message(1, (rl) => {
      rl.message(1, (res) => {
        if (r.resource.service !== null) res.message(1, (p) => p.string(1, 'service.name').message(2, (v) => v.string(1, r.resource.service!)));
        for (const [k, v] of r.resource.extra) res.message(1, (p) => p.string(1, k).message(2, (e) => protoAny(e, v)));
      });
      for (const s of r.scopes) {
        rl.message(2, (sl) => {
          if (s.name !== '') sl.message(1, (sc) => sc.string(1, s.name));
          for (const x of s.records) {
            const i = ++index;
            if (x.ok) sl.message(2, (lr) => protoRecord(lr, withTag(x.part, i)));
            else sl.message(2, (lr) => lr.message(5, (b) => b.string(1, `${tag(i)}bad record`)).verbatim(x.part));
          }
        });
      }
    });
  }
  return w.finish();
}

/** The OTLP logs protos, the parts a request uses: an encoder independent of ours. */
const ExportLogsServiceRequest = protobuf
  .parse(
    `syntax = "proto3";
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2; string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }`,
  )
  .root.lookupType('ExportLogsServiceRequest');

const PROTO_TOKENS = ['\x0a', '\x12', '\x1a', '\x2a', '\x32', '\x09', '\x45', '\x4a', '\x08', '\x80', '\xff', '\x00', 'service.name'];

describe('OTLP/protobuf logs under fuzzing', () => {
  const watchdog = new HangWatchdog('parseOtlpProtobuf');
  const sample = new BatchSample();
  afterAll(() => watchdog.stop());

  const validBody = request(badProtoRecord, 2, 2).map(protoRequest);

  it('writes requests protobufjs reads the same (the generator is sound)', () => {
    fc.assert(
      fc.property(request(fc.constant([] as number[]), 2, 3), (req) => {
        const got = ExportLogsServiceRequest.toObject(ExportLogsServiceRequest.decode(protoRequest(req)), { longs: String, defaults: false }) as {
          resourceLogs?: { scopeLogs?: { logRecords?: { timeUnixNano?: string; body?: { stringValue?: string } }[] }[] }[];
        };
        const logs = (got.resourceLogs ?? []).flatMap((r) => (r.scopeLogs ?? []).flatMap((s) => s.logRecords ?? []));
        const want = records(req);
        expect(logs.length).toBe(want.length);
        logs.forEach((l, k) => {
          const x = want[k]!;
          if (!x.record.ok) return;
          const spec = withTag(x.record.part, x.index);
          if (spec.timeNs !== null) expect(l.timeUnixNano).toBe(spec.timeNs.toString());
          if (spec.body !== null && 'string' in spec.body) expect(l.body?.stringValue).toBe(wellFormed(spec.body.string));
        });
      }),
      { numRuns: 500 },
    );
  });

  it(`makes only valid rows from ${RUNS} random and mutated bodies, throwing nothing but a coded 400`, () => {
    fc.assert(
      fc.property(fuzzBody(validBody, PROTO_TOKENS), fc.nat(), (body, junk) => {
        const parsed = cleanly(['LH_ERR_BAD_BODY'], () => watchdog.guard(body, () => parseOtlpProtobuf(Buffer.from(body), CTX)));
        // The records written from the bytes come out as the object path writes them.
        const objects = cleanly(['LH_ERR_BAD_BODY'], () => parseOtlpProtobuf(Buffer.from(body), CTX, undefined, true));
        expect(parsed.ok).toBe(objects.ok);
        if (!parsed.ok || !objects.ok) return;
        const { batch, rejected, errorMessage } = parsed.value;
        expect(batch.bytes.equals(objects.value.batch.bytes)).toBe(true);
        expect([rejected, errorMessage]).toEqual([objects.value.rejected, objects.value.errorMessage]);
        const records = checkBatch(batch, CTX);
        expect(errorMessage === '').toBe(rejected === 0);
        if (junk % JUNK_EVERY === 0) {
          const again = parseOtlpProtobuf(amidJunk(body, junk), CTX);
          expect(again.batch.bytes.equals(batch.bytes)).toBe(true);
          expect(again.rejected).toBe(rejected);
        }
        sample.offer(batch, records);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it(`keeps every good log record whatever records that do not decode surround it (${PART_RUNS} requests)`, () => {
    fc.assert(
      fc.property(request(badProtoRecord, 3, 4), (req) => {
        const body = protoRequest(req);
        const parsed = watchdog.guard(body, () => parseOtlpProtobuf(body, CTX));
        checkParts(req, parsed);
        const objects = parseOtlpProtobuf(body, CTX, undefined, true);
        expect(parsed.batch.bytes.equals(objects.batch.bytes)).toBe(true);
        sample.offer(parsed.batch, checkBatch(parsed.batch, CTX));
      }),
      { numRuns: PART_RUNS },
    );
  }, 300_000);

  it('stores a sample of the rows it made in DuckDB through the ingest pipeline, unchanged', async () => {
    expect((await loadIntoStore(sample)).rows).toBeGreaterThan(1000);
  }, 120_000);
});
