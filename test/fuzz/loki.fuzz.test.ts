// Fuzzing Loki's push body: JSON, the protobuf PushRequest, and the snappy block around it.
// Random and mutated bodies never throw (JSON) or throw only a coded 400 (protobuf, snappy), never
// hang, only make rows the store takes, and never read past their input; snappy never allocates
// past its limit. A bad entry (a bad time, line or metadata; in protobuf also bytes that do not
// decode) costs itself, and a bad stream (bad labels; in protobuf also bytes that do not decode)
// its own entries, never another's. Only protobuf framing broken at the top level (the request's
// own fields) fails the whole request. A sample of the rows loads into DuckDB and reads back.

import fc from 'fast-check';
import protobuf from 'protobufjs';
import snappyjs from 'snappyjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Level } from '../../src/model/record.js';
import { snappyDecompress } from '../../src/ingest/common/snappy.js';
import { MAX_REPORTED_ERRORS, parseLokiProtobuf, type ParsedPush } from '../../src/ingest/loki/push-body.js';
// What the route reads JSON pushes with (it hands the unusual ones to parseLokiJson, its reference).
import { parseLokiJsonBytes as parseLokiJson } from '../../src/ingest/loki/push-json.js';
import { CTX, fuzzBody, interleave, JUNK_EVERY, levelWord, mutated, PART_RUNS, ProtoWriter, rfc3339, RUNS, tag, text, wellFormed } from './arbitraries.js';
import { amidJunk, BatchSample, checkBatch, cleanly, expectSame, HangWatchdog, loadIntoStore } from './checks.js';
import { actual, expectedRecord, recordJson, recordSpec, type Expected, type RecordSpec } from './records.js';

// ---- streams, entries and what they must become ----

interface Labels {
  service: readonly [string, string] | null;
  level: readonly [string, string, Level] | null;
  /** Labels that are no record field: they go to attrs. */
  extra: Record<string, string>;
}

const labels: fc.Arbitrary<Labels> = fc.record({
  service: fc.option(fc.tuple(fc.constantFrom('service_name', 'service', 'app', 'job'), text(8).map((s) => s || 'svc')), { nil: null }),
  level: fc.option(fc.tuple(fc.constantFrom('level', 'detected_level'), levelWord).map(([k, [w, l]]) => [k, w, l] as const), { nil: null }),
  extra: fc.dictionary(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,6}$/).map((k) => `l_${k}`), text(8), { maxKeys: 3 }),
});

function labelMap(l: Labels): Record<string, string> {
  const m: Record<string, string> = { ...l.extra };
  if (l.service) m[l.service[0]] = l.service[1];
  if (l.level) m[l.level[0]] = l.level[1];
  return m;
}

/** Prometheus label syntax, as Promtail sends it in a protobuf push. */
function labelText(l: Labels): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
  return `{${Object.entries(labelMap(l))
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(', ')}}`;
}

/** An entry's line: a JSON record (read like a native one) or any text (the message, whole). */
type Line = { json: true; spec: RecordSpec } | { json: false; text: string };

const line: fc.Arbitrary<Line> = fc.oneof(
  recordSpec.map((spec) => ({ json: true as const, spec })),
  text(30).map((t) => ({ json: false as const, text: t })),
);

function lineString(l: Line, i: number): string {
  return l.json ? recordJson(l.spec, i) : tag(i) + l.text;
}

/** Loki's timestamps are int64 nanoseconds: up to 2262-04-11. */
const MAX_LOKI_MICROS = (2n ** 63n - 1n) / 1000n;

/** µs of a good entry, and its nanoseconds with sub-µs digits (dropped). */
const entryTime = fc.tuple(fc.bigInt({ min: 0n, max: MAX_LOKI_MICROS }), fc.integer({ min: 0, max: 999 })).map(([us, sub]) => ({ us, ns: us * 1000n + BigInt(sub) }));

interface GoodEntry {
  us: bigint;
  ns: bigint;
  line: Line;
  /** Structured metadata that is no record field (attrs). */
  meta: Record<string, string> | null;
}

const goodEntry: fc.Arbitrary<GoodEntry> = fc.record({
  us: fc.constant(0n),
  ns: fc.constant(0n),
  line,
  meta: fc.option(fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/).map((k) => `m_${k}`), text(6), { minKeys: 1, maxKeys: 2 }), { nil: null }),
}).chain((e) => entryTime.map((t) => ({ ...e, ...t })));

