import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/store/row-format.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { describeStoreConformance, record } from './conformance.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-duckdb-'));
let n = 0;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeStoreConformance('duckdb', () =>
  DuckDbStore.open({ file: path.join(dir, `store-${++n}.duckdb`), threads: 2, memoryLimit: '512MB' }),
);

describe('DuckDbStore memory headroom', () => {
  // Rows of 20 KB: DuckDB holds 2,048 rows at a time, about 40 MB, more than a 16 MB limit.
  const wide = (n: number) =>
    rowsOf(Array.from({ length: n }, (_, i) => record(i, { attrs: JSON.stringify({ blob: `${i}`.padEnd(20_000, 'x') }) })));

  it('retries a load that runs out of memory under a raised limit, then lowers it again', async () => {
    const boosts: string[] = [];
    const store = await DuckDbStore.open({
      file: path.join(dir, `wide-${++n}.duckdb`),
      threads: 2,
      memoryLimit: '16MB',
      maxMemoryLimit: '1GB',
      onMemoryBoost: (what) => boosts.push(what),
    });
    try {
      await store.migrate();
      const res = await store.append(wide(3000));
      expect(res.count).toBe(3000);
      expect(boosts).toEqual(['append']);
      expect((await store.stats()).rows).toBe(3000);
    } finally {
      await store.close();
    }
  });

  it('fails that load without a raised limit to go to', async () => {
    const store = await DuckDbStore.open({ file: path.join(dir, `wide-${++n}.duckdb`), threads: 2, memoryLimit: '16MB' });
    try {
      await store.migrate();
      await expect(store.append(wide(3000))).rejects.toThrow(/Out of Memory/);
    } finally {
      await store.close();
    }
  });
});
