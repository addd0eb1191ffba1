// The byte decoder of OTLP/JSON logs (logs-json.ts) against the object decoder it stands in for
// (parseOtlpJson, logs-body.ts), which is the spec: for generated ExportLogsServiceRequest bodies
// — every AnyValue kind in its usual and its odd spellings, members missing, repeated, misspelt
// or of the wrong type, bad times and ids, special attribute keys, escapes, unicode, whitespace —
// for byte mutations of them, and for hand-picked edge cases, both give the same rows byte for
// byte, the same refusals with the same reasons, or the same error.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLhError } from '../../errors.js';
import { decodeRows } from '../../store/row-format.js';
import { CTX, fuzzBody, levelWord, text } from '../../../test/fuzz/arbitraries.js';
import { parseOtlpJson, MAX_REASONS, type ParsedLogs } from './logs-body.js';
import { parseOtlpJsonBytes } from './logs-json.js';

// ---- JSON documents whose spelling the test controls ----

/** A number written exactly as given (`1E400`, `-0`, `1.50`). */
class Raw {
  constructor(readonly text: string) {}
}

/** An object as its members in order, so that a name may be given twice. */
class Obj {
  constructor(readonly members: [string, Json][]) {}
}

type Json = string | number | boolean | null | Raw | Obj | Json[];

const obj = (members: [string, Json][]) => new Obj(members);

/** How a document is spelt: how often a character is escaped needlessly, and whitespace put between tokens. */
interface Spelling {
  escapes: number;
  blanks: number;
  seed: number;
}

const spelling: fc.Arbitrary<Spelling> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ escapes: 0, blanks: 0, seed: 1 }) },
  { weight: 2, arbitrary: fc.record({ escapes: fc.constantFrom(0, 0.05, 0.3), blanks: fc.constantFrom(0, 0.1, 0.5), seed: fc.integer() }) },
);

/** A small deterministic random source (mulberry32), so that a spelling shrinks and replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function spell(doc: Json, how: Spelling): Buffer {
  const rnd = random(how.seed);
  const hex4 = (u: number) => {
    const h = u.toString(16).padStart(4, '0');
    return `\\u${rnd() < 0.5 ? h : h.toUpperCase()}`;
  };
  const blank = () => (how.blanks > 0 && rnd() < how.blanks ? [' ', '\t', '\n', '\r', '  '][Math.floor(rnd() * 5)]! : '');
  const str = (s: string): string => {
    let out = '"';
    for (let i = 0; i < s.length; i++) {
      const u = s.charCodeAt(i);
      const c = s[i]!;
      const needless = how.escapes > 0 && rnd() < how.escapes;
      if (u >= 0xd800 && u <= 0xdfff) {
        // A surrogate: half of a pair may be written raw with its other half, a lone one only escaped.
        const pair = u <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
        if (pair && !needless) {
          out += s.slice(i, i + 2);
          i++;
        } else {
          out += hex4(u);
        }
      } else if (c === '"' || c === '\\') {
        out += needless ? hex4(u) : `\\${c}`;
      } else if (u < 0x20) {
        const short = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' }[u];
        out += short !== undefined && rnd() < 0.7 ? short : hex4(u);
      } else if (needless) {
        out += c === '/' && rnd() < 0.5 ? '\\/' : hex4(u);
      } else {
        out += c;
      }
    }
    return `${out}"`;
  };
  const write = (v: Json): string => {
    if (v instanceof Raw) return v.text;
    if (v instanceof Obj) return `{${blank()}${v.members.map(([k, x]) => `${str(k)}${blank()}:${blank()}${write(x)}`).join(`${blank()},${blank()}`)}${blank()}}`;
    if (Array.isArray(v)) return `[${blank()}${v.map(write).join(`${blank()},${blank()}`)}${blank()}]`;
    if (typeof v === 'string') return str(v);
    return JSON.stringify(v);
  };
  return Buffer.from(`${blank()}${write(doc)}${blank()}`);
}

// ---- OTLP parts, usual and odd ----

const SPECIAL_KEYS = [
  'category', 'code.file.path', 'code.filepath', 'code.line.number', 'code.lineno', 'code.function.name', 'code.function',
  'service.name', 'host.name', '__proto__',
];
/** Keys of members a record adds to attrs itself. */
const ADDED_KEYS = ['severity_text', 'body', 'event_name', 'flags', 'resource', 'scope'];

const key: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('a', 'b', 'http.route', 'user.id', 'x_1') },
  { weight: 4, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom(...ADDED_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom('0', '1', '42', '01', '', '-1', '1e3') },
  { weight: 3, arbitrary: text(6) },
);

