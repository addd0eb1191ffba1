import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../model/record.js';
import { recordToJson } from '../query/record-format.js';
import { rowsOf } from '../store/row-format.js';
import { SegmentRows } from './row-lines.js';

const base: LogRecord = { ts: 1_796_000_000_123_456n, receivedAt: 1_796_000_001_000_001n, tenant: 'default', level: 'info', severity: 9, service: 's', host: 'h', category: 'c', source: 'src/a.ts:1', message: 'm', traceId: 't', spanId: 'p', attrs: '{"a":1}' };

describe('spool rows as category file lines', () => {
  it('render each row as recordToJson does, with its day, category and level', () => {
    const records: LogRecord[] = [
      base,
      { ...base, level: null, severity: null, service: null, host: null, category: null, source: null, message: null, traceId: null, spanId: null, attrs: '{}' },
      { ...base, message: 'tab\there "quoted" back\\slash\nnew line \u0001 café 😀', category: 'a/b "c"', tenant: 'ténant' },
      { ...base, ts: -1n, receivedAt: 0n }, // just before 1970
      { ...base, ts: 1_796_000_000_000_000n }, // a whole second
      { ...base, ts: 9_100_000_000_000_123n }, // past 2^53 µs (2258)
      { ...base, attrs: '{"nested":{"x":[1,2,"\\t"]},"u":"\\u00e9"}' },
    ];
    const rows = new SegmentRows(rowsOf(records).bytes, 10n).read(10n, 100);
    expect(rows.map((r) => r.seq)).toEqual(records.map((_, i) => 10n + BigInt(i)));
    rows.forEach((r, i) => {
      const want = recordToJson({ ...records[i]!, seq: r.seq });
      expect(r.json).toBe(want);
      expect(JSON.parse(r.json)).toEqual(JSON.parse(want));
      expect(r.day).toBe(want.slice(7, 17));
      expect(r.category).toBe(records[i]!.category);
      expect(r.level).toBe(records[i]!.level);
    });
  });

  it('skips the first rows and stops at the limit', () => {
    const records = Array.from({ length: 10 }, (_, i) => ({ ...base, message: `m${i}` }));
    const rows = new SegmentRows(rowsOf(records).bytes, 1n).read(4n, 4);
    expect(rows.map((r) => [r.seq, JSON.parse(r.json).message])).toEqual([
      [4n, 'm3'],
      [5n, 'm4'],
      [6n, 'm5'],
      [7n, 'm6'],
    ]);
  });

  it('reads page after page as one read would, and again from an earlier row', () => {
    const records = Array.from({ length: 25 }, (_, i) => ({ ...base, message: `m${i} café` }));
    const seg = new SegmentRows(rowsOf(records).bytes, 100n);
    const pages = [];
    for (let seq = 100n; seq < 125n; seq += 7n) pages.push(...seg.read(seq, 7));
    expect(pages.map((r) => r.json)).toEqual(new SegmentRows(rowsOf(records).bytes, 100n).read(100n, 100).map((r) => r.json));
    expect(seg.read(103n, 2).map((r) => [r.seq, JSON.parse(r.json).message])).toEqual([[103n, 'm3 café'], [104n, 'm4 café']]);
    expect(seg.read(130n, 5)).toEqual([]);
  });
});
