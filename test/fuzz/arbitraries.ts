// Generators shared by the parser fuzz tests: hostile text, timestamps in every form the record
// model reads (with the µs each must give), level spellings (with the level each must give), byte
// mutations of valid bodies, and a small protocol-buffers writer — independent of loghaven's
// reader — for the Loki and OTLP bodies.

import fc from 'fast-check';
import type { Level } from '../../src/model/record.js';
import { MAX_MICROS, MIN_MICROS } from '../../src/model/timestamp.js';
import type { NormaliseContext } from '../../src/ingest/common/normalise.js';

/** 2025-07-01T00:00:00Z: every fuzz run receives its bodies then (syslog reads 3164 dates in that year). */
export const CTX: NormaliseContext = { tenant: 'default', receivedAt: 1_751_328_000_000_000n };

/** Runs per parser of the random-and-mutated-bodies property, as the issue asks. */
export const RUNS = 100_000;

/** Runs of each property over structured bodies (valid parts amid bad ones): each run costs more. */
export const PART_RUNS = 10_000;

/** How often (1 in n runs) a body is parsed a second time amid junk bytes. */
export const JUNK_EVERY = 4;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** What a string becomes once encoded as UTF-8: lone surrogates turn into U+FFFD. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

// ---- text ----

/** Characters that break naive parsers: quotes, escapes, separators, controls, lone surrogates. */
const ODD_CHARS = [
  '"', '\\', '\n', '\r', '\t', '\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\u2028', '\ufeff', '\uffff',
  '{', '}', '[', ']', ':', ',', ' ', '=', '<', '>', '-', '\ud800', '\udfff', '\ud83d\ude00', 'é', '\\N', '\\u0000',
];

const oddChar = fc.oneof(fc.constantFrom(...ODD_CHARS), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));

/**
 * Any text: printable ASCII with up to three odd characters or arbitrary code points put in
 * anywhere (cheaper to make than a string of mixed units, and 100,000 runs add up).
 */
export function text(maxLength = 20): fc.Arbitrary<string> {
  return fc.tuple(fc.string({ maxLength }), fc.array(fc.tuple(oddChar, fc.nat()), { maxLength: 3 })).map(([base, odd]) =>
    odd.reduce((s, [c, at]) => s.slice(0, at % (s.length + 1)) + c + s.slice(at % (s.length + 1)), base),
  );
}

/** Text without line breaks (one NDJSON line, one syslog line). */
export function lineText(maxLength = 20): fc.Arbitrary<string> {
  return text(maxLength).map((s) => s.replace(/[\r\n\u0085\u2028]/g, ' '));
}

/** A token that no valid part shares: `#3#` in front of every valid part's message. */
export function tag(i: number): string {
  return `#${i}#`;
}

/** Keys for attrs that are no record field alias and no nested-alias parent. */
export const attrKey = fc.string({ unit: 'grapheme-ascii', maxLength: 8 }).map((k) => `x_${k}`);

/** Small JSON values for attrs (fc.jsonValue is several times dearer, and 100,000 runs add up). */
export const attrValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
);

export const attrs = fc.dictionary(attrKey, attrValue, { maxKeys: 3 });

// ---- levels ----

/** Spellings of levels and the level each must give (SPEC §1: any spelling normalised). */
export const LEVEL_SPELLINGS: readonly (readonly [string | number, Level])[] = [
  ['info', 'info'], ['INFO', 'info'], ['Information', 'info'], ['notice', 'info'], ['I', 'info'],
  ['warn', 'warn'], ['WARNING', 'warn'], ['w', 'warn'], [' Warn ', 'warn'],
  ['error', 'error'], ['ERR', 'error'], ['e', 'error'], ['failure', 'error'],
  ['fatal', 'fatal'], ['CRITICAL', 'fatal'], ['panic', 'fatal'], ['emerg', 'fatal'],
  ['debug', 'debug'], ['DBG', 'debug'], ['trace', 'trace'], ['verbose', 'trace'],
  [10, 'trace'], [20, 'debug'], [30, 'info'], [40, 'warn'], [50, 'error'], [60, 'fatal'], ['50', 'error'],
];
export const levelSpelling = fc.constantFrom(...LEVEL_SPELLINGS);
/** Only the string spellings (label values, severity texts). */
export const levelWord = fc.constantFrom(...LEVEL_SPELLINGS.filter(([s]) => typeof s === 'string') as (readonly [string, Level])[]);