/** Strings for values: plain, hostile (quotes, controls, lone surrogates, emoji), level words. */
const str: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 2, arbitrary: text(10) },
  { weight: 1, arbitrary: levelWord.map(([w]) => w) },
  { weight: 1, arbitrary: fc.constantFrom('', 'f.py', 'main', '12', '-0', '9007199254740993') },
);

/** JSON numbers in the spellings senders use. */
const number: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -1000, max: 100_000 }) },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((d) => Math.round(d * 100) / 100) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => new Raw(String(n))) },
);

/** …and in spellings they seldom use. */
const oddNumber: fc.Arbitrary<Json> = fc.constantFrom(
  ...['-0', '0.0', '1.50', '1E2', '1e400', '-1e400', '1e-7', '0.000001', '0.0000001', '123456789012345678', '9007199254740993', '1.0e0', '100000000000000000000000', '5e-324', '0.1234567890123456'].map(
    (t) => new Raw(t),
  ),
);

const intString: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) },
  { weight: 2, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '-1', '9007199254740991', '9007199254740992', '123456789012345') },
);

/**
 * ExportLogsServiceRequest bodies. With `odd` 0 every part has its usual kind and spelling (what
 * is in them is anything: hostile strings, every AnyValue kind, special keys); with `odd` n, about
 * n in 12 parts have another kind or spelling, and n in 40 structural parts one that fails the
 * whole request.
 */