function expectedEntry(l: Labels, e: GoodEntry, i: number): Expected {
  const labelAttrs = Object.fromEntries(Object.entries({ ...l.extra, ...(e.meta ?? {}) }).map(([k, v]) => [k, wellFormed(v)]));
  const defaults = { ts: e.us, service: l.service ? wellFormed(l.service[1]) : undefined, level: l.level?.[2] };
  if (!e.line.json) {
    return { ts: e.us, level: defaults.level ?? null, service: defaults.service ?? null, category: null, message: wellFormed(tag(i) + e.line.text), attrs: labelAttrs };
  }
  const r = expectedRecord(e.line.spec, i, defaults);
  // A label the line overrides with a value of its own stays in attrs, under its name.
  const shadowed: Record<string, string> = {};
  if (l.service && e.line.spec.service !== null && r.service !== defaults.service) shadowed[l.service[0]] = wellFormed(l.service[1]);
  if (l.level && e.line.spec.level !== null && r.level !== defaults.level) shadowed[l.level[0]] = wellFormed(l.level[1]);
  return { ...r, attrs: { ...labelAttrs, ...shadowed, ...r.attrs } };
}

/**
 * Parts of a push: good streams of good and bad entries, and bad streams (bad labels, or in
 * protobuf with `broken` bytes that do not decode after their entries).
 */
type Stream<Bad> =
  | { ok: true; labels: Labels; entries: ({ ok: true; part: GoodEntry } | { ok: false; part: Bad })[] }
  | { ok: false; entries: number; broken: boolean };

function streams<Bad>(badEntry: fc.Arbitrary<Bad>, maxStreams: number, maxEntries = 4): fc.Arbitrary<Stream<Bad>[]> {
  const good = fc
    .tuple(labels, fc.array(goodEntry, { maxLength: maxEntries }), fc.array(badEntry, { maxLength: 2 }), fc.array(fc.nat(), { maxLength: 2 }))
    .map(([l, g, b, slots]) => ({ ok: true as const, labels: l, entries: interleave(g, b, slots) }));
  const bad = fc.record({ ok: fc.constant(false as const), entries: fc.integer({ min: 0, max: 3 }), broken: fc.boolean() });
  return fc.array(fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: bad }), { maxLength: maxStreams });
}

/** Rows the parts must make, each entry's tag its number across the whole push. */
function expectedRows<Bad>(ss: Stream<Bad>[]): Expected[] {
  let n = 0;
  return ss.flatMap((s) => {
    if (!s.ok) {
      n += s.entries;
      return [];
    }
    return s.entries.flatMap((e) => {
      const i = n++;
      return e.ok ? [expectedEntry(s.labels, e.part, i)] : [];
    });
  });
}

/** The errors the parts must be reported with: entry number, 0 for a stream. */
function expectedErrors<Bad>(ss: Stream<Bad>[]): { rejected: number; entries: number[] } {
  let rejected = 0;
  const entries: number[] = [];
  for (const s of ss) {
    if (!s.ok) {
      rejected += s.entries;
      entries.push(0);
      continue;
    }
    s.entries.forEach((e, k) => {
      if (!e.ok) {
        rejected++;
        entries.push(k + 1);
      }
    });
  }
  return { rejected, entries };
}

function checkErrors(parsed: ParsedPush, want: { rejected: number; entries: number[] }): void {
  expect(parsed.rejected).toBe(want.rejected);
  expectSame(
    parsed.errors.map((e) => e.entry),
    want.entries.slice(0, MAX_REPORTED_ERRORS),
  );
}

// ---- JSON ----

/** Entries Loki's JSON push must refuse, each for its own reason. */
const badJsonEntry: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('not-a-time', '', '0x10', '12:34', '+275760-09-13T00:00:00Z', '-000001-01-01T00:00:00Z', '+010000-01-01T00:00:00Z', 1_700_000_000_000_000_000, null).map((ts) => [ts, 'bad time']),
  fc.constantFrom(5, null, { msg: 'an object' }).map((l) => ['1700000000000000000', l]),
  fc.constantFrom({ a: 1 }, ['x'], null).map((meta) => ['1700000000000000000', 'bad metadata', meta]),
  fc.constantFrom('an entry', 5),
);

