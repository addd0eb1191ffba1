// Retention through a real server: records over ten past days, `retention.days` and rules by
// level and category (the first that matches decides). Nothing leaves the hot store before its
// day is archived; after `archive run` and `db maintain` exactly the records the rules keep
// remain, in exports and in search; the archives still verify; after a restart new records
// take new sequence numbers and everything still answers the same. `archive restore` brings an
// expired day back with every field as an export had it before, and holds it from retention.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { DAY_MS, morningOf, utcDayStart } from '../helpers/utc-days.js';

let dir: string;
let server: ChildServer | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-retention-'));
});

afterEach(async () => {
  if (server !== undefined && server.proc.exitCode === null && server.proc.signalCode === null) await stopChild(server);
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const RULES = [
  { level: 'error', days: 0 },
  { level: 'debug', days: 3 },
  { category: 'audit*', days: 8 },
];
const ENV = { LOGHAVEN_LIFECYCLE_INTERVAL_MS: '3600000', LOGHAVEN_RETENTION_DAYS: '5', LOGHAVEN_RETENTION_RULES: JSON.stringify(RULES) };
const LEVELS = ['info', 'error', 'debug', 'warn'];
const CATEGORIES = ['general', 'audit', 'audit-trail', 'payments'];

interface Sent {
  id: string;
  back: number;
  level: string;
  category: string;
}

/** Days to keep for a record: the first rule that matches it, else retention.days. */
function keptDays(s: Sent): number {
  if (s.level === 'error') return 0;
  if (s.level === 'debug') return 3;
  if (s.category.startsWith('audit')) return 8;
  return 5;
}
const kept = (s: Sent) => keptDays(s) === 0 || s.back <= keptDays(s);

const cli = runCli;

/** Bytes of the files under a directory, all the way down (what retention.max_disk_bytes bounds). */
function filesBytes(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, f) => n + filesBytes(path.join(p, f)), 0);
}

async function ids(url: string, q = ''): Promise<string[]> {
  const from = new Date(Date.now() - 30 * DAY_MS).toISOString();
  const r = await fetch(`${url}/api/v1/logs/export?from=${from}&format=ndjson${q ? `&q=${encodeURIComponent(q)}` : ''}`);
  expect(r.status).toBe(200);
  return (await r.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { attrs: { id: string } }).attrs.id)
    .sort();
}

/** One UTC day's export, lines as the API gives them. */
async function exportDay(url: string, day: string): Promise<string[]> {
  const from = `${day}T00:00:00Z`;
  const r = await fetch(`${url}/api/v1/logs/export?from=${from}&to=${new Date(Date.parse(from) + DAY_MS).toISOString()}&format=ndjson`);
  expect(r.status).toBe(200);
  return (await r.text()).split('\n').filter(Boolean);
}