function otlpBodies(odd: number): fc.Arbitrary<Buffer> {
  /** Mostly the usual kind of a thing, sometimes an odd one. */
  const mostly = <T>(usual: fc.Arbitrary<T>, ...others: fc.Arbitrary<T>[]): fc.Arbitrary<T> =>
    odd === 0 ? usual : fc.oneof({ weight: 12, arbitrary: usual }, ...others.map((arbitrary) => ({ weight: odd, arbitrary })));
  /** Nearly always the usual kind (parts whose odd kinds fail the whole request). */
  const nearly = <T>(usual: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    odd === 0 ? usual : fc.oneof({ weight: 40, arbitrary: usual }, { weight: odd, arbitrary: other });

  const anyValue: fc.Arbitrary<Json> = fc.letrec<{ any: Json; kvs: Json }>((tie) => ({
    any: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 4, arbitrary: str.map((s) => obj([['stringValue', s]])) },
      { weight: 1, arbitrary: fc.boolean().map((b) => obj([['boolValue', b]])) },
      { weight: 2, arbitrary: mostly(fc.oneof(intString, number), oddNumber, fc.constantFrom<Json>('007', '-0', '1.5', 'abc', '', '-', '1'.repeat(23))).map((n) => obj([['intValue', n]])) },
      { weight: 2, arbitrary: mostly(number, oddNumber, fc.constantFrom<Json>('NaN', 'Infinity', '-Infinity', '1.5', '', 'x', true, null, [3])).map((n) => obj([['doubleValue', n]])) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 6 }).map((b) => obj([['bytesValue', Buffer.from(b).toString('base64')]])) },
      { weight: 1, arbitrary: fc.array(tie('any'), { maxLength: 3 }).map((values) => obj([['arrayValue', obj([['values', values]])]])) },
      { weight: 1, arbitrary: tie('kvs').map((values) => obj([['kvlistValue', obj([['values', values]])]])) },
      {
        weight: 1,
        arbitrary: mostly(
          fc.constantFrom<Json>(obj([]), obj([['arrayValue', obj([])]]), obj([['kvlistValue', obj([['values', null]])]])),
          fc.constantFrom<Json>(
            obj([['stringValue', null]]),
            obj([['stringValue', 5]]),
            obj([['boolValue', 'true']]),
            obj([['boolValue', null]]),
            obj([['arrayValue', null]]),
            obj([['arrayValue', obj([['values', [1]]])]]),
            obj([['kvlistValue', 5]]),
            obj([['kvlistValue', obj([['values', [obj([['key', 'k']])]]])]]),
            obj([['stringValue', 'a'], ['intValue', 1]]),
            obj([['intValue', 1], ['stringValue', 'a']]),
            obj([['stringValue', 'a'], ['stringValue', 'b']]),
            obj([['unknown', 1], ['stringValue', 'a']]),
            obj([['bytesValue', 5]]),
            obj([['intValue', 'abc']]),
          ),
        ),
      },
    ),
    kvs: fc.array(keyValue(tie('any')), { maxLength: 3 }),
  })).any;

  function keyValue(value: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
    return mostly(
      fc.tuple(key, value).map(([k, v]) => obj([['key', k], ['value', v]])),
      fc.tuple(key, value).map(([k, v]) => obj([['value', v], ['key', k]])),
      key.map((k) => obj([['key', k]])),
      key.map((k) => obj([['key', k], ['value', null]])),
      fc.constantFrom<Json>(obj([['value', obj([['stringValue', 'x']])]]), obj([['key', 5], ['value', obj([])]]), obj([['key', 'k'], ['value', 'x']]), 5, null),
      fc.tuple(key, key, value).map(([k, k2, v]) => obj([['key', k], ['key', k2], ['value', v], ['droppedAttributesCount', 0]])),
    );
  }

  const attributes = (max: number): fc.Arbitrary<Json> => mostly(fc.array(keyValue(anyValue), { maxLength: max }), fc.constantFrom<Json>(null, 'x', obj([]), [], [5]));

  const nanos: fc.Arbitrary<Json> = mostly(
    fc.oneof(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_900_000_000_000_000_000n })).map(String),
    fc.constantFrom<Json>('0', '', '000', '999', '0001', '18446744073709551615', '18446744073709551616', '123456789012345678901', 'abc', '-5', '1.5', ' 1'),
    fc.constantFrom<Json>(0, 5, 1.5, -1, 1795478400000000000, new Raw('1795478400000000000.0'), new Raw('1e18'), true, null, obj([]), []),
  );

  const hexId = (bytes: number): fc.Arbitrary<Json> =>
    mostly(
      fc.tuple(fc.uint8Array({ minLength: bytes, maxLength: bytes }), fc.boolean()).map(([b, upper]) => (upper ? Buffer.from(b).toString('hex').toUpperCase() : Buffer.from(b).toString('hex'))),
      fc.constantFrom<Json>('', '0'.repeat(bytes * 2), 'abc', 'xyz', 'ABCDEFabcdef0123', 5, null, true, obj([])),
    );

  const severityNumber: fc.Arbitrary<Json> = mostly(
    fc.integer({ min: 1, max: 24 }),
    fc.constantFrom<Json>(0, 25, -1, 9.5, new Raw('9.0'), new Raw('1e1'), 'SEVERITY_NUMBER_WARN', 'SEVERITY_NUMBER_ERROR3', '13', '013', 'x', '', true, null, obj([])),
  );

  const flags: fc.Arbitrary<Json> = mostly(
    fc.constantFrom<Json>(0, 1, 257),
    fc.constantFrom<Json>('1', '0x10', 'abc', true, false, [5], [], 1.5, -1, new Raw('-0'), new Raw('1e400'), new Raw('1.0'), 'Infinity', null, obj([])),
  );

  /** Members of a log record, each present or not, in any order; now and then in snake_case or given twice. */
  const logRecord: fc.Arbitrary<Json> = fc
    .record(
      {
        timeUnixNano: nanos,
        observedTimeUnixNano: nanos,
        severityNumber,
        severityText: mostly(fc.oneof(levelWord.map(([w]) => w), str), fc.constantFrom<Json>(5, null, true)),
        body: mostly(fc.oneof({ weight: 3, arbitrary: str.map((s) => obj([['stringValue', s]])) }, { weight: 1, arbitrary: anyValue }), fc.constantFrom<Json>(null, 'plain', 5, [])),
        attributes: attributes(5),
        traceId: hexId(16),
        spanId: hexId(8),
        flags,
        eventName: mostly(str, fc.constantFrom<Json>(5, null)),
        droppedAttributesCount: fc.constant(0),
      },
      { requiredKeys: [] },
    )
    .chain((r) => {
      const members = Object.entries(r) as [string, Json][];
      const changes = odd === 0 ? fc.constant([]) : fc.array(fc.tuple(fc.nat(), fc.constantFrom('snake', 'again', 'both')), { maxLength: 2 });
      return fc.tuple(fc.shuffledSubarray(members, { minLength: members.length }), changes);
    })
    .map(([members, changes]) => {
      const out = [...members];
      for (const [at, change] of changes) {
        if (out.length === 0) break;
        const [name, value] = out[at % out.length]!;
        const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        if (change === 'snake') out[at % out.length] = [snake, value];
        else if (change === 'again') out.push([name, value]);
        else out.push([snake, value]);
      }
      return obj(out);
    });

  const stringValue = str.map((s) => obj([['stringValue', s]]));
  const resource: fc.Arbitrary<Json> = mostly(
    fc
      .tuple(fc.option(mostly(stringValue, anyValue), { nil: undefined }), fc.option(stringValue, { nil: undefined }), fc.array(keyValue(anyValue), { maxLength: 3 }))
      .map(([service, host, rest]) =>
        obj([
          [
            'attributes',
            [
              ...(service !== undefined ? [obj([['key', 'service.name'], ['value', service]])] : []),
              ...rest,
              ...(host !== undefined ? [obj([['key', 'host.name'], ['value', host]])] : []),
            ],
          ],
          ['droppedAttributesCount', 0],
        ]),
      ),
    nearly(fc.array(keyValue(anyValue), { maxLength: 3 }), attributes(3)).map((a) => obj([['attributes', a]])),
    fc.constantFrom<Json>(null, 5, obj([]), obj([['attributes', null]])),
  );

  const scope: fc.Arbitrary<Json> = mostly(
    fc
      .record(
        { name: mostly(str, fc.constantFrom<Json>(5, null)), version: mostly(str, fc.constantFrom<Json>(5, null)), attributes: nearly(fc.array(keyValue(anyValue), { maxLength: 2 }), attributes(2)) },
        { requiredKeys: [] },
      )
      .map((sc) => obj(Object.entries(sc) as [string, Json][])),
    fc.constantFrom<Json>(null, 5, obj([])),
  );

  /** A list of parts: an array, nearly always, else null or something that is no list of objects. */
  const list = (part: fc.Arbitrary<Json>, max: number): fc.Arbitrary<Json> =>
    nearly(fc.array(part, { maxLength: max }), fc.constantFrom<Json>(null, 5, obj([]), [5], [null], 'x'));

  /** An object's members in order; now and then reversed, with a name given twice, in snake_case, or after another. */
  const members = (pairs: fc.Arbitrary<[string, Json][]>): fc.Arbitrary<Json> =>
    fc.tuple(pairs, fc.nat(odd === 0 ? 0 : 40)).map(([m, how]) => {
      if (odd === 0) return obj(m);
      if (how === 0) return obj([...m].reverse());
      if (how === 1 && m.length > 0) return obj([...m, m[0]!]);
      if (how === 2 && m.length > 0) return obj([...m, [m[0]![0].replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), m[0]![1]]]);
      if (how === 3) return obj([['schemaUrl', 'https://x'], ...m]);
      return obj(m);
    });

  const scopeLogs = members(
    fc
      .tuple(fc.option(scope, { nil: undefined }), list(logRecord, 4))
      .map(([sc, records]): [string, Json][] => [...(sc !== undefined ? ([['scope', sc]] as [string, Json][]) : []), ['logRecords', records]]),
  );
  const resourceLogs = members(
    fc
      .tuple(fc.option(resource, { nil: undefined }), list(scopeLogs, 2))
      .map(([r, scopes]): [string, Json][] => [...(r !== undefined ? ([['resource', r]] as [string, Json][]) : []), ['scopeLogs', scopes]]),
  );
  const request = members(list(resourceLogs, 3).map((rl): [string, Json][] => [['resourceLogs', rl]]));
  return fc.tuple(request, spelling).map(([doc, how]) => spell(doc, how));
}

