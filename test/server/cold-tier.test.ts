// The cold tier through a real server: days that retention took out of the hot store are read
// from their Parquet archives by searches (pages and cursors across both tiers), exports,
// histograms and top values, which answer exactly as they did before the days expired; a
// needle in an archived day is found, and the search's stats say days were read cold.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { DAY_MS, morningOf, utcDayStart } from '../helpers/utc-days.js';

let dir: string;
let server: ChildServer | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-cold-'));
});

afterEach(async () => {
  if (server !== undefined && server.proc.exitCode === null && server.proc.signalCode === null) await stopChild(server);
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const ENV = { LOGHAVEN_LIFECYCLE_INTERVAL_MS: '3600000', LOGHAVEN_RETENTION_DAYS: '4', LOGHAVEN_CACHE_ENABLED: 'false' };

const cli = runCli;

const from = new Date(Date.now() - 20 * DAY_MS).toISOString();

async function get(url: string, route: string, params: Record<string, string>): Promise<string> {
  const r = await fetch(`${url}${route}?${new URLSearchParams({ from, ...params })}`);
  const body = await r.text();
  expect(r.status, body).toBe(200);
  return body;
}

/** Every page of a search, following the cursor. */
async function allPages(url: string, params: Record<string, string>): Promise<{ lines: string[]; coldDays: number }> {
  const lines: string[] = [];
  let cursor: string | null = null;
  let coldDays = 0;
  do {
    const page = JSON.parse(await get(url, '/api/v1/logs', { ...params, limit: '37', ...(cursor ? { cursor } : {}) })) as { items: object[]; next_cursor: string | null; stats: { cold_days?: number } };
    lines.push(...page.items.map((i) => JSON.stringify(i)));
    coldDays += page.stats.cold_days ?? 0;
    cursor = page.next_cursor;
  } while (cursor !== null);
  return { lines, coldDays };
}

describe('cold tier', () => {
  it('answers over expired, archived days exactly as the hot store did', { timeout: 240_000 }, async () => {
    server = await startChild(path.join(dir, 'data'), { env: ENV });
    // Each day's records within one UTC day (retention takes whole days), whatever the time now.
    const today = utcDayStart();
    const records = [];
    for (let back = 2; back <= 9; back++) {
      for (let i = 0; i < 60; i++) {
        records.push({ ts: new Date(morningOf(today, back) + i * 60_000).toISOString(), message: `day ${back} line ${i}${i === 13 ? ' needle-in-the-archive' : ''}`, level: ['info', 'warn', 'error'][i % 3], service: `svc-${i % 4}`, category: i % 2 ? 'odd' : 'even', n: i });
      }
    }
    const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: records.map((x) => JSON.stringify(x)).join('\n') });
    expect(r.status).toBe(200);
    const url = server.url;
    for (let t = 0; t < 300; t++) {
      if ((await get(url, '/api/v1/logs/export', { format: 'ndjson' })).split('\n').filter(Boolean).length === records.length) break;
      await new Promise((res) => setTimeout(res, 100));
    }

    const views = async () => ({
      export: await get(url, '/api/v1/logs/export', { format: 'ndjson' }),
      exportDesc: await get(url, '/api/v1/logs/export', { format: 'csv', order: 'desc', q: 'level:error' }),
      pages: await allPages(url, {}),
      pagesAsc: await allPages(url, { order: 'asc', q: 'service:svc-1' }),
      histogram: await get(url, '/api/v1/logs/histogram', { step: '6h' }),
      histogramByLevel: await get(url, '/api/v1/logs/histogram', { step: '6h', by: 'level' }),
      top: await get(url, '/api/v1/logs/top', { field: 'category' }),
      topService: await get(url, '/api/v1/logs/top', { field: 'service', q: 'level:warn' }),
      needle: JSON.parse(await get(url, '/api/v1/logs', { q: '"needle-in-the-archive"', limit: '100' })) as { items: { message: string }[] },
    });
    const before = await views();
    expect(before.export.split('\n').filter(Boolean)).toHaveLength(records.length);
    expect(before.needle.items).toHaveLength(8);

    expect((await cli(['archive', 'run', '--url', url])).code).toBe(0);
    const maintained = JSON.parse((await cli(['db', 'maintain', '--url', url, '--format', 'json'])).stdout) as { retention: { rows: number; expired: unknown[] } };
    // Days 5 to 9 back are gone from the hot store.
    expect(maintained.retention.rows).toBe(5 * 60);
    const stats = JSON.parse((await cli(['db', 'stats', '--url', url, '--format', 'json'])).stdout) as { hot: { rows: number }; cold: { days: number; records: number } };
    expect(stats.hot.rows).toBe(3 * 60);
    expect(stats.cold).toEqual({ days: 5, records: 5 * 60 });

    const after = await views();
    expect(after.export).toBe(before.export);
    expect(after.exportDesc).toBe(before.exportDesc);
    expect(after.pages.lines).toEqual(before.pages.lines);
    expect(before.pages.coldDays).toBe(0);
    expect(after.pages.coldDays).toBeGreaterThan(0);
    expect(after.pagesAsc.lines).toEqual(before.pagesAsc.lines);
    expect(after.histogram).toBe(before.histogram);
    expect(after.histogramByLevel).toBe(before.histogramByLevel);
    expect(before.histogramByLevel).toContain('"levels":{');
    expect(after.top).toBe(before.top);
    expect(after.topService).toBe(before.topService);
    expect(after.needle.items.map((i) => i.message).sort()).toEqual(before.needle.items.map((i) => i.message).sort());

    // Restored, a day is hot again, and still answers the same.
    const day7 = new Date(today - 7 * DAY_MS).toISOString().slice(0, 10);
    expect((await cli(['archive', 'restore', day7, '--url', url])).code).toBe(0);
    expect((JSON.parse((await cli(['db', 'stats', '--url', url, '--format', 'json'])).stdout) as { cold: { days: number } }).cold.days).toBe(4);
    const restored = await views();
    expect(restored.export).toBe(before.export);
    expect(restored.pages.lines).toEqual(before.pages.lines);

    // And after a restart, the cold days are found again.
    await stopChild(server);
    server = await startChild(path.join(dir, 'data'), { env: ENV });
    const again = await allPages(server.url, {});
    expect(again.lines).toEqual(before.pages.lines);
  });
});
