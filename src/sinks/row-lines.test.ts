import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../model/record.js';
import { recordToJson } from '../query/record-format.js';
import { rowsOf, textValue } from '../store/row-format.js';
import { bytesOf, SegmentRows } from './row-lines.js';
import { levelCopy } from './store-pages.js';

const base: LogRecord = { ts: 1_796_000_000_123_456n, receivedAt: 1_796_000_001_000_001n, tenant: 'default', level: 'info', severity: 9, service: 's', host: 'h', category: 'c', source: 'src/a.ts:1', message: 'm', traceId: 't', spanId: 'p', attrs: '{"a":1}' };

interface Line {
  day: string;
  category: string | null;
  copy: string;
  json: string;
}

/** Renders rows from `seq` on, each into a buffer of its own, as SegmentRows.render gives them to its sink. */
function render(rows: SegmentRows, seq: bigint, limit: number): Line[] {
  const out: Line[] = [];
  let category = '';
  rows.render(seq, limit, {
    target: (_day, c, most) => {
      category = c;
      // Something there already: the line goes after it.
      return { buf: Buffer.alloc(most + 3, 'x'), bytes: 3 };
    },
    wrote: (day, target, length, copy) => out.push({ day, category: textValue(category), copy, json: target.buf.toString('utf8', target.bytes, target.bytes + length) }),
  });
  return out;
}

describe('spool rows as category file lines', () => {
  it('render each row as recordToJson does, with its day, category and level copy', () => {
    const records: LogRecord[] = [
      base,
      { ...base, level: null, severity: null, service: null, host: null, category: null, source: null, message: null, traceId: null, spanId: null, attrs: '{}' },
      { ...base, message: 'tab\there "quoted" back\\slash\nnew line \u0001 café 😀', category: 'a/b "c"', tenant: 'ténant' },
      { ...base, ts: -1n, receivedAt: 0n, level: 'error' }, // just before 1970
      { ...base, ts: 1_796_000_000_000_000n, level: 'fatal' }, // a whole second
      { ...base, ts: 9_100_000_000_000_123n, level: 'warn' }, // past 2^53 µs (2258)
      { ...base, attrs: '{"nested":{"x":[1,2,"\\t"]},"u":"\\u00e9"}', level: 'debug', message: 'x'.repeat(300) },
    ];
    const lines = render(new SegmentRows(bytesOf(rowsOf(records).bytes), 10n), 10n, 100);
    expect(lines).toHaveLength(records.length);
    lines.forEach((l, i) => {
      const want = recordToJson({ ...records[i]!, seq: 10n + BigInt(i) });
      expect(l.json).toBe(`${want}\n`);
      expect(JSON.parse(l.json)).toEqual(JSON.parse(want));
      expect(l.day).toBe(want.slice(7, 17));
      expect(l.category).toBe(records[i]!.category);
      expect(l.copy).toBe(levelCopy(records[i]!.level));
    });
  });

  it('renders timestamps out of time order, across days, years and 1970, as recordToJson does', () => {
    // Rows grouped by resource or stream jump back and forth in time; the date of each is its own.
    const seconds = [0, 59, 60, 3599, 3600, 86_399, 86_400, -1, -86_400, -86_401, 951_782_400, 951_868_799, 1_796_000_000, 1_795_999_999, 1_796_086_400, -9_000_000_000];
    let x = 12_345;
    const random = () => (x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 200; i++) seconds.push(Math.floor((random() - 0.3) * 4_000_000_000));
    const records: LogRecord[] = seconds.map((s, i) => ({ ...base, ts: BigInt(s) * 1_000_000n + BigInt(i * 7919), receivedAt: BigInt(seconds[seconds.length - 1 - i]!) * 1_000_000n }));
    const lines = render(new SegmentRows(bytesOf(rowsOf(records).bytes), 1n), 1n, 1000);
    expect(lines).toHaveLength(records.length);
    lines.forEach((l, i) => {
      const want = recordToJson({ ...records[i]!, seq: 1n + BigInt(i) });
      expect(l.json).toBe(`${want}\n`);
      expect(l.day).toBe(want.slice(7, 17));
    });
  });

  it('skips the first rows and stops at the limit', () => {
    const records = Array.from({ length: 10 }, (_, i) => ({ ...base, message: `m${i}` }));
    const lines = render(new SegmentRows(bytesOf(rowsOf(records).bytes), 1n), 4n, 4);
    expect(lines.map((l) => JSON.parse(l.json).message)).toEqual(['m3', 'm4', 'm5', 'm6']);
  });

  it('renders page after page as one call would, and again from an earlier row', () => {
    const records = Array.from({ length: 25 }, (_, i) => ({ ...base, message: `m${i} café` }));
    const seg = new SegmentRows(bytesOf(rowsOf(records).bytes), 100n);
    const pages = [];
    for (let seq = 100n; seq < 125n; seq += 7n) pages.push(...render(seg, seq, 7));
    expect(pages).toEqual(render(new SegmentRows(bytesOf(rowsOf(records).bytes), 100n), 100n, 100));
    expect(render(seg, 103n, 2).map((l) => JSON.parse(l.json).message)).toEqual(['m3 café', 'm4 café']);
    expect(render(seg, 130n, 5)).toEqual([]);
  });

  it('stops before a line that is not a row of the format', () => {
    const good = rowsOf([base, base]).bytes;
    const bytes = Buffer.concat([good, Buffer.from('not\ta\trow\n'), good]);
    expect(render(new SegmentRows(bytesOf(bytes), 1n), 1n, 10)).toHaveLength(2);
  });

  it('reads the segment through a small window as it reads it whole: rows across windows, a row wider than the window, again from the start', () => {
    const records = Array.from({ length: 60 }, (_, i) => ({ ...base, message: i % 17 === 5 ? `long ${'x'.repeat(900 + i)}` : `m${i} café` }));
    const bytes = rowsOf(records).bytes;
    const whole = render(new SegmentRows(bytesOf(bytes), 1n), 1n, 1000);
    expect(whole).toHaveLength(60);
    // Reads of a few bytes at a time, as a file may answer.
    const read = bytesOf(bytes);
    const trickle = (into: Buffer, offset: number, position: number) => read(into.subarray(0, Math.min(into.length, offset + 37)), offset, position);
    for (const windowBytes of [64, 300, 1000]) {
      const seg = new SegmentRows(trickle, 1n, Buffer.alloc(windowBytes));
      const pages = [];
      for (let seq = 1n; seq <= 60n; seq += 9n) pages.push(...render(seg, seq, 9));
      expect(pages).toEqual(whole);
      expect(render(seg, 2n, 3)).toEqual(whole.slice(1, 4));
      expect(render(seg, 58n, 10)).toEqual(whole.slice(57));
      expect(render(seg, 61n, 10)).toEqual([]);
    }
    expect(SegmentRows.count(trickle, Buffer.alloc(50))).toBe(60);
    expect(SegmentRows.count(read)).toBe(60);
    expect(SegmentRows.count(bytesOf(Buffer.alloc(0)))).toBe(0);
  });
});