function jsonPush(ss: Stream<unknown>[], legacy: boolean[]): Buffer {
  let n = 0;
  const doc = {
    streams: ss.map((s, si) => {
      if (!s.ok) {
        const values = Array.from({ length: s.entries }, () => ['1700000000000000000', `${tag(n++)}in a bad stream`]);
        return [{ stream: { job: 5 }, values }, { stream: 'job=a', values }, { values }][s.entries % 3];
      }
      // The legacy form (labels as text, entries as {ts: RFC 3339, line}) has no metadata and no
      // way to write a bad entry of ours.
      const old = legacy[si] === true && s.entries.every((e) => e.ok && e.part.meta === null);
      const values = s.entries.map((e) => {
        const i = n++;
        if (!e.ok) return e.part;
        const l = lineString(e.part.line, i);
        if (old) return { ts: rfc3339(e.part.us, 6), line: l };
        return e.part.meta ? [e.part.ns.toString(), l, e.part.meta] : [e.part.ns.toString(), l];
      });
      return old ? { labels: labelText(s.labels), entries: values } : { stream: labelMap(s.labels), values };
    }),
  };
  return Buffer.from(JSON.stringify(doc));
}

/** Entries of a JSON push, counted independently: each must become a row or a rejection. */
function jsonEntries(body: Buffer): number {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return 1;
  }
  const ss = (doc as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(ss)) return 1;
  return ss.reduce((n: number, s: unknown) => {
    const st = s as { values?: unknown; entries?: unknown } | null;
    const values = st?.values ?? st?.entries;
    return n + (Array.isArray(values) ? values.length : 1);
  }, 0);
}

const JSON_TOKENS = ['{"streams":[', ']}', '{"stream":{', '"job":"a"', '},"values":[', '["1700000000000000000",', '"line"', ']', '{"labels":"{a=\\"b\\"}","entries":[', '{"ts":"2024-01-01T00:00:00Z","line":"x"}', ',', '"', '{', '}', '+275760-09-13T00:00:00Z', '"-5"'];

