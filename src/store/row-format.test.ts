// The row format round-trips every record field, whatever the buffer sizes the builder starts
// from (each row may land across a boundary where the buffer must grow), and through the store.

import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../model/record.js';
import { decodeRows, RowBatchBuilder } from './row-format.js';

function record(i: number, over: Partial<LogRecord> = {}): LogRecord {
  return {
    ts: 1_700_000_000_000_000n + BigInt(i),
    receivedAt: 1_700_000_000_000_001n,
    tenant: i % 2 ? 'acme' : 'tënant "q"',
    level: i % 3 ? null : 'warn',
    severity: i % 4 ? null : 13,
    service: i % 5 ? null : 'svc',
    host: null,
    category: i % 7 ? null : 'c\tat',
    source: null,
    message: i % 2 ? null : `line ${i}\nnext \\ "quoted" ☃`,
    traceId: null,
    spanId: i % 3 ? null : 'ab',
    attrs: i % 2 ? '{}' : `{"i":${i},\t"nested":{"a":[1,\n2]}}`,
    ...over,
  };
}

describe('RowBatchBuilder', () => {
  it('round-trips records written from every starting buffer size', () => {
    const records = Array.from({ length: 40 }, (_, i) => record(i));
    // The builder starts from at least 1 KiB: every size from there moves the growth points by a byte.
    for (let initial = 1024; initial <= 1024 + 400; initial++) {
      const b = new RowBatchBuilder(initial);
      for (const r of records) b.writeRecord(r);
      const back = decodeRows(b.finish());
      expect(back.map(({ attrs, ...f }) => f)).toEqual(records.map(({ attrs, ...f }) => f));
      expect(back.map((r) => JSON.parse(r.attrs))).toEqual(records.map((r) => JSON.parse(r.attrs)));
    }
  });

  it('leaves room for a NULL right after a string that filled its reservation exactly', () => {
    // Three UTF-8 bytes a character: the string takes all the room it reserved, and the NULL
    // host after it must make its own. Every starting size moves the boundary by a byte.
    const records = Array.from({ length: 30 }, (_, i) => record(i, { service: '日本語'.repeat(5 + (i % 3)), host: null }));
    for (let initial = 1024; initial <= 1024 + 400; initial++) {
      const b = new RowBatchBuilder(initial);
      for (const r of records) b.writeRecord(r);
      expect(decodeRows(b.finish()).map((r) => [r.service, r.host])).toEqual(records.map((r) => [r.service, null]));
    }
  });

  it('writes far-off and negative timestamps, and repairs lone surrogates', () => {
    const b = new RowBatchBuilder(16);
    b.writeRecord(record(0, { ts: -62_135_596_800_000_000n, receivedAt: 253_402_300_799_999_999n, message: 'a\ud800b' }));
    const [r] = decodeRows(b.finish());
    expect(r).toMatchObject({ ts: -62_135_596_800_000_000n, receivedAt: 253_402_300_799_999_999n, message: 'a\ufffdb' });
  });
});
