// The behaviour every Store backend must show, whatever engine is underneath. A backend's test
// file calls `describeStoreConformance` with a factory that opens a fresh, empty store.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/model/record.js';
import { parseQuery } from '../../src/query/parser.js';
import { recordToJson } from '../../src/query/record-format.js';
import { rowsOf, type RowBatch } from '../../src/store/row-format.js';
import type { Store } from '../../src/store/store.js';

const T0 = 1_700_000_000_000_000n; // 2023-11-14T22:13:20Z in µs

export function record(i: number, over: Partial<LogRecord> = {}): LogRecord {
  return {
    ts: T0 + BigInt(i) * 1_000_000n,
    receivedAt: T0 + BigInt(i) * 1_000_000n + 5n,
    tenant: 'default',
    level: (['info', 'warn', 'error', 'debug'] as const)[i % 4],
    severity: null,
    service: `svc-${i % 3}`,
    host: `host-${i % 2}`,
    category: null,
    source: null,
    message: `message number ${i}`,
    traceId: null,
    spanId: null,
    attrs: JSON.stringify({ i, http: { status: 200 + (i % 5) * 100 } }),
    ...over,
  };
}

export function batchOf(records: LogRecord[]): RowBatch {
  return rowsOf(records);
}

export function describeStoreConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    it('migrations are idempotent', async () => {
      expect(await store.migrate()).toEqual([]);
    });

    it('appends a batch, assigns consecutive sequence numbers and returns every field intact', async () => {
      const recs = [record(1, { traceId: 'abc123', spanId: 'def4', source: 'app.ts:10', category: 'http', severity: 9 })];
      recs.push(record(2, { message: 'ünïcødé "quoted" \n newline', attrs: '{"nested":{"a":[1,2,{"b":null}]}}' }));
      const res = await store.append(batchOf(recs));
      expect(res.count).toBe(2);
      const second = await store.append(batchOf([record(3)]));
      expect(second.firstSeq).toBe(res.firstSeq + 2n);
      const page = await store.queryPage({ tenant: 'default', limit: 10, order: 'asc' });
      expect(page.items.map((r) => r.seq)).toEqual([res.firstSeq, res.firstSeq + 1n, res.firstSeq + 2n]);
      const [a, b] = page.items;
      expect(a).toMatchObject({ ...recs[0], attrs: expect.any(String) });
      expect(JSON.parse(a!.attrs)).toEqual(JSON.parse(recs[0]!.attrs));
      expect(b!.message).toBe(recs[1]!.message);
      expect(JSON.parse(b!.attrs)).toEqual({ nested: { a: [1, 2, { b: null }] } });
      expect(await store.maxSeq()).toBe(res.firstSeq + 2n);
    });

    it('orders by ts then seq, in both directions, and pages by keyset without gaps or repeats', async () => {
      // Several rows share one timestamp so the seq tie-break matters.
      const recs = Array.from({ length: 250 }, (_, i) => record(Math.floor(i / 3)));
      await store.append(batchOf(recs));
      for (const order of ['asc', 'desc'] as const) {
        const seen: bigint[] = [];
        let after: { ts: bigint; seq: bigint } | undefined;
        for (;;) {
          const page = await store.queryPage({ tenant: 'default', limit: 40, order, after });
          seen.push(...page.items.map((r) => r.seq));
          if (page.items.length < 40) break;
          const last = page.items[page.items.length - 1]!;
          after = { ts: last.ts, seq: last.seq };
        }
        expect(seen.length).toBe(250);
        expect(new Set(seen).size).toBe(250);
      }
    });

    it('filters by time window, query and snapshot bound', async () => {
      await store.append(batchOf(Array.from({ length: 100 }, (_, i) => record(i))));
      const win = await store.queryPage({
        tenant: 'default',
        from: T0 + 10_000_000n,
        to: T0 + 20_000_000n,
        limit: 100,
        order: 'asc',
      });
      expect(win.items.length).toBe(10);
      // The rows of the segments read: here the one segment the window falls in.
      expect(win.rowsScanned).toBeGreaterThanOrEqual(10);
      expect(win.rowsScanned).toBeLessThanOrEqual(100);
      const q = await store.queryPage({
        tenant: 'default',
        query: parseQuery('level:error service:svc-0'),
        limit: 100,
        order: 'asc',
      });
      expect(q.items.length).toBeGreaterThan(0);
      expect(q.items.every((r) => r.level === 'error' && r.service === 'svc-0')).toBe(true);
      const snapshot = await store.maxSeq();
      await store.append(batchOf([record(500)]));
      const pinned = await store.queryPage({ tenant: 'default', limit: 1000, order: 'asc', maxSeq: snapshot });
      expect(pinned.items.length).toBe(100);
      const attr = await store.queryPage({ tenant: 'default', query: parseQuery('attrs.http.status:>=500'), limit: 1000, order: 'asc' });
      expect(attr.items.length).toBe(40);
    });

    it('keeps tenants apart', async () => {
      await store.append(batchOf([record(1), record(2, { tenant: 'acme' })]));
      const page = await store.queryPage({ tenant: 'acme', limit: 10, order: 'asc' });
      expect(page.items.map((r) => r.tenant)).toEqual(['acme']);
    });

    it('exports every matching row in order, chunk by chunk, in the same JSON form as search', async () => {
      await store.append(batchOf(Array.from({ length: 1234 }, (_, i) => record(i % 600))));
      await store.append(batchOf([record(7, { message: 'tab\t "quote" \u2603 \n line', traceId: 'ab', severity: 17 })]));
      const lines: string[] = [];
      let chunks = 0;
      for await (const chunk of store.exportText({ tenant: 'default', order: 'asc', format: 'ndjson', chunkRows: 100 })) {
        chunks++;
        expect(chunk.rows).toBeLessThanOrEqual(100);
        expect(chunk.text.endsWith('\n')).toBe(true);
        const got = chunk.text.slice(0, -1).split('\n');
        expect(got.length).toBe(chunk.rows);
        lines.push(...got);
      }
      expect(lines.length).toBe(1235);
      expect(chunks).toBeGreaterThanOrEqual(13);
      const search = await store.queryPage({ tenant: 'default', limit: 2000, order: 'asc' });
      expect(lines).toEqual(search.items.map(recordToJson));
      const desc: string[] = [];
      for await (const chunk of store.exportText({ tenant: 'default', order: 'desc', format: 'ndjson', chunkRows: 64 })) {
        desc.push(...chunk.text.slice(0, -1).split('\n'));
      }
      expect(desc).toEqual([...lines].reverse());
    });

    it('exports CSV with quoting where a field needs it', async () => {
      await store.append(batchOf([record(1, { message: 'a, "b"\nc', service: null })]));
      let text = '';
      for await (const chunk of store.exportText({ tenant: 'default', order: 'asc', format: 'csv' })) text += chunk.text;
      expect(text).toBe(
        '2023-11-14T22:13:21.000000Z,2023-11-14T22:13:21.000005Z,default,warn,,,host-1,,,"a, ""b""\nc",,,' +
          '"{""i"":1,""http"":{""status"":300}}"\n',
      );
    });

    it('stops an export when its signal aborts', async () => {
      await store.append(batchOf(Array.from({ length: 500 }, (_, i) => record(i))));
      const ac = new AbortController();
      let rows = 0;
      for await (const chunk of store.exportText({ tenant: 'default', order: 'asc', format: 'ndjson', chunkRows: 100 }, ac.signal)) {
        rows += chunk.rows;
        ac.abort();
      }
      expect(rows).toBe(100);
    });

    it('counts per time bucket and top values', async () => {
      await store.append(batchOf(Array.from({ length: 120 }, (_, i) => record(i))));
      const buckets = await store.histogram({ tenant: 'default', stepMicros: 60_000_000n });
      expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(120);
      expect(buckets.every((b) => b.ts % 60_000_000n === 0n)).toBe(true);
      const top = await store.topValues({ tenant: 'default', field: 'service', limit: 2 });
      expect(top).toEqual([
        { value: 'svc-0', count: 40 },
        { value: 'svc-1', count: 40 },
      ]);
      const topAttr = await store.topValues({ tenant: 'default', field: 'attrs.http.status', limit: 10 });
      expect(topAttr.length).toBe(5);
      expect(topAttr[0]!.count).toBe(24);
    });

    it('reports stats', async () => {
      await store.append(batchOf(Array.from({ length: 10 }, (_, i) => record(i))));
      const s = await store.stats();
      expect(s.rows).toBe(10);
      expect(s.oldestTs).toBe(T0);
      expect(s.newestTs).toBe(T0 + 9_000_000n);
    });
  });
}