describe('retention', () => {
  it('keeps exactly what the rules keep, once the days are archived, and stays consistent over a restart', { timeout: 240_000 }, async () => {
    const data = path.join(dir, 'data');
    server = await startChild(data, { env: ENV });
    const sent: Sent[] = [];
    // Each record at 06:00 UTC of its day and a few seconds after, so no day's records cross midnight.
    const today = utcDayStart();
    for (let back = 2; back <= 11; back++) {
      for (let i = 0; i < 40; i++) sent.push({ id: `r-${back}-${i}`, back, level: LEVELS[i % 4]!, category: CATEGORIES[Math.floor(i / 4) % 4]! });
      // And three access-log entries a day, which the access table and its aggregates hold too.
      for (let i = 0; i < 3; i++) sent.push({ id: `a-${back}-${i}`, back, level: 'info', category: 'access' });
    }
    const body = sent
      .map((s, i) =>
        JSON.stringify({
          ts: new Date(morningOf(today, s.back) + (i % 7) * 1000).toISOString(),
          message: s.category === 'access' ? `GET /item/${i} HTTP/1.1` : `record ${s.id}`,
          id: s.id,
          level: s.level,
          category: s.category,
          ...(s.category === 'access' ? { source: 'alb', elb_status_code: 200, client: `10.0.0.${i % 5}` } : {}),
        }),
      )
      .join('\n');
    expect((await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body })).status).toBe(200);
    const all = sent.map((s) => s.id).sort();
    for (let t = 0; (await ids(server.url)).length < all.length && t < 300; t++) await new Promise((r) => setTimeout(r, 100));
    expect(await ids(server.url)).toEqual(all);

    const requests = async () => (JSON.parse(await (await fetch(`${server!.url}/api/v1/analytics/access/summary?from=${new Date(Date.now() - 30 * DAY_MS).toISOString()}`)).text()) as { requests: number }).requests;
    expect(await requests()).toBe(30);

    // Not archived yet: nothing leaves.
    const early = await cli(['db', 'maintain', '--url', server.url, '--format', 'json']);
    expect(early.code, early.stderr).toBe(0);
    const waited = JSON.parse(early.stdout) as { retention: { rows: number; waiting_for_archive: { day: string }[] } };
    expect(waited.retention.rows).toBe(0);
    expect(waited.retention.waiting_for_archive.length).toBeGreaterThan(0);
    expect(await ids(server.url)).toEqual(all);

    expect((await cli(['archive', 'run', '--url', server.url])).code).toBe(0);
    // An export of a day that will lose most of its records, taken before: what a restore must give back.
    const day9 = new Date(today - 9 * DAY_MS).toISOString().slice(0, 10);
    const before = await exportDay(server.url, day9);
    expect(before).toHaveLength(43);
    const done = await cli(['db', 'maintain', '--url', server.url, '--format', 'json']);
    expect(done.code, done.stderr).toBe(0);
    const want = sent.filter(kept).map((s) => s.id).sort();
    expect((JSON.parse(done.stdout) as { retention: { rows: number; waiting_for_archive: unknown[] } }).retention).toMatchObject({ rows: all.length - want.length, waiting_for_archive: [] });
    expect(await ids(server.url)).toEqual(want);
    // The access table and its aggregates lost the same days (kept 5 days: 2 to 5 back).
    expect(await requests()).toBe(12);
    // Search sees the same: a needle, and a level.
    expect(await ids(server.url, 'level:debug')).toEqual(sent.filter((s) => kept(s) && s.level === 'debug').map((s) => s.id).sort());
    expect(await ids(server.url, '"record r-9-1"')).toEqual(want.includes('r-9-1') ? ['r-9-1'] : []);
    expect(await ids(server.url, '"record r-9-13"')).toEqual(want.includes('r-9-13') ? ['r-9-13'] : []);
    // db stats: every tier's rows, days and bytes as the data directory has them.
    const st = await cli(['db', 'stats', '--url', server.url, '--format', 'json']);
    expect(st.code, st.stderr).toBe(0);
    const stats = JSON.parse(st.stdout) as {
      hot: { rows: number; days: number; bytes: number };
      archive: { days: number; records: number; tar_bytes: number; parquet_bytes: number; tar_ratio: number };
      cold: { days: number; records: number };
      by_day: { day: string; hot_rows: number; archived_records: number }[];
    };
    const archiveFiles = fs.readdirSync(path.join(data, 'archive', 'default'));
    const sizeOf = (ext: string) => archiveFiles.filter((f) => f.endsWith(ext)).reduce((n, f) => n + fs.statSync(path.join(data, 'archive', 'default', f)).size, 0);
    expect(stats.hot.rows).toBe(want.length);
    expect(stats.hot.days).toBe(new Set(sent.filter(kept).map((s) => s.back)).size);
    expect(stats.archive).toMatchObject({ days: 10, records: all.length, tar_bytes: sizeOf('.tar.gz'), parquet_bytes: sizeOf('.parquet') });
    // Every day keeps its errors: none is gone from the hot store, so none is read from its archive.
    expect(stats.cold).toEqual({ days: 0, records: 0 });
    expect(stats.by_day.reduce((n, d) => n + d.hot_rows, 0)).toBe(want.length);
    expect(stats.hot.bytes).toBeGreaterThan(0);
    const optimized = await cli(['db', 'optimize', '--url', server.url, '--format', 'json']);
    expect(optimized.code, optimized.stderr).toBe(0);
    expect(JSON.parse(optimized.stdout)).toMatchObject({ bytes_after: expect.any(Number) });
    const monitor = await cli(['db', 'monitor', '--url', server.url, '--interval', '200ms', '--count', '2', '--format', 'json']);
    expect(monitor.code, monitor.stderr).toBe(0);
    expect(monitor.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { rows: number }).rows)).toEqual([want.length, want.length]);
    // The archives keep every record of every day.
    expect((await cli(['archive', 'verify', '--dir', path.join(data, 'archive')])).code).toBe(0);
    const again = JSON.parse((await cli(['db', 'maintain', '--url', server.url, '--format', 'json'])).stdout) as { retention: { rows: number } };
    expect(again.retention.rows).toBe(0);

    // Restore: the day's rows exactly as the export had them, every field; then held from retention.
    expect((await exportDay(server.url, day9)).length).toBeLessThan(43);
    const restored = await cli(['archive', 'restore', day9, '--url', server.url, '--format', 'json']);
    expect(restored.code, restored.stderr).toBe(0);
    const back = JSON.parse(restored.stdout) as { restored: { tenant: string; day: string; restored: number; present: number }[] };
    expect(back.restored).toEqual([{ tenant: 'default', day: day9, restored: 43 - sent.filter((s) => s.back === 9 && kept(s)).length, present: sent.filter((s) => s.back === 9 && kept(s)).length }]);
    expect(await exportDay(server.url, day9)).toEqual(before);
    expect(await ids(server.url, '"record r-9-1"')).toEqual(['r-9-1']);
    expect(await requests()).toBe(15);
    const held = JSON.parse((await cli(['db', 'maintain', '--url', server.url, '--format', 'json'])).stdout) as { retention: { rows: number; held: { day: string }[] } };
    expect(held.retention.rows).toBe(0);
    expect(held.retention.held.map((h) => h.day)).toEqual([day9]);
    expect(await exportDay(server.url, day9)).toEqual(before);
    // Restoring again changes nothing; a day without an archive is a clear error.
    expect(JSON.parse((await cli(['archive', 'restore', day9, '--url', server.url, '--format', 'json'])).stdout)).toMatchObject({ restored: [{ restored: 0, present: 43 }] });
    const none = await cli(['archive', 'restore', '2001-01-01', '--url', server.url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no archive of 2001-01-01/);
    const wantNow = [...want, ...sent.filter((s) => s.back === 9 && !kept(s)).map((s) => s.id)].sort();

    await stopChild(server);
    server = await startChild(data, { env: ENV });
    expect(await ids(server.url)).toEqual(wantNow);
    expect(await exportDay(server.url, day9)).toEqual(before);
    const late = { ts: new Date().toISOString(), message: 'after the restart', id: 'new-1' };
    expect((await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: JSON.stringify(late) })).status).toBe(200);
    for (let t = 0; (await ids(server.url)).length < wantNow.length + 1 && t < 300; t++) await new Promise((r) => setTimeout(r, 100));
    expect(await ids(server.url)).toEqual([...wantNow, 'new-1'].sort());
  });

  it('keeps the data directory under retention.max_disk_bytes by removing the oldest whole days from every tier', { timeout: 240_000 }, async () => {
    const data = path.join(dir, 'data');
    // A grace of a second: yesterday is closed (and archived) even in the first hour after UTC midnight.
    const quiet = { LOGHAVEN_LIFECYCLE_INTERVAL_MS: '3600000', LOGHAVEN_LIFECYCLE_GRACE: '1s' };
    server = await startChild(data, { env: quiet });
    // Ten past days and today, 4,000 records a day with payloads that do not compress away. Each
    // day's records stay inside their UTC day whatever the time of day: past days from 06:00,
    // today's from its midnight or the last 40 seconds, whichever is later.
    const PER_DAY = 4000;
    const BACK = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const now = Date.now();
    const today = utcDayStart(now);
    const startOf = (back: number) => (back === 0 ? Math.max(today, now - PER_DAY * 10) : morningOf(today, back));
    const noise = (n: number) => createHash('sha256').update(String(n)).digest('base64');
    for (const back of [0, ...BACK]) {
      const lines = Array.from({ length: PER_DAY }, (_, i) =>
        JSON.stringify({ ts: new Date(startOf(back) + i * 10).toISOString(), message: `record ${back}-${i} ${noise(back * 1e6 + i)}`, id: `${back}-${i}`, blob: noise(-back * 1e6 - i) }),
      );
      const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines.join('\n') });
      expect(r.status).toBe(200);
    }
    const total = PER_DAY * (BACK.length + 1);
    for (let t = 0; (await ids(server.url)).length < total && t < 300; t++) await new Promise((r) => setTimeout(r, 100));
    expect((await ids(server.url)).length).toBe(total);
    expect((await cli(['archive', 'run', '--url', server.url])).code).toBe(0);
    const dayOf = (back: number) => new Date(today - back * DAY_MS).toISOString().slice(0, 10);
    const exports = new Map<number, string[]>();
    for (const back of [0, ...BACK]) exports.set(back, await exportDay(server.url, dayOf(back)));
    await stopChild(server);

    // A bound well under what the directory holds now.
    const full = filesBytes(data);
    const bound = Math.floor(full * 0.55);
    // With retention.days too: the rules first take days 8 to 10 back out of the hot store (their
    // archives keep them: cold days), then the bound removes the oldest days whole.
    server = await startChild(data, { env: { ...quiet, LOGHAVEN_RETENTION_DAYS: '7', LOGHAVEN_RETENTION_MAX_DISK_BYTES: String(bound) } });
    const done = await cli(['db', 'maintain', '--url', server.url, '--format', 'json']);
    expect(done.code, done.stderr).toBe(0);
    const size = (JSON.parse(done.stdout) as { retention: { size: { max_bytes: number; bytes_before: number; bytes_after: number; over: boolean; days: { day: string; hot_rows: number; archives: number }[] } } }).retention.size;
    expect(size).toMatchObject({ max_bytes: bound, over: false });
    expect(filesBytes(data)).toBeLessThanOrEqual(bound);
    expect(size.bytes_after).toBe(filesBytes(data));

    // The days removed are the oldest ones, whole: gone from search (cold days included: the
    // cold tier no longer reads their files) and from the archives.
    const removed = size.days.map((d) => d.day);
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.length).toBeLessThan(BACK.length);
    expect(removed).toEqual([...BACK].reverse().slice(0, removed.length).map(dayOf));
    for (const d of size.days) expect(d).toMatchObject({ hot_rows: BACK.filter((b) => dayOf(b) === d.day && b <= 7).length * PER_DAY, archives: 1 });
    expect(removed).toContain(dayOf(8));
    const archived = fs.readdirSync(path.join(data, 'archive', 'default'));
    for (const back of [0, ...BACK]) {
      const gone = removed.includes(dayOf(back));
      expect(await exportDay(server.url, dayOf(back))).toEqual(gone ? [] : exports.get(back));
      expect(archived.includes(`${dayOf(back)}.tar.gz`)).toBe(back !== 0 && !gone);
    }
    expect((await cli(['archive', 'verify', '--url', server.url])).code).toBe(0);
    // Under the bound now: the next run removes nothing.
    const again = JSON.parse((await cli(['db', 'maintain', '--url', server.url, '--format', 'json'])).stdout) as { retention: { size: { days: unknown[] } } };
    expect(again.retention.size.days).toEqual([]);
  });
});
