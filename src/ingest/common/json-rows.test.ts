// The byte encoder (scanner + rows written straight from the request bytes) must agree with
// normaliseObject over JSON.parse (the reference) on every input: same accept/reject, same
// fields, same attrs value.

import { describe, expect, it } from 'vitest';
import { decodeRows, RowBatchBuilder, rowsOf } from '../../store/row-format.js';
import { JsonRowEncoder, prepareDefaults } from './json-rows.js';
import { FIELD_ALIASES, messageKeyProblems, normaliseObject, setMessageKeys, type RecordDefaults } from './normalise.js';

const ctx = { tenant: 'default', receivedAt: 1_700_000_000_000_000n };

function reference(line: string, defaults?: RecordDefaults) {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false as const };
  }
  return normaliseObject(value, ctx, defaults);
}

function encode(line: string, defaults?: RecordDefaults) {
  const enc = new JsonRowEncoder(new RowBatchBuilder(16), ctx);
  const bytes = Buffer.from(line);
  enc.encodeObject(bytes, 0, bytes.length, true, defaults && prepareDefaults(defaults));
  if (enc.rejected) return { ok: false as const, error: enc.error };
  const rows = decodeRows(enc.out.finish());
  expect(rows.length).toBe(1);
  return { ok: true as const, record: rows[0]! };
}

function check(line: string, defaults?: RecordDefaults): void {
  const ref = reference(line, defaults);
  const got = encode(line, defaults);
  expect(got.ok, line).toBe(ref.ok);
  if (got.ok && ref.ok) {
    const { attrs: a, ...fa } = got.record;
    const { attrs: b, ...fb } = ref.record;
    expect(fa, line).toEqual(fb);
    expect(a, line).not.toMatch(/[\t\r\n]/);
    // Out-of-range numbers stay verbatim in raw attrs where JSON.stringify would write null,
    // and -0 stays -0 where it would write 0.
    const finite = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v === 0 ? 0 : v);
    expect(JSON.parse(a, finite), line).toEqual(JSON.parse(b));
  }
}