// ---- the comparison ----

interface Outcome {
  records?: unknown[];
  rows?: string;
  count?: number;
  longestRow?: number;
  rejected?: number;
  errorMessage?: string;
  error?: string;
}

function outcome(parse: (b: Buffer) => ParsedLogs, body: Buffer): Outcome {
  let parsed: ParsedLogs;
  try {
    parsed = parse(Buffer.from(body));
  } catch (e) {
    return { error: isLhError(e) ? `${e.code} (${e.status}): ${e.message}` : `not an LhError: ${String(e)}` };
  }
  const { batch, rejected, errorMessage } = parsed;
  const rows = batch.bytes.toString('latin1');
  return { records: decodeRows(batch), rows, count: batch.count, longestRow: batch.longestRow, rejected, errorMessage };
}

/** Both decoders give the same for `body`: the records (for a readable difference), then every byte. */
function expectSameAsObjects(body: Buffer): Outcome {
  const expected = outcome((b) => parseOtlpJson(b, CTX), body);
  const actual = outcome((b) => parseOtlpJsonBytes(b, CTX), body);
  if (JSON.stringify(actual, bigints) !== JSON.stringify(expected, bigints)) {
    expect({ body: body.toString('utf8'), ...actual }).toEqual({ body: body.toString('utf8'), ...expected });
  }
  return expected;
}

const bigints = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

const RUNS = 10_000;