describe('Loki JSON push under fuzzing', () => {
  const watchdog = new HangWatchdog('parseLokiJson');
  const sample = new BatchSample();
  afterAll(() => watchdog.stop());

  const validBody = fc.tuple(streams(badJsonEntry, 2, 2), fc.array(fc.boolean(), { maxLength: 2 })).map(([ss, legacy]) => jsonPush(ss, legacy));

  it(`makes only valid rows from ${RUNS} random and mutated bodies, each entry a row or a rejection, never throwing`, () => {
    fc.assert(
      fc.property(fuzzBody(validBody, JSON_TOKENS), fc.nat(), (body, junk) => {
        // parseLokiJson documents no exception: a body that is not a push is one error.
        const parsed = cleanly([], () => watchdog.guard(body, () => parseLokiJson(Buffer.from(body), CTX)));
        if (!parsed.ok) return;
        const { batch, rejected, errors } = parsed.value;
        const records = checkBatch(batch, CTX);
        expect(records.length + rejected).toBe(jsonEntries(body));
        expect(errors.length).toBeLessThanOrEqual(MAX_REPORTED_ERRORS);
        if (rejected > 0) expect(errors.length).toBeGreaterThan(0);
        if (junk % JUNK_EVERY === 0) {
          const again = parseLokiJson(amidJunk(body, junk), CTX);
          expect(again.batch.bytes.equals(batch.bytes)).toBe(true);
          expectSame(again.errors, errors);
        }
        sample.offer(batch, records);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it(`keeps every good entry whatever bad entries and streams surround it (${PART_RUNS} pushes)`, () => {
    fc.assert(
      fc.property(streams(badJsonEntry, 4), fc.array(fc.boolean(), { maxLength: 4 }), (ss, legacy) => {
        const body = jsonPush(ss, legacy);
        const parsed = watchdog.guard(body, () => parseLokiJson(body, CTX));
        const records = checkBatch(parsed.batch, CTX);
        expectSame(records.map(actual), expectedRows(ss));
        checkErrors(parsed, expectedErrors(ss));
        sample.offer(parsed.batch, records);
      }),
      { numRuns: PART_RUNS },
    );
  }, 300_000);

  it('stores a sample of the rows it made in DuckDB through the ingest pipeline, unchanged', async () => {
    expect((await loadIntoStore(sample)).rows).toBeGreaterThan(1000);
  }, 120_000);
});

// ---- protobuf ----

/**
 * A bad entry of a protobuf push: no timestamp, one outside the years 1–9999, or bytes that do not
 * decode (a truncated varint in the timestamp, an unsupported wire type, a length past the entry).
 */
type BadProtoEntry = { kind: 'no time' } | { kind: 'time'; seconds: bigint } | { kind: 'wire'; bytes: readonly number[] };

const badProtoEntry: fc.Arbitrary<BadProtoEntry> = fc.oneof(
  fc.constant({ kind: 'no time' as const }),
  fc.constantFrom(300_000_000_000n, -70_000_000_000n, 2n ** 62n, -(2n ** 63n)).map((seconds) => ({ kind: 'time' as const, seconds })),
  fc.constantFrom([0x0a, 0x02, 0x08, 0x80], [0x0b], [0x12, 0x7f, 0x41], [0x0a, 0x01, 0x0c], [0x1a, 0x03, 0x0a, 0x05, 0x41]).map((bytes) => ({ kind: 'wire' as const, bytes })),
);

/** Labels Prometheus syntax does not allow. */
const BAD_LABELS = ['job="a"', '{job=a}', '{1x="y"}', '{job="unterminated}', '{job="a" app="b"}', '{=""}', ''];

function protoPush(ss: Stream<BadProtoEntry>[]): Buffer {
  let n = 0;
  const w = new ProtoWriter();
  for (const s of ss) {
    w.message(1, (sw) => {
      if (!s.ok) {
        sw.string(1, s.broken ? '{job="broken"}' : BAD_LABELS[(s.entries * 2) % BAD_LABELS.length]!);
        for (let k = 0; k < s.entries; k++) {
          const i = n++;
          sw.message(2, (e) => e.message(1, (t) => t.uint(1, 1_700_000_000)).string(2, `${tag(i)}in a bad stream`));
        }
        // A group start (wire type 3), which no Loki message has.
        if (s.broken) sw.verbatim([0x1b]);
        return;
      }
      sw.string(1, labelText(s.labels));
      for (const e of s.entries) {
        const i = n++;
        sw.message(2, (ew) => {
          if (e.ok) {
            const { ns, line: l, meta } = e.part;
            ew.message(1, (t) => t.uint(1, ns / 1_000_000_000n).uint(2, ns % 1_000_000_000n));
            ew.string(2, lineString(l, i));
            for (const [k, v] of Object.entries(meta ?? {})) ew.message(3, (p) => p.string(1, k).string(2, v));
          } else if (e.part.kind === 'wire') {
            ew.string(2, `${tag(i)}bad bytes`).verbatim(e.part.bytes);
          } else {
            if (e.part.kind === 'time') ew.message(1, (t) => t.uint(1, (e.part as { seconds: bigint }).seconds));
            ew.string(2, `${tag(i)}bad time`);
          }
        });
      }
    });
  }
  return w.finish();
}

/** Loki's push.proto, the part a push uses (as loki.test.ts has it): an encoder independent of ours. */
const PushRequest = protobuf
  .parse(
    `syntax = "proto3";
package logproto;
message PushRequest { repeated StreamAdapter streams = 1; }
message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
message EntryAdapter { Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
message LabelPairAdapter { string name = 1; string value = 2; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; }`,
  )
  .root.lookupType('logproto.PushRequest');

const PROTO_TOKENS = ['\x0a', '\x12', '\x1a', '\x08', '\x10', '\x80', '\xff', '{job="a"}', '"', '=', '}', '{'];

describe('Loki protobuf push under fuzzing', () => {
  const watchdog = new HangWatchdog('parseLokiProtobuf');
  const sample = new BatchSample();
  afterAll(() => watchdog.stop());

  const validBody = streams(badProtoEntry, 2, 2).map(protoPush);

  it('writes pushes protobufjs reads the same (the generator is sound)', () => {
    // Without the parts made not to decode.
    const decodable = streams(badProtoEntry, 3).map((ss) =>
      ss.map((s) => (s.ok ? { ...s, entries: s.entries.filter((e) => e.ok || e.part.kind !== 'wire') } : { ...s, broken: false })),
    );
    fc.assert(
      fc.property(decodable, (ss) => {
        const decoded = PushRequest.toObject(PushRequest.decode(protoPush(ss)), { longs: String }) as { streams?: { labels?: string; entries?: { line?: string }[] }[] };
        expect(decoded.streams?.length ?? 0).toBe(ss.length);
        ss.forEach((s, k) => {
          expect(decoded.streams![k]!.entries?.length ?? 0).toBe(s.ok ? s.entries.length : s.entries);
          if (s.ok) expect(decoded.streams![k]!.labels).toBe(wellFormed(labelText(s.labels)));
        });
      }),
      { numRuns: 500 },
    );
  });

  it(`makes only valid rows from ${RUNS} random and mutated bodies, throwing nothing but a coded 400`, () => {
    fc.assert(
      fc.property(fuzzBody(validBody, PROTO_TOKENS), fc.nat(), (body, junk) => {
        const parsed = cleanly(['LH_ERR_BAD_BODY'], () => watchdog.guard(body, () => parseLokiProtobuf(Buffer.from(body), CTX)));
        // The entries written from the bytes come out as the field reader writes them.
        const reader = cleanly(['LH_ERR_BAD_BODY'], () => parseLokiProtobuf(Buffer.from(body), CTX, undefined, true));
        expect(parsed.ok).toBe(reader.ok);
        if (!parsed.ok || !reader.ok) return;
        const { batch, rejected, errors } = parsed.value;
        expect(batch.bytes.equals(reader.value.batch.bytes)).toBe(true);
        expect(rejected).toBe(reader.value.rejected);
        expectSame(errors, reader.value.errors);
        const records = checkBatch(batch, CTX);
        expect(errors.length).toBeLessThanOrEqual(MAX_REPORTED_ERRORS);
        if (rejected > 0) expect(errors.length).toBeGreaterThan(0);
        if (junk % JUNK_EVERY === 0) {
          const again = parseLokiProtobuf(amidJunk(body, junk), CTX);
          expect(again.batch.bytes.equals(batch.bytes)).toBe(true);
          expectSame(again.errors, errors);
        }
        sample.offer(batch, records);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it(`keeps every good entry whatever bad or undecodable entries and streams surround it (${PART_RUNS} pushes)`, () => {
    fc.assert(
      fc.property(streams(badProtoEntry, 4), (ss) => {
        const body = protoPush(ss);
        const parsed = watchdog.guard(body, () => parseLokiProtobuf(body, CTX));
        const records = checkBatch(parsed.batch, CTX);
        expectSame(records.map(actual), expectedRows(ss));
        expect(parsed.batch.bytes.equals(parseLokiProtobuf(body, CTX, undefined, true).batch.bytes)).toBe(true);
        // A stream with bad labels is refused with all its entries (at least one refusal).
        const want = expectedErrors(ss);
        const rejected = ss.reduce((n, s) => n + (s.ok ? s.entries.filter((e) => !e.ok).length : Math.max(1, s.entries)), 0);
        checkErrors(parsed, { ...want, rejected });
        sample.offer(parsed.batch, records);
      }),
      { numRuns: PART_RUNS },
    );
  }, 300_000);

  it('stores a sample of the rows it made in DuckDB through the ingest pipeline, unchanged', async () => {
    expect((await loadIntoStore(sample)).rows).toBeGreaterThan(1000);
  }, 120_000);
});

// ---- snappy ----

describe('snappy decompression under fuzzing', () => {
  const watchdog = new HangWatchdog('snappyDecompress');

  /** Data that compresses: runs and repeats of a few bytes, and random bytes. */
  const plain = fc
    .array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 80 })).map(([b, k]) => Buffer.concat(Array.from({ length: k }, () => b)))), { maxLength: 4 })
    .map((parts) => Buffer.concat(parts));
  const compressed = plain.map((p) => Buffer.from(snappyjs.compress(p) as Uint8Array));

  afterAll(() => watchdog.stop());

  it(`decompresses what snappyjs compresses, and refuses ${RUNS} random and mutated blocks with a coded error, allocating no more than its limit`, () => {
    const allocUnsafe = Buffer.allocUnsafe;
    let allocated = 0;
    Buffer.allocUnsafe = (size: number) => {
      allocated = Math.max(allocated, size);
      return allocUnsafe(size);
    };
    try {
      fc.assert(
        fc.property(
          fc.oneof(
            { weight: 2, arbitrary: plain.map((p) => ({ plain: p, block: Buffer.from(snappyjs.compress(p) as Uint8Array) })) },
            { weight: 6, arbitrary: mutated(compressed).map((block) => ({ plain: null, block })) },
            { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ plain: null, block: Buffer.from(b) })) },
          ),
          fc.integer({ min: 0, max: 4000 }),
          ({ plain: p, block }, limit) => {
            allocated = 0;
            const out = cleanly(['LH_ERR_BAD_BODY', 'LH_ERR_BODY_TOO_LARGE'], () => watchdog.guard(block, () => snappyDecompress(block, limit)));
            expect(allocated).toBeLessThanOrEqual(limit);
            if (out.ok) expect(out.value.length).toBeLessThanOrEqual(limit);
            // The spy sees the output buffer (or the check above proves nothing).
            if (out.ok && out.value.length > 0) expect(allocated).toBe(out.value.length);
            if (p !== null) {
              if (p.length <= limit) expect(out.ok && out.value.equals(p)).toBe(true);
              else expect(out).toEqual({ ok: false, code: 'LH_ERR_BODY_TOO_LARGE' });
            }
          },
        ),
        { numRuns: RUNS },
      );
    } finally {
      Buffer.allocUnsafe = allocUnsafe;
    }
  }, 300_000);
});