/** Seeded PRNG so a failure reproduces. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const KEYS = ['ts', 'time', '@t', 'level', 'lvl', 'severity', 'msg', 'message', 'service', 'app', 'host', 'trace_id', 'x', 'é', 'a"b', 'n\\u0041', 'm\u0073g',
  'log', 'name', 'id', 'trace', 'log.level', 'host.name', 'service.name', 'env'];
const STRINGS = [
  'info', 'WARNING', 'E', ' warn ', 'nonsense', '30', 'Ünï', '2024-01-02T03:04:05.123456789+02:00', '2024-02-29T23:59:60Z',
  '2023-02-29T00:00:00Z', '2024-01-02 03:04:05', '2024-01-02T03:04:05.5-0130', '0099-01-01T00:00:00Z', '1700000000',
  '1700000000.5', '', 'tab\there "q" \\ é ☃', '\u2028',
];
function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 2 ? 7 : 9));
  switch (k) {
    case 0: return Math.floor(r() * 1e6) - 5e5;
    case 1: return r() * 1e3;
    case 2: return STRINGS[Math.floor(r() * STRINGS.length)];
    case 3: return r() < 0.5;
    case 4: return null;
    case 5: return [1_700_000_000_123 + Math.floor(r() * 1000), 1_700_000_000, 1_700_000_000_123_456, 17, 30, 1.5, -1][Math.floor(r() * 7)];
    case 6: return '1700000000123456789';
    case 7: return Object.fromEntries(Array.from({ length: Math.floor(r() * 3) }, () => [KEYS[Math.floor(r() * KEYS.length)], randomValue(r, depth + 1)]));
    default: return Array.from({ length: Math.floor(r() * 3) }, () => randomValue(r, depth + 1));
  }
}

const DEFAULTS: RecordDefaults[] = [
  {},
  { ts: 1_600_000_000_000_000n, level: 'warn', severity: 13, service: 'from-label', host: 'h\t1', attrs: { env: 'prod', x: 1, job: { a: [1, '\ud800'] } } },
  { message: 'plain "line"', category: 'idx', traceId: 'ab', spanId: 'cd', source: 's', attrs: { 'a"b': null } },
];

describe('JsonRowEncoder agrees with JSON.parse + normaliseObject', () => {
  it('on hand-picked lines', () => {
    for (const line of [
      '{}',
      ' { "ts" : 1700000000 , "msg":"a\\nb", "x": [1, {"y": null}] } ',
      '{"level":30,"time":1700000000123,"msg":"pino"}',
      '{"severity":17,"message":"otel"}',
      '{"severity":"17","message":"otel"}',
      // Numeric levels and severities, read from their digits where they are one to three plain ones.
      '{"severity":9}', '{"severity":0}', '{"severity":24}', '{"severity":25}', '{"severity":100}', '{"severity":1000}',
      '{"severity":9.0}', '{"severity":-9}', '{"severity":1e1}', '{"severity":-0}',
      '{"level":5}', '{"level":10}', '{"level":60}', '{"level":600}', '{"level":3e1}', '{"level":30.0}', '{"level":-30}', '{"level":"30"}',
      '{"ts":"bad"}',
      '{"ts":true}',
      '{"ts":{"a":1}}',
      '{"ts":null,"level":"nonsense","service":{"name":"x"}}',
      '{"ts":"","msg":1.50,"host":1e3,"app":"x","source":false}',
      '{"msg":"first","msg":"second","x":1,"x":2}',
      '{"time":"2024-01-01T00:00:00Z","ts":"2025-01-01T00:00:00Z"}',
      '{"ts":-1700000000,"level":"\\u0045"}',
      '{"ts":"9999-12-31T23:59:59.999999Z"}',
      '{"ts":99999999999,"level":"InFo"}',
      '{"ts":-1,"level":"warn "}',
      '{"ts":"1969-12-31T23:59:59.999999Z","level":"informational"}',
      '{"ts":"2024-01-02T03:04:05.123\\u005a"}',
      '{"a":1,}',
      '{"a":01}',
      '{"a":1.}',
      '{"a":-}',
      '{"a":"\\x"}',
      '{"a":"\\u12"}',
      '{"a" 1}',
      '{"a":1} x',
      '[1,2]',
      '"str"',
      '{"a":tru}',
      '{"a":fals}',
      '{"a":nul}',
      '{"a":"raw\ttab"}',
      '{"a":\t{"b":\t1}\r}',
      '{"a":1e5,"b":-0.5E-3,"c":0,"d":1e400}',
      '{"msg":"\\ud83d\\ude00 emoji","host":"h\\u00e9"}',
      // Elastic Common Schema: dotted names, flat or nested.
      '{"@timestamp":"2024-01-02T03:04:05Z","log":{"level":"warn","logger":"x"},"host":{"name":"h1","ip":"10.0.0.1"},"service":{"name":"api"},"message":"m"}',
      '{"log.level":"error","host.name":"h2","service.name":"svc","trace":{"id":"abc"},"span":{"id":"def","x":1}}',
      '{"host":{"name":"h3"},"service":{},"log":{"level":{"deep":1}},"trace":[1]}',
      '{"service":"top","service":{"name":"nested"},"host":"h","host.name":"h-flat"}',
      '{"log": {"level": "info"} , "log.level":"debug", "x": {"level":"error"}}',
    ]) {
      for (const d of DEFAULTS) check(line, d);
    }
  });

  it('keeps nanosecond timestamps and big integers exact, where JSON.parse would round them', () => {
    const r = encode('{"ts":1700000000123456789,"service":12345678901234567890}');
    expect(r.ok && r.record.ts).toBe(1_700_000_000_123_456n);
    expect(r.ok && r.record.service).toBe('12345678901234567890');
  });

  it('turns lone surrogate escapes into U+FFFD, in columns and attrs, where the store would refuse the row', () => {
    const r = encode('{"msg":"a\\ud800b\\udc00c\\ud83d\\ude00","x":{"y\\udbff":"\\udfff"},"z":"\\ud800\\ud800"}');
    expect(r.ok && r.record.message).toBe('a\ufffdb\ufffdc\u{1f600}');
    expect(r.ok && JSON.parse(r.record.attrs)).toEqual({ x: { 'y\ufffd': '\ufffd' }, z: '\ufffd\ufffd' });
    // The object path (protocols that decode into objects) repairs the same way.
    const ref = normaliseObject(JSON.parse('{"msg":"a\\ud800","x":"\\udc00"}'), ctx);
    expect(ref.ok && decodeRows(rowsOf([ref.record]))[0]).toMatchObject({ message: 'a\ufffd', attrs: '{"x":"\\ufffd"}' });
  });

  it('refuses timestamps outside the years 1 to 9999', () => {
    for (const ts of ['1e30', '-1e30', '-99999999999', '"9999-12-31T23:59:59-01:00"', '"0000-06-01T00:00:00Z"', '"10000-01-01T00:00:00Z"']) {
      const r = encode(`{"ts":${ts}}`);
      expect(r.ok, ts).toBe(false);
    }
    expect(encode('{"ts":"9999-12-31T23:59:59.999999Z"}')).toMatchObject({ ok: true, record: { ts: 253_402_300_799_999_999n } });
    expect(encode('{"ts":"0001-01-01T00:00:00Z"}')).toMatchObject({ ok: true, record: { ts: -62_135_596_800_000_000n } });
  });

  it('names the column of a syntax error and the field of a bad timestamp', () => {
    expect(encode('{"a":1,}')).toEqual({ ok: false, error: "invalid JSON at column 8: expected a member name in double quotes" });
    expect(encode('[1]')).toEqual({ ok: false, error: 'expected a JSON object, got an array' });
    expect(encode('{"time":"yesterday"}')).toEqual({ ok: false, error: 'invalid timestamp "yesterday" in field "time"' });
  });

  it('on 20,000 random objects and their mutations', () => {
    const r = rng(42);
    const junk = ['', ',', '}', '{', '"', ':', '\\', ' ', 'x', '0', '-', '.', 'e', '[', ']', '\u0001', '\t'];
    for (let i = 0; i < 10_000; i++) {
      const obj = randomValue(r, 0) as unknown;
      const root = typeof obj === 'object' && obj !== null && !Array.isArray(obj) ? obj : { v: obj, ts: 1_700_000_000 };
      const line = JSON.stringify(root, null, r() < 0.1 ? '\t' : undefined).replace(/\n/g, ' ');
      const d = DEFAULTS[Math.floor(r() * DEFAULTS.length)];
      check(line, d);
      // A mutation: replace, insert or delete one character.
      const at = Math.floor(r() * line.length);
      const piece = junk[Math.floor(r() * junk.length)]!;
      const mutated = r() < 0.5 ? line.slice(0, at) + piece + line.slice(at + 1) : line.slice(0, at) + piece + line.slice(at);
      check(mutated, d);
    }
  });
});

describe('message keys', () => {
  it('take a Fluent Bit line from `log`, and leave an Elastic Common Schema `log` object to its fields', () => {
    const fluent = encode('{"log":"GET /health 200","stream":"stdout","time":"2026-11-30T08:00:00.5Z"}');
    expect(fluent).toMatchObject({ ok: true, record: { message: 'GET /health 200', ts: BigInt(Date.parse('2026-11-30T08:00:00.5Z')) * 1000n, attrs: '{"stream":"stdout"}' } });
    check('{"log":"GET /health 200","stream":"stdout","time":"2026-11-30T08:00:00.5Z"}');
    // A message of higher rank wins; `log` stays in attrs.
    check('{"log":"raw line","msg":"parsed","level":"warn"}');
    expect(encode('{"log":"raw line","msg":"parsed"}')).toMatchObject({ record: { message: 'parsed', attrs: '{"log":"raw line"}' } });
    const ecs = encode('{"message":"m","log":{"level":"error","logger":"app"}}');
    expect(ecs).toMatchObject({ record: { message: 'm', level: 'error', attrs: '{"log":{"logger":"app"}}' } });
    check('{"message":"m","log":{"level":"error","logger":"app"}}');
  });

  it('are what ingest.message_keys sets, for the byte encoder and the reference alike', () => {
    try {
      setMessageKeys(['body', 'msg']);
      expect(encode('{"message":"not this","body":"this"}')).toMatchObject({ record: { message: 'this', attrs: '{"message":"not this"}' } });
      check('{"message":"not this","body":"this"}');
      check('{"msg":"second","log":"no longer a message"}');
      expect(encode('{"msg":"second","log":"no longer a message"}')).toMatchObject({ record: { message: 'second' } });
    } finally {
      setMessageKeys(FIELD_ALIASES.message);
    }
    expect(encode('{"message":"back","body":"attrs again"}')).toMatchObject({ record: { message: 'back' } });
  });

  it('refuse names that are dotted, repeated or another field\'s', () => {
    expect(messageKeyProblems(['message', 'msg'])).toEqual([]);
    expect(messageKeyProblems([])).toEqual(['ingest.message_keys: between 1 and 16 names']);
    expect(messageKeyProblems(['a.b', 'x', 'x', 'level'])).toEqual([
      'ingest.message_keys: "a.b" is not a top-level member name (no dots, not empty)',
      'ingest.message_keys: "x" is listed twice',
      'ingest.message_keys: "level" already names the record\'s level',
    ]);
    expect(() => setMessageKeys(['ts'])).toThrow(/"ts" already names the record's ts/);
  });
});

describe('shadowed defaults', () => {
  const labels: RecordDefaults = {
    service: 'api',
    host: 'web-1',
    level: 'info',
    attrs: { env: 'prod' },
    shadow: [
      { field: 'service', key: 'job', value: 'api' },
      { field: 'host', key: 'host', value: 'web-1' },
      { field: 'level', key: 'level', value: 'INFO' },
    ],
  };

  it('keep a label the record overrides in attrs, under its name, in both implementations', () => {
    expect(encode('{"host":"own","level":"error","msg":"x"}', labels)).toMatchObject({
      record: { service: 'api', host: 'own', level: 'error', attrs: '{"env":"prod","host":"web-1","level":"INFO"}' },
    });
    for (const line of [
      '{"host":"own","level":"error","msg":"x"}',
      '{"msg":"nothing overridden"}',
      '{"hostname":"own-2","job":"the record\'s job","service":"svc"}',
      '{"level":"nonsense","host":null}',
      '{"host":{"name":"nested"},"env":"dev"}',
      '{"host":"web-1","level":"info","msg":"the same values as the labels"}',
    ]) check(line, labels);
    // The same value as the label's: nothing to keep.
    expect(encode('{"host":"web-1","level":"info"}', labels)).toMatchObject({ record: { host: 'web-1', level: 'info', attrs: '{"env":"prod"}' } });
    // The record's own member of the label's name wins: no shadow then.
    expect(encode('{"service":"svc","job":"mine"}', labels)).toMatchObject({ record: { service: 'svc', attrs: '{"env":"prod","job":"mine"}' } });
  });

  it('compare a value with escapes as the string it spells, not as its bytes', () => {
    // `\u0061pi` is "api"; a lone surrogate is the label's U+FFFD once both are made text.
    expect(encode('{"service":"\\u0061pi","host":"web-\\u0031"}', labels)).toMatchObject({ record: { service: 'api', host: 'web-1', attrs: '{"env":"prod"}' } });
    const lone: RecordDefaults = { service: '\udfff', shadow: [{ field: 'service', key: 'service_name', value: '\udfff' }] };
    for (const line of ['{"service":"\\u0041"}', '{"service":"\\\\udfff"}']) check(line, lone);
    expect(encode('{"service":"\\udfff"}', lone)).toMatchObject({ record: { service: '\ufffd', attrs: '{}' } });
    expect(encode('{"service":"\\ud800x"}', lone)).toMatchObject({ record: { attrs: '{"service_name":"\\ufffd"}' } });
  });
});
