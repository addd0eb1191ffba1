import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSummary, writeSummary, type BlockMeta, type SummaryHeader } from './segment-summary.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-summary-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function block(firstSeq: bigint, rows: number, over: Partial<BlockMeta> = {}): BlockMeta {
  return {
    firstSeq,
    lastSeq: firstSeq + BigInt(rows) - 1n,
    rows,
    minTs: 1_000n + firstSeq,
    maxTs: 2_000n + firstSeq,
    levels: 0b100,
    tenants: ['default'],
    numeric: new Map(),
    numericOverflow: false,
    inexact: [],
    tokens: 3,
    ...over,
  };
}

function roundTrip(header: SummaryHeader, name: string) {
  const file = path.join(dir, name);
  writeSummary(file, header, new Uint32Array(header.filterSize * header.blocks.length * 8).fill(0xffffffff));
  return readSummary(file);
}

describe('segment summary', () => {
  it('reads back every block fact from its file, in columns', () => {
    const blocks = [
      block(101n, 2048, { numeric: new Map([['status', { min: 200, max: 504 }], ['a.b', { min: -Infinity, max: 3.5 }]]), inexact: ['dur'] }),
      block(2149n, 2048, { tenants: ['acme', 'default'], levels: 0b1000001, numeric: new Map([['a.b', { min: 1, max: 1 }]]), numericOverflow: true }),
      block(4197n, 10, { tenants: null, inexact: null }),
    ];
    const s = roundTrip({ firstSeq: 101n, lastSeq: 4206n, rows: 4106, blocks, filterSize: 2 }, 'a.idx');
    const t = s.blocks;
    expect(t.count).toBe(3);
    expect([0, 1, 2].map((i) => [t.firstSeq(i), t.lastSeq(i), t.rows(i), t.minTs(i), t.maxTs(i), t.levels(i)])).toEqual(
      blocks.map((b) => [b.firstSeq, b.lastSeq, b.rows, b.minTs, b.maxTs, b.levels]),
    );
    expect(t.unit(1)).toEqual({ firstSeq: 2149n, lastSeq: 4196n, rows: 2048, minTs: 3149n, maxTs: 4149n, tenants: ['acme', 'default'] });
    expect(t.numeric(0, 'status')).toEqual({ min: 200, max: 504 });
    expect(t.numeric(0, 'a.b')).toEqual({ min: -Infinity, max: 3.5 });
    expect(t.numeric(1, 'a.b')).toEqual({ min: 1, max: 1 });
    expect(t.numeric(1, 'status')).toBeUndefined();
    expect(t.numeric(0, 'nowhere')).toBeUndefined();
    expect([0, 1, 2].map((i) => t.numericOverflow(i))).toEqual([false, true, false]);
    // Listed inexact paths, none listed, too many to list.
    expect([t.inexact(0, 'dur'), t.inexact(0, 'status'), t.inexact(1, 'dur'), t.inexact(2, 'anything')]).toEqual([true, false, false, true]);
    expect([0, 1, 2].map((i) => t.tenants(i))).toEqual([['default'], ['acme', 'default'], null]);
    expect(s.soleTenant).toBeNull();
  });

  it('knows the one tenant of a segment, and shares equal tenant lists', () => {
    const s = roundTrip({ firstSeq: 1n, lastSeq: 4096n, rows: 4096, blocks: [block(1n, 2048), block(2049n, 2048)], filterSize: 1 }, 'b.idx');
    expect(s.soleTenant).toBe('default');
    expect(s.blocks.tenants(0)).toBe(s.blocks.tenants(1));
  });

  it('refuses a file whose blocks do not cover its segment', () => {
    expect(() => roundTrip({ firstSeq: 1n, lastSeq: 5000n, rows: 4096, blocks: [block(1n, 2048), block(2049n, 2048)], filterSize: 1 }, 'c.idx')).toThrow(
      /do not cover the segment/,
    );
  });
});