describe('parseOtlpJsonBytes gives what parseOtlpJson gives', () => {
  /** Runs the property and returns how many rows, refusals and errors the bodies made. */
  function compare(bodies: fc.Arbitrary<Buffer>): { rows: number; rejected: number; errors: number } {
    const seen = { rows: 0, rejected: 0, errors: 0 };
    fc.assert(
      fc.property(bodies, (b) => {
        const o = expectSameAsObjects(b);
        if (o.error !== undefined) seen.errors++;
        seen.rows += o.count ?? 0;
        seen.rejected += o.rejected ?? 0;
      }),
      { numRuns: RUNS },
    );
    return seen;
  }

  it(`for ${RUNS} requests of the usual shapes (anything in them): the same rows byte for byte`, () => {
    const seen = compare(otlpBodies(0));
    expect(seen.rows).toBeGreaterThan(2 * RUNS);
    expect(seen.errors).toBe(0);
  }, 600_000);

  it(`for ${RUNS} requests with odd parts: the same rows, refusals and reasons, or error`, () => {
    const seen = compare(otlpBodies(2));
    expect(seen.rows).toBeGreaterThan(RUNS / 2);
    expect(seen.rejected).toBeGreaterThan(RUNS / 5);
    expect(seen.errors).toBeGreaterThan(RUNS / 50);
  }, 600_000);

  it(`for ${RUNS} mutated, spliced and random bodies`, () => {
    const tokens = ['{"resourceLogs":[', '{"scopeLogs":[', '{"logRecords":[', '{"body":{"stringValue":"x"}}', '"timeUnixNano":"1"', '"attributes":[{"key":"k","value":', '{"intValue":"1"}', '{"kvlistValue":{"values":[', '"traceId":"ab"', ']', '}', '{', ',', '"', ':', 'null', '\\u', '\\ud800'];
    compare(fuzzBody(otlpBodies(1), tokens));
  }, 600_000);
});

// ---- hand-picked cases ----

const rec = (members: string) => `{"resourceLogs":[{"scopeLogs":[{"logRecords":[${members}]}]}]}`;
const attr = (value: string, k = 'a') => rec(`{"attributes":[{"key":"${k}","value":${value}}]}`);

