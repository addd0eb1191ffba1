// The pipeline against a real DuckDB store: batches are cut into spool segments of exactly
// segmentRows rows (a batch crossing the line is split at a row boundary), each segment is loaded
// once, and a search after an acknowledgement sees every acknowledged row.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../observability/metrics.js';
import { rowsOf } from '../store/row-format.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { IngestPipeline, type IngestPipelineOptions } from './ingest-pipeline.js';
import type { LogRecord } from '../model/record.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const quiet = { info: () => undefined, error: () => undefined };

function record(i: number): LogRecord {
  const ts = 1_700_000_000_000_000n + BigInt(i);
  return { ts, receivedAt: ts, tenant: 'default', level: 'info', severity: null, service: 's', host: null, category: null, source: null, message: `m${i}`, traceId: null, spanId: null, attrs: `{"i":${i}}` };
}

async function open(options: Partial<IngestPipelineOptions> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-pipeline-'));
  dirs.push(dir);
  const file = path.join(dir, 'db.duckdb');
  const store = await DuckDbStore.open({ file, threads: 1, memoryLimit: '256MB' });
  await store.migrate();
  const pipeline = await IngestPipeline.open(
    store,
    {
      spoolDir: path.join(dir, 'spool'),
      durability: 'fsync',
      fsyncIntervalMs: 50,
      queueMaxBytes: 2 ** 20,
      spoolMaxBytes: 2 ** 20,
      maxBatchRows: 1000,
      flushIntervalMs: 0,
      maxRowBytes: 2 ** 16,
      segmentRows: 10,
      segmentMaxBytes: 2 ** 20,
      loadIntervalMs: 60_000,
      ...options,
    },
    new Metrics(),
    quiet,
  );
  return { store, pipeline, file };
}

async function segmentRows(file: string): Promise<number[]> {
  const instance = await DuckDBInstance.create(file);
  const conn = await instance.connect();
  try {
    const r = await conn.runAndReadAll('SELECT rows FROM spool_segments ORDER BY id');
    return r.getRows().map((row) => Number(row[0]));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('IngestPipeline', () => {
  it('cuts segments of exactly segmentRows, splitting batches at row boundaries, and loads each row once', async () => {
    const { store, pipeline, file } = await open();
    let n = 0;
    // Seven batches of 7 rows, submitted at once and one by one.
    await Promise.all(Array.from({ length: 4 }, () => pipeline.submit(rowsOf(Array.from({ length: 7 }, () => record(n++))), 100)));
    for (let b = 0; b < 3; b++) await pipeline.submit(rowsOf(Array.from({ length: 7 }, () => record(n++))), 100);
    await pipeline.visible();
    const page = await store.queryPage({ tenant: 'default', limit: 1000, order: 'asc' });
    expect(page.items.map((r) => r.message)).toEqual(Array.from({ length: 49 }, (_, i) => `m${i}`));
    expect(new Set(page.items.map((r) => r.seq)).size).toBe(49);
    await pipeline.drain();
    await store.close();
    expect(await segmentRows(file)).toEqual([10, 10, 10, 10, 9]);
  });

  it('also cuts segments at segmentMaxBytes, and gives a row bigger than that a segment of its own', async () => {
    const { store, pipeline, file } = await open({ segmentRows: 1000, segmentMaxBytes: 400 });
    const rows = rowsOf(Array.from({ length: 12 }, (_, i) => record(i)));
    expect(rows.bytes.length / 12).toBeGreaterThan(400 / 6); // so five rows fit in 400 bytes, not six
    expect(rows.bytes.length / 12).toBeLessThan(400 / 5);
    await pipeline.submit(rows, 100);
    const wide = { ...record(99), attrs: JSON.stringify({ blob: 'x'.repeat(1000) }) };
    await pipeline.submit(rowsOf([record(12), wide, record(13)]), 100);
    await pipeline.visible();
    const page = await store.queryPage({ tenant: 'default', limit: 100, order: 'asc' });
    expect(page.items.length).toBe(15);
    await pipeline.drain();
    await store.close();
    // 5 + 5 rows, then the last 2 with record 12, the wide row alone, record 13.
    expect(await segmentRows(file)).toEqual([5, 5, 3, 1, 1]);
  });

  it('refuses a batch past the backlog bound with 429 and takes batches again once it is loaded', async () => {
    const { store, pipeline } = await open({ spoolMaxBytes: 1, segmentRows: 1_000_000 });
    await pipeline.submit(rowsOf([record(1)]), 10);
    await expect(pipeline.submit(rowsOf([record(2)]), 10)).rejects.toMatchObject({
      code: 'LH_ERR_OVERLOADED',
      message: expect.stringMatching(/^ingest is full, retry later: the store is behind: \d+ bytes acknowledged are not loaded yet \(limit 1, ingest\.spool_max_bytes\)$/),
    });
    await pipeline.visible('loaded'); // loads the open segment
    await pipeline.submit(rowsOf([record(3)]), 10);
    await pipeline.visible('loaded');
    const page = await store.queryPage({ tenant: 'default', limit: 10, order: 'asc' });
    expect(page.items.map((r) => r.message)).toEqual(['m1', 'm3']);
    await pipeline.drain();
    await store.close();
  });
});
