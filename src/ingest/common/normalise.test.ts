// normaliseLine (the hot path: scanner + raw attrs) must agree with normaliseObject over
// JSON.parse (the reference) on every input: same accept/reject, same fields, same attrs value.

import { describe, expect, it } from 'vitest';
import { normaliseLine, normaliseObject } from './normalise.js';

const ctx = { tenant: 'default', receivedAt: 1_700_000_000_000_000n };

function reference(line: string) {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false as const };
  }
  return normaliseObject(value, ctx);
}

function check(line: string): void {
  const ref = reference(line);
  const got = normaliseLine(line, 0, line.length, ctx);
  expect(got.ok, line).toBe(ref.ok);
  if (got.ok && ref.ok) {
    const { attrs: a, ...fa } = got.record;
    const { attrs: b, ...fb } = ref.record;
    expect(fa, line).toEqual(fb);
    // Out-of-range numbers stay verbatim in raw attrs where JSON.stringify would write null.
    const finite = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
    expect(JSON.parse(a, finite), line).toEqual(JSON.parse(b));
  }
}

/** Seeded PRNG so a failure reproduces. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const KEYS = ['ts', 'time', '@t', 'level', 'lvl', 'severity', 'msg', 'message', 'service', 'app', 'host', 'trace_id', 'x', 'é', 'a"b', 'n\\u0041'];
function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 2 ? 7 : 9));
  switch (k) {
    case 0: return Math.floor(r() * 1e6) - 5e5;
    case 1: return r() * 1e3;
    case 2: return ['info', 'WARNING', 'E', 'nonsense', '2024-01-02T03:04:05.123456789+02:00', '1700000000', '', 'tab\there "q" \\ é ☃'][Math.floor(r() * 8)];
    case 3: return r() < 0.5;
    case 4: return null;
    case 5: return 1_700_000_000_123 + Math.floor(r() * 1000);
    case 6: return '1700000000123456789';
    case 7: return Object.fromEntries(Array.from({ length: Math.floor(r() * 3) }, () => [KEYS[Math.floor(r() * KEYS.length)], randomValue(r, depth + 1)]));
    default: return Array.from({ length: Math.floor(r() * 3) }, () => randomValue(r, depth + 1));
  }
}

describe('normaliseLine agrees with JSON.parse + normaliseObject', () => {
  it('on hand-picked lines', () => {
    for (const line of [
      '{}',
      ' { "ts" : 1700000000 , "msg":"a\\nb", "x": [1, {"y": null}] } ',
      '{"level":30,"time":1700000000123,"msg":"pino"}',
      '{"severity":17,"message":"otel"}',
      '{"ts":"bad"}',
      '{"ts":null,"level":"nonsense","service":{"name":"x"}}',
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
      '{"a":"raw\ttab"}',
      '{"a":1e5,"b":-0.5E-3,"c":0}',
      '{"msg":"\\ud83d\\ude00 emoji","host":"h\\u00e9"}',
    ]) {
      check(line);
    }
  });

  it('keeps nanosecond integer timestamps exact, where JSON.parse would round them', () => {
    const r = normaliseLine('{"ts":1700000000123456789}', 0, 26, ctx);
    expect(r.ok && r.record.ts).toBe(1_700_000_000_123_456n);
  });

  it('on 20,000 random objects and their mutations', () => {
    const r = rng(42);
    const junk = ['', ',', '}', '{', '"', ':', '\\', ' ', 'x', '0', '-', '.', 'e', '[', ']', '\u0001'];
    for (let i = 0; i < 10_000; i++) {
      const obj = randomValue(r, 0) as unknown;
      const root = typeof obj === 'object' && obj !== null && !Array.isArray(obj) ? obj : { v: obj, ts: 1_700_000_000 };
      const line = JSON.stringify(root);
      check(line);
      // A mutation: replace, insert or delete one character.
      const at = Math.floor(r() * line.length);
      const piece = junk[Math.floor(r() * junk.length)]!;
      const mutated = r() < 0.5 ? line.slice(0, at) + piece + line.slice(at + 1) : line.slice(0, at) + piece + line.slice(at);
      check(mutated);
    }
  });
});
