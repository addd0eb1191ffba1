import { describe, expect, it } from 'vitest';
import { rowsOf } from '../../store/row-format.js';
import { MemoryChangeJournal, rowsTimeRange } from './change-journal.js';

describe('MemoryChangeJournal', () => {
  it('says whether a change after a version touched a tenant and time range', async () => {
    const j = new MemoryChangeJournal(60_000);
    const v0 = await j.version();
    await j.record('acme', 100n, 200n);
    expect(await j.changedSince('acme', 150n, 300n, v0)).toBe(true);
    expect(await j.changedSince('acme', 201n, 300n, v0)).toBe(false);
    expect(await j.changedSince('acme', 0n, 100n, v0)).toBe(false); // `to` is exclusive
    expect(await j.changedSince('acme', 0n, 101n, v0)).toBe(true);
    expect(await j.changedSince('other', 0n, 1000n, v0)).toBe(false);
    expect(await j.changedSince('acme', undefined, undefined, v0)).toBe(true);
    const v1 = await j.version();
    expect(await j.changedSince('acme', undefined, undefined, v1)).toBe(false);
    await j.record(null, 5000n, 6000n); // any tenant
    expect(await j.changedSince('other', 5500n, undefined, v1)).toBe(true);
  });

  it('merges the changes of one second without losing any range', async () => {
    const j = new MemoryChangeJournal(60_000);
    const v0 = await j.version();
    await j.record(null, 100n, 200n);
    const v1 = await j.version();
    await j.record(null, 1000n, 2000n);
    // Merged into one change: an answer filled after the first still learns of the second.
    expect(await j.changedSince('t', 1500n, 1600n, v1)).toBe(true);
    expect(await j.changedSince('t', 150n, 160n, v0)).toBe(true);
  });
});

describe('rowsTimeRange', () => {
  it('finds the earliest and latest ts of rows, widened by a second', () => {
    const base = { receivedAt: 0n, tenant: 'default', level: null, severity: null, service: null, host: null, category: null, source: null, message: 'm', traceId: null, spanId: null, attrs: '{}' };
    const batch = rowsOf([
      { ...base, ts: 1_700_000_000_000_000n },
      { ...base, ts: -5_000_000n },
      { ...base, ts: 1_800_000_000_000_123n },
    ]);
    expect(rowsTimeRange(batch.bytes)).toEqual({ from: -6_000_000n, to: 1_800_000_001_000_123n });
    expect(rowsTimeRange(Buffer.alloc(0))).toBeNull();
  });
});
