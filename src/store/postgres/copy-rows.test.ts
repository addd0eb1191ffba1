// copy-rows against a reader of COPY's text format written from PostgreSQL's documentation: any
// records, written as rows (row-format.ts) and turned into COPY lines, read back as the same
// fields — but U+0000 and lone surrogates, which PostgreSQL text cannot hold, as U+FFFD — and the
// same counts per tenant day. The PostgreSQL store's conformance suite runs the real COPY.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROW_COLUMNS, rowsOf } from '../row-format.js';
import type { LogRecord } from '../../model/record.js';
import { numberedChunk, toCopyRows } from './copy-rows.js';

/** One COPY text field: `\N` is NULL; backslash escapes per the COPY documentation. */
function readField(f: string): string | null {
  if (f === '\\N') return null;
  let out = '';
  const bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) out += Buffer.from(bytes).toString('utf8');
    bytes.length = 0;
  };
  for (let i = 0; i < f.length; i++) {
    const c = f[i]!;
    if (c !== '\\') {
      flush();
      out += c;
      continue;
    }
    const n = f[++i]!;
    const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    if (n in simple) {
      flush();
      out += simple[n];
    } else if (n === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(f.slice(i + 1))![0];
      bytes.push(parseInt(hex, 16));
      i += hex.length;
    } else if (/[0-7]/.test(n)) {
      const oct = /^[0-7]{1,3}/.exec(f.slice(i))![0];
      bytes.push(parseInt(oct, 8));
      i += oct.length - 1;
    } else {
      flush();
      out += n;
    }
  }
  flush();
  return out;
}

const text = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('', '\\N', 'a\\b', 'tab\there', 'nul\u0000', '\ud800 lone'));
const nullable = fc.option(text, { nil: null });
const record = fc.record({
  ts: fc.bigInt({ min: -(10n ** 15n), max: 10n ** 16n }),
  receivedAt: fc.bigInt({ min: 0n, max: 10n ** 16n }),
  tenant: fc.constantFrom('default', 'acme', 'ünï', 'q"uote'),
  level: fc.constantFrom('info', 'error', null),
  severity: fc.option(fc.integer({ min: 0, max: 24 }), { nil: null }),
  service: nullable,
  host: nullable,
  category: nullable,
  source: nullable,
  message: nullable,
  traceId: nullable,
  spanId: nullable,
  attrs: fc.jsonValue().map((v) => JSON.stringify({ v })),
}) as fc.Arbitrary<LogRecord>;

const pgText = (s: string | null) => (s === null ? null : s.replace(/\u0000/g, '\uFFFD').toWellFormed());

describe('toCopyRows', () => {
  it('gives back every field as COPY reads it, and the counts per tenant day', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 30 }), (records) => {
        const rows = toCopyRows(rowsOf(records).bytes);
        expect(rows.rows).toBe(records.length);
        const lines = numberedChunk(rows, 0, rows.rows, 100n).toString('utf8').split('\n').slice(0, -1);
        lines.forEach((line, i) => {
          const f = line.split('\t');
          expect(f.length).toBe(ROW_COLUMNS.length + 1);
          const r = records[i]!;
          expect(f[0]).toBe(String(100 + i));
          expect(BigInt(f[1]!)).toBe(r.ts);
          expect(readField(f[3]!)).toBe(pgText(r.tenant));
          expect(readField(f[6]!)).toBe(pgText(r.service));
          expect(readField(f[10]!)).toBe(pgText(r.message));
          expect(readField(f[12]!)).toBe(pgText(r.spanId));
          expect(JSON.parse(readField(f[13]!)!)).toEqual(JSON.parse(r.attrs));
        });
        const days = new Map<string, number>();
        for (const r of records) {
          const key = `${r.tenant}|${Math.floor(Number(r.ts) / 86_400_000_000)}`;
          days.set(key, (days.get(key) ?? 0) + 1);
        }
        expect(new Map(rows.days.map((d) => [`${d.tenant}|${d.day}`, d.rows]))).toEqual(days);
      }),
      { numRuns: 300 },
    );
  });
});
