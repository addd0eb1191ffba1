// Rows acknowledged but not loaded yet are read from the hot tier (staged in memory with the
// sequence numbers the pipeline predicts). Whatever is staged and whatever is loaded, every read
// must answer exactly what a store holding the same rows fully loaded answers: the same rows,
// the same sequence numbers, the same counts — also while segments load between two reads.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/model/record.js';
import { Metrics } from '../../src/observability/metrics.js';
import { IngestPipeline } from '../../src/pipeline/ingest-pipeline.js';
import { parseQuery } from '../../src/query/parser.js';
import { recordToJson } from '../../src/query/record-format.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { rowsOf } from '../../src/store/row-format.js';
import type { PageRequest, Store } from '../../src/store/store.js';

const T0 = 1_764_000_000_000_000n;
const WORDS = ['alpha', 'beta', 'gamma', 'timeout', 'reset', 'payment'];

function batchOf(b: number, n: number): LogRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const k = b * 1000 + i;
    return {
      // Mostly in order, some late (the hot pieces' time ranges overlap the table's), some tied.
      // Two in the year 9999, past what a double holds exactly (as doubles they tie): staged, they
      // send pages with no query through the engine rather than memory.
      ts: k === 4503 || k === 4504 ? 253_402_300_799_999_990n + BigInt(4504 - k) : T0 + BigInt(k % 23 === 0 ? k - 1 : k) * 1000n - (k % 17 === 0 ? 50_000_000n : 0n),
      receivedAt: T0,
      tenant: k % 9 === 0 ? 'acme' : 'default',
      level: (['info', 'warn', 'error'] as const)[k % 3]!,
      severity: k % 5 === 0 ? null : (k % 24) + 1,
      service: `svc-${k % 4}`,
      host: k % 2 === 0 ? null : `host-${k % 3}`,
      category: null,
      source: null,
      // Some text the row format escapes, which reads must give back as it came.
      message: `${WORDS[k % WORDS.length]} ${WORDS[(k * 7) % WORDS.length]} #${k}${k % 11 === 0 ? ' "quoted"\ttab\\ café ✓\u0001' : ''}`,
      traceId: null,
      spanId: null,
      attrs: JSON.stringify({ n: k % 50, status: k % 13 === 0 ? 500 : 200 }),
    };
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-staged-'));
let staged: DuckDbStore;
let loaded: DuckDbStore;
let pipeline: IngestPipeline;
const silent = { info: () => undefined, error: () => undefined };

beforeAll(async () => {
  staged = await DuckDbStore.open({ file: path.join(dir, 'staged.duckdb'), threads: 2, memoryLimit: '256MB', log: silent });
  loaded = await DuckDbStore.open({ file: path.join(dir, 'loaded.duckdb'), threads: 2, memoryLimit: '256MB', log: silent });
  await staged.migrate();
  await loaded.migrate();
  pipeline = await IngestPipeline.open(
    staged,
    {
      spoolDir: path.join(dir, 'spool'),
      durability: 'none',
      fsyncIntervalMs: 50,
      queueMaxBytes: 64 * 2 ** 20,
      spoolMaxBytes: 64 * 2 ** 20,
      maxBatchRows: 10_000,
      flushIntervalMs: 0,
      maxRowBytes: 2 ** 20,
      // Segments of 3,000 rows: some load while later ones stay staged.
      segmentRows: 3000,
      segmentMaxBytes: 64 * 2 ** 20,
      loadIntervalMs: 3_600_000,
    },
    new Metrics(),
    silent,
  );
}, 60_000);

afterAll(async () => {
  await pipeline?.drain();
  await staged?.close();
  await loaded?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function sameAnswers(a: Store, b: Store): Promise<void> {
  const maxSeq = await b.maxSeq();
  expect(await a.maxSeq()).toBe(maxSeq);
  for (const q of [undefined, 'alpha', '"timeout reset"', 'status:500', 'level:>=warn service:svc-1', '-beta', 'n:<10 OR gamma']) {
    for (const tenant of ['default', 'acme']) {
      for (const order of ['asc', 'desc'] as const) {
        for (const limit of [7, 500]) {
          const req: PageRequest = { tenant, query: q === undefined ? undefined : parseQuery(q), order, limit, maxSeq };
          const [x, y] = await Promise.all([a.queryPage(req), b.queryPage(req)]);
          expect(x.items, `${q} ${tenant} ${order} ${limit}`).toEqual(y.items);
          // The next page, by cursor, too.
          const last = y.items[y.items.length - 1];
          if (last) {
            const after = { ...req, after: { ts: last.ts, seq: last.seq } };
            const [x2, y2] = await Promise.all([a.queryPage(after), b.queryPage(after)]);
            expect(x2.items.map((r) => r.seq), `${q} next`).toEqual(y2.items.map((r) => r.seq));
          }
        }
      }
      // A time window, which the pages with no query apply to the staged rows themselves.
      for (const order of ['asc', 'desc'] as const) {
        const req: PageRequest = { tenant, query: q === undefined ? undefined : parseQuery(q), from: T0 + 3_000_000n, to: T0 + 6_500_000n, order, limit: 300, maxSeq };
        expect((await a.queryPage(req)).items, `${q} ${tenant} ${order} window`).toEqual((await b.queryPage(req)).items);
      }
      const sel = { tenant, query: q === undefined ? undefined : parseQuery(q) };
      expect(await a.histogram({ ...sel, stepMicros: 60_000_000n }), `${q} histogram`).toEqual(await b.histogram({ ...sel, stepMicros: 60_000_000n }));
      expect(await a.topValues({ ...sel, field: 'service', limit: 10 }), `${q} top`).toEqual(await b.topValues({ ...sel, field: 'service', limit: 10 }));
      // Fifty values of nearly equal counts: the top five is decided by ties.
      expect(await a.topValues({ ...sel, field: 'n', limit: 5 }), `${q} top n`).toEqual(await b.topValues({ ...sel, field: 'n', limit: 5 }));
      const tail = { ...sel, afterSeq: maxSeq - 2500n, maxSeq, limit: 1000 };
      expect((await a.readAfter(tail)).map((r) => r.seq), `${q} tail`).toEqual((await b.readAfter(tail)).map((r) => r.seq));
      // Rendered by the engine (staged or loaded), each record reads exactly as search results do.
      expect((await a.readAfterJson(tail)).map((r) => r.json), `${q} tail json`).toEqual((await b.readAfter(tail)).map(recordToJson));
      const last = { ...tail, afterSeq: 0n, limit: 30, order: 'desc' as const };
      expect((await a.readAfter(last)).map((r) => r.seq), `${q} backfill`).toEqual((await b.readAfter(last)).map((r) => r.seq));
    }
  }
}

describe('staged reads', () => {
  it('answer like a store with every row loaded, as batches arrive and segments load', async () => {
    for (let b = 0; b < 8; b++) {
      const recs = batchOf(b, 1000);
      await pipeline.submit(rowsOf(recs), 1000);
      await loaded.append(rowsOf(recs));
      // Readable now: staged, with whatever full segments the loader has taken meanwhile.
      await pipeline.visible('staged');
      if (b === 0) expect(pipeline.backlogBytes).toBeGreaterThan(0); // nothing loaded: all staged
      await sameAnswers(staged, loaded);
    }
    // Everything loaded (the open segment too), the staged pieces gone: the same again.
    await pipeline.visible('loaded');
    await sameAnswers(staged, loaded);
  }, 240_000);
});
