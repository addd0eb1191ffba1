// The byte walk of Loki's JSON push against parseLokiJson, the JSON.parse reader it stands in
// for: on random pushes of every shape (labels and metadata that feed fields or attrs, empty and
// escaped values, JSON lines and plain ones, odd text, any whitespace) and on byte mutations of
// them, both give the same records, the same refusals and the same reasons.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRows } from '../../store/row-format.js';
import { CTX, mutated, text } from '../../../test/fuzz/arbitraries.js';
import { parseLokiJson, type ParsedPush } from './push-body.js';
import { parseLokiJsonBytes } from './push-json.js';

const NAMES = ['service_name', 'service', 'app', 'job', 'host', 'hostname', 'instance', 'level', 'detected_level', 'category', 'source', 'trace_id', 'span_id', 'traceID', 'env', 'pod', 'team'];
const VALUES = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('api', 'web-1', 'error', 'warn', 'INFO', 'nope', 'abc123', 'payments') },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: text(10) },
);
const labelsArb = fc.dictionary(fc.constantFrom(...NAMES), VALUES, { maxKeys: 4 });

/** A JSON line's object: fields that overlap labels, nested ones, odd values. */
const lineObject = fc.record(
  {
    ts: fc.constantFrom('2026-01-15T12:00:00Z', '2026-01-15T12:00:00.123456Z', 1768478400123, 'bad', ''),
    level: fc.constantFrom('info', 'error', 'WARNING', 'nope', 30),
    msg: text(30),
    service: fc.constantFrom('api', 'other'),
    host: fc.oneof(fc.constantFrom('h1', 'web-1'), fc.record({ name: fc.constantFrom('h2', 'web-1'), ip: fc.constant('10.0.0.1') })),
    trace_id: fc.constantFrom('abc', 'def'),
    n: fc.integer(),
    extra: fc.record({ a: text(5), b: fc.array(fc.integer(), { maxLength: 3 }) }),
  },
  { requiredKeys: [] },
);
const line = fc.oneof(
  { weight: 3, arbitrary: lineObject.map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: text(40) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"a":1', '[1,2]', '  {"msg":"padded"}  ', '{"msg":"x"} trailing', '{"a":"\\ud800"}') },
);
const ns = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 9_223_372_036_854_775_807n }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '999', '1000', '00001768478400123456789', '-1', '1.5', '', 'x', '99999999999999999999', '2026-01-15T12:00:00Z') },
  // µs on either side of 2^53, where the digits stop fitting a double.
  { weight: 1, arbitrary: fc.constantFrom('9007199254740991999', '9007199254740992000', '9007199254740993000', '1768478400123456789') },
);
const meta = fc.option(fc.dictionary(fc.constantFrom(...NAMES, 'm_a', 'm_b'), VALUES, { maxKeys: 3 }), { nil: undefined });
const entry = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(ns, line, meta).map(([t, l, m]) => (m === undefined ? [t, l] : [t, l, m])) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([1, 'x'], ['1', 2], ['1'], { ts: '1', line: 'x' }, ['1', 'x', { a: 1 }], ['1', 'x', null], 'str') },
);
const stream = fc.oneof(
  { weight: 12, arbitrary: fc.record({ stream: labelsArb, values: fc.array(entry, { maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({ labels: '{job="a"}', entries: [{ ts: '2026-01-15T12:00:00Z', line: 'x' }] }, { stream: { a: 1 }, values: [] }, { values: [['1', 'x']], stream: { job: 'late' } }, { stream: {} }, null) },
);
const push = fc.record({ streams: fc.array(stream, { maxLength: 4 }) });

/** A push body as a shipper might write it: compact, pretty, or with spaces after separators. */
const body = fc.tuple(push, fc.constantFrom(0, 1, 2)).map(([p, style]) => {
  const json = style === 0 ? JSON.stringify(p) : style === 1 ? JSON.stringify(p, null, 2) : JSON.stringify(p).replace(/([,:])(?=["\[{0-9])/g, '$1 ');
  return Buffer.from(json);
});

/** Rows as records, attrs parsed: equal JSON may escape a character or not. */
function outcome(p: ParsedPush) {
  const rows = decodeRows(p.batch).map((r) => ({ ...r, attrs: JSON.parse(r.attrs) as unknown }));
  p.batch.release();
  return { rows, rejected: p.rejected, errors: p.errors };
}

/** Both readers on copies (the scanner repairs lone surrogate escapes in place). */
function both(bytes: Buffer) {
  return { bytes: outcome(parseLokiJsonBytes(Buffer.from(bytes), CTX)), reference: outcome(parseLokiJson(Buffer.from(bytes), CTX)) };
}

describe('Loki JSON push read from bytes', () => {
  it('gives what parseLokiJson gives for random pushes', () => {
    fc.assert(
      fc.property(body, (b) => {
        const { bytes, reference } = both(b);
        expect(bytes).toEqual(reference);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives what parseLokiJson gives for byte mutations of pushes', () => {
    fc.assert(
      fc.property(mutated(body), (b) => {
        const { bytes, reference } = both(Buffer.from(b));
        expect(bytes).toEqual(reference);
      }),
      { numRuns: 3000 },
    );
  });

  it('unescapes lines longer than its first 64 KiB of room, and their neighbours, as the reference does', () => {
    // Lengths around the point where the room runs out, so that each kind of escape falls on it
    // (short bodies start with less room, down to 64 bytes: the random pushes above grow it too).
    for (let pad = 0; pad < 12; pad++) {
      const long = JSON.stringify({ msg: `${'p'.repeat(pad)}${'a"é\\\n\u0001'.repeat(12_000)}` });
      const push = { streams: [{ stream: { service_name: 'api' }, values: [['1768478400123456789', long], ['1768478400123456790', 'x\\"'.repeat(25_000)], ['1768478400123456791', '{"msg":"after"}']] }] };
      const { bytes, reference } = both(Buffer.from(JSON.stringify(push)));
      expect(bytes).toEqual(reference);
    }
  });

  it('writes the usual shape itself: metadata values, labels and lines as the reference does', () => {
    const push = {
      streams: [
        {
          stream: { service_name: 'api', env: 'prod', host: 'h1' },
          values: [
            ['1768478400123456789', '{"ts":"2026-01-15T12:00:00Z","level":"error","msg":"a \\"quoted\\" é \\ud83d\\ude00","host":"h2"}', { trace_id: 'abc', span_id: 'def', pod: 'p-1' }],
            ['1768478400123456790', 'plain text line', { trace_id: 'abd', span_id: '', pod: 'p-2' }],
            ['1768478400123456791', '{"msg":"no meta"}'],
            ['1768478400123456792', '{"msg":"escaped meta"}', { trace_id: 'a"b', pod: 'p\u00e9' }],
          ],
        },
      ],
    };
    const { bytes, reference } = both(Buffer.from(JSON.stringify(push)));
    expect(bytes).toEqual(reference);
    expect(bytes.rows.map((r) => r.traceId)).toEqual(['abc', 'abd', null, 'a"b']);
    expect(bytes.rows[0]!.message).toBe('a "quoted" é 😀');
  });
});