// ---- timestamps ----

/** A timestamp as a client may send it, and the µs it stands for. */
export interface TsForm {
  value: string | number;
  micros: bigint;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** RFC 3339 for `us` (years 1–9999), with `digits` fractional digits (6 exact, more padded). */
export function rfc3339(us: bigint, digits: number, offsetMinutes = 0): string {
  const ms = floorDiv(us, 1000n);
  const sub = us - ms * 1000n;
  const local = new Date(Number(ms) + offsetMinutes * 60_000).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = (local.slice(20, 23) + sub.toString().padStart(3, '0') + '987').slice(0, digits);
  const off =
    offsetMinutes === 0
      ? 'Z'
      : `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, '0')}:${String(Math.abs(offsetMinutes) % 60).padStart(2, '0')}`;
  return `${local.slice(0, 19)}${digits > 0 ? '.' : ''}${frac}${off}`;
}

const YEAR_1000 = -30_610_224_000_000_000n;
const YEAR_9000 = 221_845_392_000_000_000n;

/** Every form of timestamp the shared parser reads, across its whole range. */
export const tsForm: fc.Arbitrary<TsForm> = fc.oneof(
  // RFC 3339 in UTC over years 1–9999, whole seconds to nanoseconds (cut to µs).
  fc.tuple(fc.bigInt({ min: MIN_MICROS, max: MAX_MICROS }), fc.constantFrom(0, 3, 6, 9)).map(([us, d]) => {
    const micros = d >= 6 ? us : d === 3 ? floorDiv(us, 1000n) * 1000n : floorDiv(us, 1_000_000n) * 1_000_000n;
    return { value: rfc3339(micros, d), micros };
  }),
  // With a numeric offset.
  fc.tuple(fc.bigInt({ min: YEAR_1000, max: YEAR_9000 }), fc.integer({ min: -23 * 60, max: 23 * 60 })).map(([us, off]) => ({
    value: rfc3339(us, 6, off),
    micros: us,
  })),
  // Unix seconds, milliseconds, microseconds as JSON numbers (told apart by magnitude).
  fc.bigInt({ min: -62_135_596_800n, max: 99_999_999_999n }).map((s) => ({ value: Number(s), micros: s * 1_000_000n })),
  fc.oneof(fc.bigInt({ min: 100_000_000_000n, max: 99_999_999_999_999n }), fc.bigInt({ min: -62_135_596_800_000n, max: -100_000_000_000n })).map(
    (ms) => ({ value: Number(ms), micros: ms * 1000n }),
  ),
  // µs beyond 2^53 as numbers lose precision in JSON.parse; the byte path keeps them: stay exact.
  fc.bigInt({ min: 100_000_000_000_000n, max: 9_007_199_254_740_991n }).map((us) => ({ value: Number(us), micros: us })),
  // Unix nanoseconds and seconds as numeric strings.
  fc.bigInt({ min: 100_000_000_000_000n, max: MAX_MICROS }).map((us) => ({ value: (us * 1000n).toString(), micros: us })),
  fc.bigInt({ min: 0n, max: 99_999_999_999n }).map((s) => ({ value: s.toString(), micros: s * 1_000_000n })),
);

/** Values no timestamp field may hold: each makes its record invalid. */
export const badTsValue: fc.Arbitrary<unknown> = fc.constantFrom(
  'yesterday',
  '2024-13-01T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '10000-01-01T00:00:00Z',
  '0000-12-31T23:59:59Z',
  '2024-01-01T25:00:00Z',
  '0x10',
  true,
  { at: 1 },
  [1],
  1e300,
  -99_999_999_999_999_999_999,
  '99999999999999999999999',
);

// ---- byte mutations ----

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; length: number };