const CASES: Record<string, string> = {
  'an empty body': '',
  'whitespace': ' \n',
  '{}': '{}',
  'a byte order mark': '\ufeff{}',
  'an array': '[]',
  'a number': '5',
  'a string': '"x"',
  'null': 'null',
  'text after the object': '{} x',
  'two objects': '{}{}',
  'resourceLogs null': '{"resourceLogs":null}',
  'resourceLogs not a list': '{"resourceLogs":{}}',
  'resourceLogs with a number': '{"resourceLogs":[5]}',
  'resource_logs': '{"resource_logs":[{"scope_logs":[{"log_records":[{"body":{"stringValue":"snake"}}]}]}]}',
  'both spellings': '{"resource_logs":[{"scopeLogs":[{"logRecords":[{}]}]}],"resourceLogs":null}',
  'resourceLogs twice': '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}],"resourceLogs":[]}',
  'a resource after its scopeLogs': '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]},"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s"}}]}}]}',
  'a scope after its logRecords': '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}],"scope":{"name":"late"}}]}]}',
  'an empty record': rec('{}'),
  'a record that is a number': rec('5'),
  'a record with everything': rec(
    '{"timeUnixNano":"1795478400123456789","observedTimeUnixNano":"1795478400999999999","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"boom"},"attributes":[{"key":"code.file.path","value":{"stringValue":"a.ts"}},{"key":"code.line.number","value":{"intValue":"12"}},{"key":"code.function.name","value":{"stringValue":"f"}},{"key":"category","value":{"stringValue":"audit"}},{"key":"x","value":{"doubleValue":0.5}}],"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","flags":1,"eventName":"ev","droppedAttributesCount":0}',
  ),
  'observed time only': rec('{"observedTimeUnixNano":"1795478400000000000"}'),
  'a zero time and an observed time': rec('{"timeUnixNano":"0","observedTimeUnixNano":"1795478400000000000"}'),
  'a time under 1 µs': rec('{"timeUnixNano":"999"}'),
  'the largest time': rec('{"timeUnixNano":"18446744073709551615"}'),
  'a time past uint64': rec('{"timeUnixNano":"18446744073709551616"}'),
  'a time of 21 digits': rec('{"timeUnixNano":"000000000000000000001"}'),
  'a time past 2^53 µs': rec('{"timeUnixNano":"9007199254740993000"}'),
  'a time as a number': rec('{"timeUnixNano":1795478400000000000}'),
  'a time with an exponent': rec('{"timeUnixNano":1.7954784e18}'),
  'a negative time': rec('{"timeUnixNano":-1}'),
  'a time that is text': rec('{"timeUnixNano":"soon"}'),
  'a bad observed time beside a good time': rec('{"timeUnixNano":"1","observedTimeUnixNano":"x"}'),
  'a time escaped': rec('{"timeUnixNano":"\\u0031\\u0032"}'),
  'a bad trace id': rec('{"traceId":"xyz"}'),
  'a trace id of zeros': rec('{"traceId":"00000000000000000000000000000000","spanId":"0000000000000000"}'),
  'an odd-length id': rec('{"traceId":"abc","spanId":"A"}'),
  'an id that is a number': rec('{"spanId":5}'),
  'an id escaped': rec('{"traceId":"\\u0061bc"}'),
  'severity text only': rec('{"severityText":"warning"}'),
  'severity text unknown': rec('{"severityText":"LOUD"}'),
  'severity text escaped': rec('{"severityText":"\\u0057ARN"}'),
  'severity number and unknown text': rec('{"severityNumber":9,"severityText":"LOUD"}'),
  'severity number out of range': rec('{"severityNumber":25,"severityText":"debug"}'),
  'severity number as a name': rec('{"severityNumber":"SEVERITY_NUMBER_FATAL2"}'),
  'severity number as text': rec('{"severityNumber":"10"}'),
  'severity number 9.0': rec('{"severityNumber":9.0}'),
  'severity_number in snake_case': rec('{"severity_number":13,"severity_text":"x"}'),
  'severityNumber null, severity_number given': rec('{"severityNumber":null,"severity_number":5}'),
  'a body that is a string': rec('{"body":"plain"}'),
  'a body of null': rec('{"body":null}'),
  'a body of {}': rec('{"body":{}}'),
  'a body of bytes': rec('{"body":{"bytesValue":"AAEC"}}'),
  'a body of a big int': rec('{"body":{"intValue":"12345678901234567890"}}'),
  'a body of an int': rec('{"body":{"intValue":"42"}}'),
  'a body given twice': rec('{"body":{"stringValue":"a"},"body":{"intValue":1}}'),
  'a kvlist body': rec('{"body":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":1},{"doubleValue":2.5},{"boolValue":false},{},{"kvlistValue":{"values":[]}}]}}},{"key":"a","value":{"stringValue":"again"}}]}}}'),
  'every AnyValue kind as attributes': rec(
    '{"attributes":[{"key":"s","value":{"stringValue":"x"}},{"key":"b","value":{"boolValue":true}},{"key":"i","value":{"intValue":"-42"}},{"key":"i2","value":{"intValue":7}},{"key":"d","value":{"doubleValue":3.25}},{"key":"y","value":{"bytesValue":"AAE="}},{"key":"arr","value":{"arrayValue":{"values":[{"stringValue":"q"}]}}},{"key":"kv","value":{"kvlistValue":{"values":[{"key":"n","value":{"intValue":"1"}}]}}},{"key":"nil"},{"key":"nil2","value":null},{"key":"empty","value":{}}]}',
  ),
  'an intValue past 2^53': attr('{"intValue":"9007199254740993"}'),
  'an intValue of 16 digits': attr('{"intValue":"9007199254740991"}'),
  'an intValue with leading zeros': attr('{"intValue":"007"}'),
  'an intValue of -0': attr('{"intValue":"-0"}'),
  'an intValue that is no integer': attr('{"intValue":"1.5"}'),
  'an intValue number with a fraction': attr('{"intValue":1.5}'),
  'an intValue past 1e21': attr('{"intValue":1e21}'),
  'a doubleValue of NaN': attr('{"doubleValue":"NaN"}'),
  'a doubleValue of Infinity': attr('{"doubleValue":"Infinity"}'),
  'a doubleValue past the doubles': attr('{"doubleValue":1e400}'),
  'a doubleValue of 17 digits': attr('{"doubleValue":0.30000000000000004}'),
  'a doubleValue 1.50': attr('{"doubleValue":1.50}'),
  'a doubleValue -0': attr('{"doubleValue":-0}'),
  'a doubleValue 1E2': attr('{"doubleValue":1E2}'),
  'a tiny doubleValue': attr('{"doubleValue":0.0000001}'),
  'a doubleValue as text': attr('{"doubleValue":"2.5"}'),
  'a boolValue that is text': attr('{"boolValue":"true"}'),
  'a stringValue of null': attr('{"stringValue":null}'),
  'two kinds in one value': attr('{"stringValue":"a","intValue":1}'),
  'an arrayValue of a number': attr('{"arrayValue":{"values":[1]}}'),
  'a value that is a string': attr('"x"'),
  'a key that is a number': rec('{"attributes":[{"key":5,"value":{"stringValue":"x"}}]}'),
  'a key missing': rec('{"attributes":[{"value":{"stringValue":"x"}}]}'),
  'attributes that are no list': rec('{"attributes":{}}'),
  'attributes with a number': rec('{"attributes":[5]}'),
  'attributes given twice': rec('{"attributes":[{"key":"a","value":{"intValue":1}}],"attributes":[{"key":"b","value":{"intValue":2}}]}'),
  'a key given twice': rec('{"attributes":[{"key":"a","value":{"intValue":1}},{"key":"b","value":{"intValue":2}},{"key":"a","value":{"intValue":3}}]}'),
  'keys that are array indexes': rec('{"attributes":[{"key":"b","value":{"intValue":1}},{"key":"10","value":{"intValue":2}},{"key":"2","value":{"intValue":3}}]}'),
  'a key escaped': attr('{"stringValue":"x"}', 'k\\u00e9y'),
  'a key with a quote': attr('{"stringValue":"x"}', 'a\\"b'),
  'a key __proto__': attr('{"stringValue":"x"}', '__proto__'),
  'an attribute named body beside a kvlist body': rec('{"body":{"intValue":1},"attributes":[{"key":"body","value":{"stringValue":"attr"}},{"key":"z","value":{"intValue":2}}]}'),
  'an attribute named resource': '{"resourceLogs":[{"resource":{"attributes":[{"key":"r","value":{"intValue":1}}]},"scopeLogs":[{"logRecords":[{"attributes":[{"key":"resource","value":{"intValue":2}}]}]}]}]}',
  'an empty category and a resource category': '{"resourceLogs":[{"resource":{"attributes":[{"key":"category","value":{"stringValue":"res"}}]},"scopeLogs":[{"logRecords":[{"attributes":[{"key":"category","value":{"stringValue":""}}]},{"attributes":[{"key":"category","value":{"intValue":5}}]},{"attributes":[{"key":"category","value":{"stringValue":"own"}}]}]}]}]}',
  'an empty resource category': '{"resourceLogs":[{"resource":{"attributes":[{"key":"category","value":{"stringValue":""}}]},"scopeLogs":[{"logRecords":[{}]}]}]}',
  'a code location without a file': attr('{"intValue":12}', 'code.lineno'),
  'a code location, old names': rec('{"attributes":[{"key":"code.function","value":{"stringValue":"g"}},{"key":"code.lineno","value":{"stringValue":"7"}},{"key":"code.filepath","value":{"stringValue":"b.py"}},{"key":"code.line.number","value":{"boolValue":true}}]}'),
  'both code file names': rec('{"attributes":[{"key":"code.filepath","value":{"stringValue":"old"}},{"key":"code.file.path","value":{"stringValue":"new"}},{"key":"code.lineno","value":{"intValue":1}},{"key":"code.line.number","value":{"intValue":2}}]}'),
  'a code line of 17 digits': rec('{"attributes":[{"key":"code.filepath","value":{"stringValue":"f"}},{"key":"code.lineno","value":{"doubleValue":0.30000000000000004}}]}'),
  'a code line of NaN': rec('{"attributes":[{"key":"code.filepath","value":{"stringValue":"f"}},{"key":"code.lineno","value":{"doubleValue":"NaN"}}]}'),
  'flags of 0': rec('{"flags":0}'),
  'flags as text': rec('{"flags":"3"}'),
  'flags as an array': rec('{"flags":[5]}'),
  'flags of 1.5': rec('{"flags":1.5}'),
  'flags of 1e400': rec('{"flags":1e400}'),
  'an event name': rec('{"eventName":"click","event_name":"ignored"}'),
  'event_name only': rec('{"event_name":"snake"}'),
  'a resource with service and host': '{"resourceLogs":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"h\\tx"}},{"key":"service.name","value":{"stringValue":"s\\u00e9"}},{"key":"k","value":{"intValue":"1"}}]},"scopeLogs":[{"scope":{"name":"n","version":"1","attributes":[{"key":"sa","value":{"boolValue":false}}]},"logRecords":[{"body":{"stringValue":"m"}},{"body":{"stringValue":"m2"}}]}]}]}',
  'a service.name that is no string': '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"intValue":5}},{"key":"k","value":{"intValue":"1"}}]},"scopeLogs":[{"logRecords":[{}]}]}]}',
  'a resource that is a number': '{"resourceLogs":[{"resource":5,"scopeLogs":[{"logRecords":[{}]}]}]}',
  'resource attributes that do not decode': '{"resourceLogs":[{"resource":{"attributes":[{"key":5}]},"scopeLogs":[{"logRecords":[{}]}]}]}',
  'scope attributes that do not decode': '{"resourceLogs":[{"scopeLogs":[{"scope":{"attributes":"x"},"logRecords":[{}]}]}]}',
  'a scope that is null': '{"resourceLogs":[{"scopeLogs":[{"scope":null,"logRecords":[{}]}]}]}',
  'a scope with an escaped name': '{"resourceLogs":[{"scopeLogs":[{"scope":{"name":"\\u0041\\ud800","version":5},"logRecords":[{}]}]}]}',
  'scopes and resources in turn': '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeLogs":[{"scope":{"name":"s1"},"logRecords":[{"body":{"stringValue":"1"}}]},{"logRecords":[{"body":{"stringValue":"2"}}]}]},{"scopeLogs":[{"scope":{"name":"s3"},"logRecords":[{"body":{"stringValue":"3"}}]}]}]}',
  'logRecords with a number': rec('{},5'),
  'logRecords null': '{"resourceLogs":[{"scopeLogs":[{"logRecords":null}]}]}',
  'invalid JSON after good records': '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}],"x":[1,}',
  'invalid JSON inside a record': rec('{"body":{"stringValue":"x"},"attributes":[{"key":"a","value":{"intValue":01}}]}'),
  'a bad escape': rec('{"body":{"stringValue":"\\x"}}'),
  'a raw control character': rec('{"body":{"stringValue":"a\u0001b"}}'),
  'a truncated body': rec('{"body":{"stringValue":"x"}}').slice(0, -3),
  'escapes and unicode in a message': rec('{"body":{"stringValue":"q\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u0000\\u001F\\u007f\\u00e9\\u2028\\uD83D\\uDE00\\ud800\\udc00\\uDC00\\uD800x\\uD800\\uD800\\uDC00é😀"}}'),
  'escapes and unicode in attributes': attr('{"stringValue":"q\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u0000\\u001F\\u007f\\u00e9\\u2028\\uD83D\\uDE00\\ud800\\udc00\\uDC00\\uD800x\\uD800\\uD800\\uDC00é😀"}'),
  'a literal \\ufffd': attr('{"stringValue":"\\ufffd\\uFFFD"}'),
  'escaped member names': '{"resource\\u004cogs":[{"scope\\u004cogs":[{"log\\u0052ecords":[{"time\\u0055nixNano":"1795478400000000000","\\u0062ody":{"string\\u0056alue":"esc"},"attributes":[{"\\u006bey":"k","\\u0076alue":{"int\\u0056alue":"5"}}]}]}]}]}',
  'whitespace everywhere': ' { "resourceLogs" : [ { "scopeLogs" : [ { "logRecords" : [ { "body" : { "stringValue" : "ws" } , "attributes" : [ { "key" : "a" , "value" : { "arrayValue" : { "values" : [ { "intValue" : 1 } ] } } } ] } ] } ] } ] }\n',
  'tabs and newlines between tokens': '{\t"resourceLogs":\n[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"a",\r"value":{"kvlistValue":{"values":[{"key":"b","value":{"stringValue":"c"}}]}}}]}]}]}]}',
  'deep nesting in an unknown member': rec(`{"x":${'['.repeat(3000)}${']'.repeat(3000)},"body":{"stringValue":"deep"}}`),
  'deep AnyValues': attr(`${'{"arrayValue":{"values":['.repeat(70)}{"intValue":1}${']}}'.repeat(70)}`),
  'AnyValues past the limit': attr(`${'{"arrayValue":{"values":['.repeat(140)}{"intValue":1}${']}}'.repeat(140)}`),
};

