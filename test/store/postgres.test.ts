// The PostgreSQL backend against the real PostgreSQL at 127.0.0.1:5432 (database `test`): the
// conformance suite every backend passes, each store in a schema of its own so that suites running
// at once never meet. LOGHAVEN_REQUIRE_SERVICES=1 turns a missing PostgreSQL into a failure.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseQuery } from '../../src/query/parser.js';
import { afterAll, describe, expect, it } from 'vitest';
import { PG_URL, dropPgSchemas, openPgStore, pgSchema, postgresFor } from '../helpers/postgres.js';
import { PostgresStore } from '../../src/store/postgres/pg-store.js';
import { rowsOf } from '../../src/store/row-format.js';
import { describeStoreConformance, record } from './conformance.js';

const available = await postgresFor('the PostgreSQL store suite');

afterAll(async () => {
  if (available) await dropPgSchemas();
});

/** A store in a schema of its own; `schemaOf` tells which. */
const schemaOf = new Map<PostgresStore, string>();
async function open(instance = 'conformance'): Promise<PostgresStore> {
  const schema = pgSchema();
  const store = await openPgStore(schema, instance);
  schemaOf.set(store, schema);
  return store;
}

describe.runIf(available)('PostgreSQL store', () => {
  describeStoreConformance('postgres', () => open());

  it('refuses a second running instance with the same name (a copied data directory)', async () => {
    const first = await open('twin');
    await first.migrate();
    // The same database schema, the same instance name.
    const schema = schemaOf.get(first)!;
    const second = await PostgresStore.open({ url: PG_URL, instance: 'twin', schema, poolMax: 3, idleTimeoutMs: 10_000, connectTimeoutMs: 5000, acquireTimeoutMs: 10_000 });
    try {
      await first.peers.start();
      await expect(second.peers.start()).rejects.toThrow(/another running instance already has the name twin/);
      expect(await first.liveInstances()).toEqual(['twin']);
      // Once the first is gone, the name is free again (a restart after a crash).
      await first.close();
      const third = await PostgresStore.open({ url: PG_URL, instance: 'twin', schema, poolMax: 3, idleTimeoutMs: 10_000, connectTimeoutMs: 5000, acquireTimeoutMs: 10_000 });
      await third.peers.start();
      await third.close();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('skips with token summaries what cannot match, built by each instance for every segment, and answers as without them', async () => {
    const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-pg-index-')));
    const a = await open('idx-a');
    const schema = schemaOf.get(a)!;
    const opts = { url: PG_URL, schema, poolMax: 4, idleTimeoutMs: 10_000, connectTimeoutMs: 5000, acquireTimeoutMs: 10_000 };
    const withIndex = await PostgresStore.open({ ...opts, instance: 'idx-a', indexDir: dirs[0] });
    const other = await PostgresStore.open({ ...opts, instance: 'idx-b', indexDir: dirs[1] });
    await a.close();
    const plain = await PostgresStore.open({ ...opts, instance: 'plain' });
    try {
      await withIndex.migrate();
      await other.migrate();
      await plain.migrate();
      const DAY = 86_400_000_000n;
      let n = 0;
      /** A segment file of `count` records; every 997th holds a rare word. */
      const segment = (count: number, over: (i: number) => Partial<Parameters<typeof record>[1]> = () => ({})) => {
        const file = path.join(dirs[0]!, `seg-${++n}.tsv`);
        fs.writeFileSync(file, rowsOf(Array.from({ length: count }, (_, i) => record(n * 100_000 + i, { message: i % 997 === 0 ? `rare${n} quixotic word ${i}` : `common line ${i}`, ...over(i) }))).bytes);
        return file;
      };
      await withIndex.loadSegment(segment(5000), 1n);
      await other.loadSegment(segment(4000, (i) => ({ attrs: JSON.stringify({ user: i === 7 ? 'zed' : 'amy', i }) })), 1n);
      await withIndex.loadSegment(segment(6000, (i) => ({ ts: record(0).ts + DAY / 2n + BigInt(i) * 20_000_000n })), 2n);
      // Rows no spool file gave this instance: appended, and a segment of which retention took a day.
      await withIndex.append(rowsOf([record(42, { message: 'appended quixotic' })]));
      await withIndex.expire({ rules: [], defaultBefore: record(0).ts + DAY }, [{ tenant: 'default', day: '2023-11-15' }]);
      await withIndex.indexIdle();
      await other.indexIdle();
      const status = withIndex.indexStatus();
      expect(status.segments).toBe(4);
      expect(status.pendingSegments).toBe(0);
      // Summarised from its file before retention took a day of it: its blocks still name its rows.
      expect(status.indexedSegments).toBe(4);
      // The other instance summarises it from the rows left, which no longer number its blocks:
      // it reads that segment in full.
      expect(other.indexStatus()).toMatchObject({ segments: 4, indexedSegments: 3, pendingSegments: 0 });
      for (const q of ['quixotic', 'rare1', 'rare2 quixotic', '"quixotic word"', 'quix*', 'user:zed', 'attrs.user:amy', '-common', 'appended', 'nothing-like-it', 'service:svc-1 quixotic']) {
        for (const order of ['asc', 'desc'] as const) {
          const req = { tenant: 'default', query: parseQuery(q), limit: 50, order };
          const want = (await plain.queryPage(req)).items;
          expect((await withIndex.queryPage(req)).items, `${q} ${order}`).toEqual(want);
          expect((await other.queryPage(req)).items, `${q} ${order} (other instance)`).toEqual(want);
        }
      }
      expect((await plain.queryPage({ tenant: 'default', query: parseQuery('quixotic'), limit: 50, order: 'asc' })).items.length).toBeGreaterThan(10);
    } finally {
      await withIndex.close();
      await other.close();
      await plain.close();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('turns U+0000, which PostgreSQL text cannot hold, into U+FFFD and keeps everything else', async () => {
    const store = await open();
    try {
      await store.migrate();
      await store.append(rowsOf([record(1, { message: 'nul \u0000 here', attrs: '{"a":"\\u0000"}' })]));
      const [got] = (await store.queryPage({ tenant: 'default', limit: 1, order: 'asc' })).items;
      expect(got!.message).toBe('nul \uFFFD here');
      expect(JSON.parse(got!.attrs)).toEqual({ a: '\u0000' });
    } finally {
      await store.close();
    }
  });
});