/** Bytes that mean something to one of the formats. */
const INTERESTING = [0, 1, 9, 10, 13, 32, 34, 44, 45, 48, 49, 58, 60, 62, 91, 92, 93, 123, 125, 0x7f, 0x80, 0xbf, 0xc0, 0xe0, 0xed, 0xef, 0xf0, 0xff];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
);

function applyMutation(b: Buffer, m: Mutation): Buffer {
  const at = b.length === 0 ? 0 : m.at % (b.length + 1);
  switch (m.kind) {
    case 'flip':
      if (at < b.length) b[at] ^= 1 << m.bit;
      return b;
    case 'set':
      if (at < b.length) b[at] = m.byte;
      return b;
    case 'insert':
      return Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
    case 'truncate':
      return Buffer.from(b.subarray(0, at));
    case 'duplicate':
      return Buffer.concat([b.subarray(0, at + m.length), b.subarray(at)]);
  }
}

/** A valid body with one to four byte mutations: flips, interesting bytes, insertions, deletions, cuts. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> {
  return fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([body, ms]) => ms.reduce(applyMutation, Buffer.from(body)));
}

/** The head of one valid body joined to the tail of another. */
export function spliced(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> {
  return fc.tuple(valid, valid, fc.nat(), fc.nat()).map(([a, b, i, j]) =>
    Buffer.concat([a.subarray(0, i % (a.length + 1)), b.subarray(j % (b.length + 1))]),
  );
}

/** Short runs of the format's own tokens in random order: reaches deeper than random bytes. */
export function tokenSoup(tokens: readonly string[]): fc.Arbitrary<Buffer> {
  return fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: text(4) }), { maxLength: 40 }).map((ts) =>
    Buffer.from(ts.join('')),
  );
}

/** The mix every parser gets: mostly mutated valid bodies, some valid, spliced, token soup and random bytes. */
export function fuzzBody(valid: fc.Arbitrary<Uint8Array>, tokens: readonly string[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 2, arbitrary: valid.map((b) => Buffer.from(b)) },
    { weight: 5, arbitrary: mutated(valid) },
    { weight: 1, arbitrary: spliced(valid) },
    { weight: 1, arbitrary: tokenSoup(tokens) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  );
}

/** Positions at which to cut a body into parts (a stream read in chunks). */
export function cuts(length: number, positions: number[]): number[] {
  return [...new Set(positions.map((p) => p % (length + 1)))].sort((a, b) => a - b);
}

/** Parts of `items` interleaved at random: valid ones keep their order, malformed ones go in between. */
export function interleave<V, M>(valid: V[], malformed: M[], slots: number[]): ({ ok: true; part: V } | { ok: false; part: M })[] {
  const out: ({ ok: true; part: V } | { ok: false; part: M })[] = valid.map((part) => ({ ok: true as const, part }));
  malformed.forEach((part, i) => out.splice((slots[i] ?? 0) % (out.length + 1), 0, { ok: false as const, part }));
  return out;
}

// ---- protocol buffers ----

/** A protocol-buffers message writer: just enough of the wire format for Loki and OTLP bodies. */
export class ProtoWriter {
  private readonly bytes: number[] = [];

  varint(v: number | bigint): this {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.bytes.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.bytes.push(Number(n));
    return this;
  }

  key(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  uint(field: number, v: number | bigint): this {
    return this.key(field, 0).varint(v);
  }

  fixed64(field: number, v: bigint): this {
    this.key(field, 1);
    for (let i = 0n; i < 8n; i++) this.bytes.push(Number((BigInt.asUintN(64, v) >> (8n * i)) & 0xffn));
    return this;
  }

  fixed32(field: number, v: number): this {
    this.key(field, 5);
    for (let i = 0; i < 4; i++) this.bytes.push((v >>> (8 * i)) & 0xff);
    return this;
  }

  double(field: number, v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.key(field, 1);
    this.bytes.push(...b);
    return this;
  }

  raw(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(data.length);
    for (const x of data) this.bytes.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.raw(field, Buffer.from(s));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    build(w);
    return this.raw(field, w.finish());
  }

  /** Bytes written as they are (a deliberately broken field). */
  verbatim(data: Iterable<number>): this {
    for (const x of data) this.bytes.push(x);
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.bytes);
  }
}
