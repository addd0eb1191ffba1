// The database rewrite (`db optimize --rewrite`, and retention's size bound after it deletes):
// a new file with every table, `logs` in its current layout, swapped in while the store stays
// open. The space of deleted rows goes back to the file system; rows, cursors, keys, the
// sequence and the segment catalog stay as they were; reads running meanwhile are answered; a
// rewrite that never finished leaves nothing behind.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { parseQuery } from '../../src/query/parser.js';
import type { PageAfter, StoredRecord } from '../../src/store/store.js';
import { batchOf, record } from './conformance.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-rewrite-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const DAY_US = 86_400_000_000n;
const DAY0 = 1_700_006_400_000_000n; // 2023-11-15T00:00:00Z
const PER_DAY = 50_000;
const dayName = (d: number) => new Date(Number((DAY0 + BigInt(d) * DAY_US) / 1000n)).toISOString().slice(0, 10);

/** Rows of three days, with messages and attrs wide enough that the days take whole blocks. */
function day(d: number) {
  return batchOf(
    Array.from({ length: PER_DAY }, (_, i) =>
      record(i, {
        ts: DAY0 + BigInt(d) * DAY_US + BigInt(i) * 1_500_000n,
        message: `day ${d} request ${i} from client ${(i * 7919) % 10007} took ${(i * 31) % 997} ms`,
        attrs: JSON.stringify({ i, day: d, user: `u-${(i * 104729) % 99991}`, path: `/api/v1/items/${i % 313}` }),
      }),
    ),
  );
}

async function all(store: DuckDbStore, q?: string): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  let after: PageAfter | undefined;
  for (;;) {
    const page = await store.queryPage({ tenant: 'default', limit: 5000, order: 'asc', after, query: q === undefined ? undefined : parseQuery(q) });
    out.push(...page.items);
    if (page.items.length < 5000) return out;
    const last = page.items[page.items.length - 1]!;
    after = { ts: last.ts, seq: last.seq };
  }
}

const fileBytes = (f: string) => fs.statSync(f).size + (fs.existsSync(`${f}.wal`) ? fs.statSync(`${f}.wal`).size : 0);

describe('DuckDbStore rewrite', () => {
  it('gives the space of expired days back, and keeps rows, cursors, keys and the sequence', { timeout: 120_000 }, async () => {
    const file = path.join(dir, 'store.duckdb');
    let store = await DuckDbStore.open({ file, threads: 2, memoryLimit: '512MB' });
    try {
      await store.migrate();
      for (let d = 0; d < 3; d++) await store.append(day(d));
      await store.keys.insertKey({
        id: 'k1', name: 'ops', tenant: '*', scopes: ['admin'], secretHash: 'h', createdAt: new Date(0), expiresAt: null, revokedAt: null, ingestBytesPerS: null, queriesPerS: null,
      });
      await store.optimize({ rewrite: false });
      const full = fileBytes(file);

      // Two of the three days expire: the file keeps their space until it is rewritten.
      const deleted = await store.expire({ rules: [], defaultBefore: DAY0 + 2n * DAY_US }, [0, 1].map((d) => ({ tenant: 'default', day: dayName(d) })));
      expect(deleted).toBe(2 * PER_DAY);
      const checkpointed = await store.optimize({ rewrite: false });
      expect(checkpointed.rewritten).toBe(false);
      expect(fileBytes(file)).toBeGreaterThan(full * 0.9);

      const before = await all(store);
      const needle = await all(store, '"client 42 "');
      const firstPage = await store.queryPage({ tenant: 'default', limit: 700, order: 'desc' });
      const stats = await store.stats();

      // Reads keep coming while the file is rewritten and swapped.
      let reading = true;
      let reads = 0;
      const reader = (async () => {
        while (reading) {
          const p = await store.queryPage({ tenant: 'default', limit: 50, order: 'desc', query: parseQuery('request') });
          expect(p.items.length).toBe(50);
          reads++;
        }
      })();
      const done = await store.optimize({ rewrite: 'auto' });
      reading = false;
      await reader;
      expect(reads).toBeGreaterThan(0);
      expect(done.rewritten).toBe(true);
      expect(done.bytes_after).toBeLessThan(full * 0.6);
      expect(fileBytes(file)).toBe(done.bytes_after);
      expect(fs.existsSync(`${file}.rewrite`)).toBe(false);

      expect(await all(store)).toEqual(before);
      expect(await all(store, '"client 42 "')).toEqual(needle);
      expect(await store.stats()).toMatchObject({ rows: stats.rows, maxSeq: stats.maxSeq });
      // A cursor from before the rewrite goes on where it stopped.
      const last = firstPage.items[firstPage.items.length - 1]!;
      const next = await store.queryPage({ tenant: 'default', limit: 700, order: 'desc', after: { ts: last.ts, seq: last.seq } });
      expect(next.items).toEqual([...before].reverse().slice(700, 1400));
      expect((await store.keys.listKeys()).map((k) => k.id)).toEqual(['k1']);

      // Nothing is worth another rewrite now.
      expect((await store.optimize()).rewritten).toBe(false);

      // New rows take the next sequence numbers, and everything survives a reopen.
      const appended = await store.append(batchOf([record(1, { ts: DAY0 + 3n * DAY_US, message: 'after the rewrite' })]));
      expect(appended.firstSeq).toBe(stats.maxSeq + 1n);
      await store.close();
      store = await DuckDbStore.open({ file, threads: 2, memoryLimit: '512MB' });
      await store.migrate();
      expect((await all(store)).length).toBe(PER_DAY + 1);
      expect((await all(store, '"after the rewrite"')).map((r) => r.seq)).toEqual([stats.maxSeq + 1n]);
      expect((await store.keys.listKeys()).map((k) => k.id)).toEqual(['k1']);
    } finally {
      await store.close();
    }
  });

  it('removes what a rewrite that never finished left, and opens the file it copied', async () => {
    const file = path.join(dir, 'crashed.duckdb');
    let store = await DuckDbStore.open({ file, threads: 2, memoryLimit: '512MB' });
    await store.migrate();
    await store.append(batchOf([record(1), record(2)]));
    await store.close();
    fs.writeFileSync(`${file}.rewrite`, 'half a database');
    store = await DuckDbStore.open({ file, threads: 2, memoryLimit: '512MB' });
    try {
      await store.migrate();
      expect(fs.existsSync(`${file}.rewrite`)).toBe(false);
      expect((await store.stats()).rows).toBe(2);
    } finally {
      await store.close();
    }
  });
});
