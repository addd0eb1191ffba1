// The in-memory reader of staged rows against the plainest statement of a page: filter every
// row, sort by (ts, seq) in the page's order, take the first `need`. Times are drawn from a few
// values so that ties (within a chunk and across chunks, at the edge of the page) are common.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogRecord, StoredRecord } from '../../model/record.js';
import { rowsOf } from '../row-format.js';
import { FreshChunk, freshPage, freshReadable, type FreshPageRequest } from './fresh-rows.js';

const T0 = 1_764_000_000_000_000n;

function record(ts: bigint, tenant: string, n: number): LogRecord {
  return {
    ts,
    receivedAt: T0,
    tenant,
    level: n % 3 === 0 ? null : 'info',
    severity: n % 4 === 0 ? null : (n % 24) + 1,
    service: n % 5 === 0 ? null : `svc-${n % 3}`,
    host: null,
    category: null,
    source: null,
    message: n % 7 === 0 ? `tab\there "q" \\ é ${n}` : `m ${n}`,
    traceId: null,
    spanId: null,
    attrs: JSON.stringify({ n }),
  };
}

/** Rows cut into chunks of the given sizes, numbered from firstSeq. */
function chunksOf(records: LogRecord[], sizes: number[], firstSeq: bigint): FreshChunk[] {
  const chunks: FreshChunk[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= records.length) break;
    const part = records.slice(at, at + size);
    chunks.push(FreshChunk.of(rowsOf(part).bytes, firstSeq + BigInt(at), part.length));
    at += part.length;
  }
  if (at < records.length) chunks.push(FreshChunk.of(rowsOf(records.slice(at)).bytes, firstSeq + BigInt(at), records.length - at));
  return chunks;
}

function expected(records: LogRecord[], firstSeq: bigint, req: FreshPageRequest): StoredRecord[] {
  const desc = req.order === 'desc';
  const rows = records
    .map((r, i): StoredRecord => ({ ...r, seq: firstSeq + BigInt(i) }))
    .filter((r) => r.tenant === req.tenant && r.seq > req.loadedSeq && r.seq <= req.maxSeq)
    .filter((r) => (req.from === undefined || r.ts >= req.from) && (req.to === undefined || r.ts < req.to))
    .filter((r) => {
      if (req.after === undefined) return true;
      const a = req.after;
      return desc ? r.ts < a.ts || (r.ts === a.ts && r.seq < a.seq) : r.ts > a.ts || (r.ts === a.ts && r.seq > a.seq);
    });
  rows.sort((a, b) => {
    const c = a.ts === b.ts ? (a.seq < b.seq ? -1 : 1) : a.ts < b.ts ? -1 : 1;
    return desc ? -c : c;
  });
  return rows.slice(0, req.need);
}

describe('fresh rows', () => {
  it('give the page a sort of every row gives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.constantFrom('default', 'default', 'default', 'acme', 'a"b')), { minLength: 1, maxLength: 120, size: 'max' }),
        fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 12, size: 'max' }),
        fc.record({
          order: fc.constantFrom('asc' as const, 'desc' as const),
          need: fc.integer({ min: 1, max: 40 }),
          tenant: fc.constantFrom('default', 'default', 'acme', 'a"b', 'none'),
          loaded: fc.integer({ min: 0, max: 10 }),
          max: fc.integer({ min: 20, max: 140 }),
          // Each of these is left out half the time.
          from: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined, freq: 2 }),
          to: fc.option(fc.integer({ min: 2, max: 7 }), { nil: undefined, freq: 2 }),
          after: fc.option(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 140 })), { nil: undefined, freq: 2 }),
        }),
        (rows, sizes, q) => {
          const firstSeq = 1001n;
          const records = rows.map(([t, tenant], n) => record(T0 + BigInt(t) * 1000n, tenant, n));
          const req: FreshPageRequest = {
            tenant: q.tenant,
            order: q.order,
            need: q.need,
            loadedSeq: firstSeq - 1n + BigInt(q.loaded),
            maxSeq: firstSeq - 1n + BigInt(q.max),
            from: q.from === undefined ? undefined : T0 + BigInt(q.from) * 1000n,
            to: q.to === undefined ? undefined : T0 + BigInt(q.to) * 1000n,
            after: q.after === undefined ? undefined : { ts: T0 + BigInt(q.after[0]) * 1000n, seq: firstSeq + BigInt(q.after[1]) },
          };
          const chunks = chunksOf(records, sizes, firstSeq);
          expect(freshReadable(chunks)).toBe(true);
          expect(freshPage(chunks, req)).toEqual(expected(records, firstSeq, req));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('say when a time is past what a double holds exactly, and refuse rows that are not what they claim', () => {
    const far = rowsOf([record(253_402_300_799_999_999n, 'default', 1)]).bytes;
    expect(FreshChunk.of(far, 1n, 1).exact).toBe(false);
    const old = rowsOf([record(-62_135_596_800_000_000n, 'default', 1)]).bytes;
    expect(FreshChunk.of(old, 1n, 1).exact).toBe(false);
    const two = rowsOf([record(T0, 'default', 1), record(T0, 'default', 2)]).bytes;
    expect(() => FreshChunk.of(two, 1n, 3)).toThrow(/3 rows expected, 2 found/);
    expect(() => FreshChunk.of(two, 1n, 1)).toThrow(/bytes left/);
  });
});
