// The behaviour every Store backend must show, whatever engine is underneath. A backend's test
// file calls `describeStoreConformance` with a factory that opens a fresh, empty store.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

    it('loads a spool segment exactly once, and says which segments it has', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-conformance-'));
      try {
        const file = path.join(dir, 'segment.tsv');
        const write = () => fs.writeFileSync(file, batchOf(Array.from({ length: 30 }, (_, i) => record(i))).bytes);
        write();
        const first = await store.loadSegment(file, 7n);
        expect(first.rows).toBe(30);
        if (!first.fileKept) fs.rmSync(file, { force: true });
        write();
        const again = await store.loadSegment(file, 7n);
        expect(again.rows).toBe(0);
        expect([...(await store.loadedSegments([6n, 7n, 8n]))]).toEqual([7n]);
        expect(await store.maxSegmentId()).toBe(7n);
        expect(await store.maxSeq()).toBe(first.firstSeq + 29n);
        expect(store.loadedSeq()).toBe(first.firstSeq + 29n);
        expect((await store.stats()).rows).toBe(30);
        await store.ping();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('numbers a large load consecutively, after what was there', async () => {
      const small = await store.append(batchOf([record(0)]));
      const big = await store.append(batchOf(Array.from({ length: 10_000 }, (_, i) => record(i))));
      expect(big.firstSeq).toBe(small.firstSeq + 1n);
      expect(await store.maxSeq()).toBe(big.firstSeq + 9_999n);
      const next = await store.append(batchOf([record(1)]));
      expect(next.firstSeq).toBe(big.firstSeq + 10_000n);
      const seqs = (await store.readAfter({ tenant: 'default', afterSeq: 0n, maxSeq: next.firstSeq, limit: 20_000 })).map((r) => r.seq);
      expect(seqs).toEqual(Array.from({ length: 10_002 }, (_, i) => small.firstSeq + BigInt(i)));
    });

    it('pages by offset', async () => {
      await store.append(batchOf(Array.from({ length: 50 }, (_, i) => record(i))));
      const all = await store.queryPage({ tenant: 'default', limit: 50, order: 'asc' });
      const page = await store.queryPage({ tenant: 'default', limit: 10, order: 'asc', offset: 20 });
      expect(page.items.map((r) => r.seq)).toEqual(all.items.slice(20, 30).map((r) => r.seq));
      const desc = await store.queryPage({ tenant: 'default', limit: 5, order: 'desc', offset: 45 });
      expect(desc.items.map((r) => r.seq)).toEqual(all.items.slice(0, 5).map((r) => r.seq).reverse());
    });

    it('reads by sequence number for tails and category files, within the bounds', async () => {
      const res = await store.append(batchOf(Array.from({ length: 40 }, (_, i) => record(i, { tenant: i % 2 === 0 ? 'default' : 'other' }))));
      const from = res.firstSeq + 9n;
      const upTo = res.firstSeq + 29n;
      const asc = await store.readAfter({ tenant: 'default', afterSeq: from, maxSeq: upTo, limit: 100 });
      expect(asc.every((r) => r.tenant === 'default' && r.seq > from && r.seq <= upTo)).toBe(true);
      expect(asc.length).toBe(10);
      expect(asc.map((r) => r.seq)).toEqual([...asc.map((r) => r.seq)].sort((a, b) => (a < b ? -1 : 1)));
      const last = await store.readAfterJson({ tenant: 'default', query: parseQuery('level:info'), afterSeq: 0n, maxSeq: upTo, limit: 3, order: 'desc' });
      expect(last.length).toBe(3);
      expect(last[0]!.seq > last[1]!.seq).toBe(true);
      expect(last.every((r) => JSON.parse(r.json).level === 'info')).toBe(true);
      const files = await store.readForFiles(res.firstSeq - 1n, 15);
      expect(files.rows.map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => res.firstSeq + BigInt(i)));
      expect(files.through).toBe(res.firstSeq + 14n);
      expect(files.rows[0]!.day).toBe('2023-11-14');
    });

    it('keeps text of every kind exactly: escapes, non-ASCII, backslashes in attrs', async () => {
      const awkward = record(1, {
        message: 'tab\there, "quoted", back\\slash, \\u0041 literal, ünïcødé, emoji \u{1F600}, bell \u0007, del \u007f',
        service: 'a\\tb',
        host: 'naïve',
        attrs: '{"path":"C:\\\\temp\\\\x","q":"say \\"hi\\"","u":"\\u00e9é","nl":"a\\nb"}',
      });
      await store.append(batchOf([awkward]));
      const [got] = (await store.queryPage({ tenant: 'default', limit: 1, order: 'asc' })).items;
      expect(got!.message).toBe(awkward.message);
      expect(got!.service).toBe(awkward.service);
      expect(got!.host).toBe(awkward.host);
      expect(got!.attrs).toBe(awkward.attrs);
      const found = await store.queryPage({ tenant: 'default', query: parseQuery('attrs.u:"éé"'), limit: 1, order: 'asc' });
      expect(found.items.length).toBe(1);
    });

    it('counts rows per tenant day and expires whole days', async () => {
      const day = 86_400_000_000n;
      await store.append(batchOf([record(1), record(2), record(3, { ts: T0 + day }), record(4, { ts: T0 + day, tenant: 'acme' })]));
      const counts = await store.dayCounts();
      expect(counts.map((c) => [c.tenant, c.day, c.rows])).toEqual([
        ['default', '2023-11-14', 2],
        ['acme', '2023-11-15', 1],
        ['default', '2023-11-15', 1],
      ]);
      const plan = { rules: [], defaultBefore: T0 + day - 1n };
      const candidates = await store.expiryCandidates(plan);
      expect(candidates.map((c) => [c.tenant, c.day, c.rows])).toEqual([['default', '2023-11-14', 2]]);
      expect(await store.expire(plan, [{ tenant: 'default', day: '2023-11-14' }])).toBe(2);
      expect((await store.dayCounts()).map((c) => c.day)).toEqual(['2023-11-15', '2023-11-15']);
      expect((await store.stats()).rows).toBe(2);
    });

    it('writes a tenant day to Parquet and restores it from there, sequence numbers included', async () => {
      const day = 86_400_000_000n;
      const dayStart = T0 - (T0 % day);
      await store.append(batchOf([...Array.from({ length: 20 }, (_, i) => record(i, { category: i % 2 ? 'http' : null })), record(3, { tenant: 'acme' }), record(4, { ts: T0 + day })]));
      const before = (await store.queryPage({ tenant: 'default', from: dayStart, to: dayStart + day, limit: 100, order: 'asc' })).items;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-conformance-'));
      try {
        const file = path.join(dir, 'day.parquet');
        expect(await store.writeDayParquet({ tenant: 'default', from: dayStart, to: dayStart + day, file })).toBe(20);
        const plan = { rules: [], defaultBefore: dayStart + day };
        expect(await store.expire(plan, [{ tenant: 'default', day: '2023-11-14' }])).toBe(20);
        expect((await store.queryPage({ tenant: 'default', from: dayStart, to: dayStart + day, limit: 100, order: 'asc' })).items).toEqual([]);
        expect(await store.restoreDay({ tenant: 'default', from: dayStart, to: dayStart + day, file })).toEqual({ restored: 20, present: 0 });
        expect((await store.queryPage({ tenant: 'default', from: dayStart, to: dayStart + day, limit: 100, order: 'asc' })).items).toEqual(before);
        expect(await store.restoreDay({ tenant: 'default', from: dayStart, to: dayStart + day, file })).toEqual({ restored: 0, present: 20 });
        await expect(store.restoreDay({ tenant: 'acme', from: dayStart, to: dayStart + day, file })).rejects.toThrow(/another tenant or day/);
        expect((await store.dayCounts()).find((c) => c.tenant === 'default' && c.day === '2023-11-14')?.rows).toBe(20);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('counts over time for any window and step the same as counting the rows', async () => {
      // Rows every 7 minutes over two days, two tenants.
      const recs = Array.from({ length: 420 }, (_, i) => record(i, { ts: T0 + BigInt(i) * 420_000_000n, tenant: i % 3 === 0 ? 'acme' : 'default', ...(i % 5 === 0 ? { level: null } : {}) }));
      await store.append(batchOf(recs.slice(0, 200)));
      await store.append(batchOf(recs.slice(200)));
      const windows: [bigint | undefined, bigint | undefined][] = [
        [undefined, undefined],
        [T0 + 1_234_567_891n, T0 + 86_400_000_000n + 17n],
        [T0 - 3_600_000_000n, T0 + 7_200_000_000n],
        [T0 + 5_000_000_000n, undefined],
      ];
      for (const [from, to] of windows) {
        for (const step of [60_000_000n, 3_600_000_000n, 86_400_000_000n]) {
          const got = await store.histogram({ tenant: 'default', from, to, stepMicros: step });
          const want = new Map<bigint, number>();
          for (const r of recs) {
            if (r.tenant !== 'default' || (from !== undefined && r.ts < from) || (to !== undefined && r.ts >= to)) continue;
            const k = (r.ts / step) * step;
            want.set(k, (want.get(k) ?? 0) + 1);
          }
          expect(got, `window ${from}..${to}, step ${step}`).toEqual([...want].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([ts, count]) => ({ ts, count })));
        }
      }
      // By level: one bucket per (start, level present), records without a level under null.
      for (const step of [60_000_000n, 3_600_000_000n]) {
        const from = T0 + 1_234_567_891n;
        const got = await store.histogram({ tenant: 'default', from, stepMicros: step, byLevel: true, ...(step === 60_000_000n ? { query: parseQuery('-level:debug') } : {}) });
        const want = new Map<string, { ts: bigint; count: number; level: string | null }>();
        for (const r of recs) {
          if (r.tenant !== 'default' || r.ts < from || (step === 60_000_000n && r.level === 'debug')) continue;
          const k = (r.ts / step) * step;
          const key = `${k} ${r.level}`;
          const b = want.get(key) ?? { ts: k, count: 0, level: r.level };
          b.count++;
          want.set(key, b);
        }
        const order = (a: { ts: bigint; level?: string | null }, b: { ts: bigint; level?: string | null }) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : String(a.level).localeCompare(String(b.level)));
        expect([...got].sort(order), `by level, step ${step}`).toEqual([...want.values()].sort(order));
      }
      // After an expiry, the counts follow.
      const plan = { rules: [], defaultBefore: T0 + 86_400_000_000n };
      await store.expire(plan, [{ tenant: 'default', day: '2023-11-14' }]);
      const after = await store.histogram({ tenant: 'default', stepMicros: 3_600_000_000n });
      const left = recs.filter((r) => r.tenant === 'default' && r.ts >= T0 - (T0 % 86_400_000_000n) + 86_400_000_000n).length;
      expect(after.reduce((n, b) => n + b.count, 0)).toBe(left);
    });
  });
}