describe('parseOtlpJsonBytes on edge cases, as parseOtlpJson', () => {
  for (const [name, body] of Object.entries(CASES)) {
    it(name, () => {
      expectSameAsObjects(Buffer.from(body));
    });
  }

  it('on invalid UTF-8 (decoded with U+FFFD)', () => {
    const valid = Buffer.from(rec('{"body":{"stringValue":"ab"},"attributes":[{"key":"k","value":{"stringValue":"cd"}}]}'));
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98]]) {
      for (const at of [valid.indexOf('ab') + 1, valid.indexOf('cd') + 1, valid.indexOf('"k"') + 2, 3]) {
        expectSameAsObjects(Buffer.concat([valid.subarray(0, at), Buffer.from(bad), valid.subarray(at)]));
      }
    }
  });

  it(`with more refusals than MAX_REASONS (${MAX_REASONS}): the reasons, then how many more`, () => {
    const records = Array.from({ length: 2 * MAX_REASONS }, (_, i) => (i % 3 === 0 ? '{"body":{"stringValue":"ok"}}' : `{"timeUnixNano":"bad${i}"}`));
    const o = expectSameAsObjects(Buffer.from(rec(records.join(','))));
    expect(o.errorMessage).toMatch(/; and \d+ more$/);
  });

  it('the same rows for the benchmark-shaped request as the objects give', () => {
    const records = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({
        timeUnixNano: `${1795478400000n + BigInt(i)}000000`,
        severityNumber: 9 + (i % 3) * 4,
        severityText: ['INFO', 'WARN', 'ERROR'][i % 3],
        body: { stringValue: `message ${i} /api/v1/items` },
        attributes: [
          { key: 'req', value: { stringValue: `r${i}` } },
          { key: 'status', value: { intValue: 200 + i } },
          { key: 'duration_ms', value: { doubleValue: i + 0.25 } },
        ],
      }),
    );
    const o = expectSameAsObjects(Buffer.from(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}},{"key":"host.name","value":{"stringValue":"h1"}}]},"scopeLogs":[{"scope":{"name":"app","version":"1.0.0"},"logRecords":[${records.join(',')}]}]}]}`));
    expect(o.count).toBe(50);
  });
});
