// Daily archives through a real server and the real CLI: ten past days archived per tenant as
// tar.gz (read back with the system's tar and zcat, each member line for line the export of its
// category) and Parquet (read back with DuckDB, every row); verify passes, and names the file and
// member after one byte of an archive is flipped; kill -9 in the middle of archiving, restart,
// and the day is archived once, completely.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { DAY_MS } from '../helpers/utc-days.js';

let dir: string;
let server: ChildServer | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-archive-'));
});

afterEach(async () => {
  if (server !== undefined && server.proc.exitCode === null && server.proc.signalCode === null) await stopChild(server);
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

// Scheduled runs wait an hour: the test runs them itself.
const ENV = { LOGHAVEN_LIFECYCLE_INTERVAL_MS: '3600000' };
const CATEGORIES = ['payments', 'auth', null, 'odd/name é'];
const LEVELS = ['info', 'warn', 'error', 'debug', 'fatal'];

/** Ten closed days, the newest two days back (past any grace). */
const days = Array.from({ length: 10 }, (_, i) => new Date(Date.now() - (11 - i) * DAY_MS).toISOString().slice(0, 10));

const cli = runCli;

async function ingest(url: string, records: object[]): Promise<void> {
  for (let i = 0; i < records.length; i += 5000) {
    const r = await fetch(`${url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: records.slice(i, i + 5000).map((x) => JSON.stringify(x)).join('\n') });
    expect(r.status, await r.text()).toBe(200);
  }
}

/** The export of one day, one line per record, as the API gives it. */
async function exportDay(url: string, day: string): Promise<string[]> {
  const from = `${day}T00:00:00Z`;
  const to = new Date(Date.parse(from) + DAY_MS).toISOString();
  const r = await fetch(`${url}/api/v1/logs/export?from=${from}&to=${to}&format=ndjson&order=asc`);
  expect(r.status).toBe(200);
  return (await r.text()).split('\n').filter(Boolean);
}

async function until(what: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tarMember(archive: string, member: string): string[] {
  return execFileSync('tar', ['-xzOf', archive, member], { encoding: 'utf8', maxBuffer: 256 << 20 }).split('\n').filter(Boolean);
}

function flipByte(file: string, at: number): void {
  const b = fs.readFileSync(file);
  b[at]! ^= 0x55;
  fs.writeFileSync(file, b);
}

describe('daily archives', () => {
  it('archives ten closed days as tar.gz and Parquet that hold exactly the exported rows, and verify names a damaged member', { timeout: 240_000 }, async () => {
    server = await startChild(path.join(dir, 'data'), { env: ENV });
    const records: object[] = [];
    for (const [d, day] of days.entries()) {
      for (let i = 0; i < 120 + d * 7; i++) {
        const category = CATEGORIES[i % CATEGORIES.length];
        const ts = new Date(Date.parse(`${day}T00:00:00Z`) + ((i * 7919) % 86_400) * 1000 + (i % 1000)).toISOString();
        records.push({ ts, message: `day ${day} record ${i}`, level: LEVELS[i % LEVELS.length], service: `svc-${i % 3}`, ...(category === null ? {} : { category }), order: i, tags: ['a', i] });
      }
    }
    // And today's, which is not closed: never archived.
    records.push({ message: 'today', category: 'payments' });
    await ingest(server.url, records);
    await until(async () => (await exportDay(server!.url, days[9]!)).length === 120 + 9 * 7);

    // The category files have every record: the archives take them as they are.
    await until(async () => /^loghaven_files_behind_rows 0$/m.test(await (await fetch(`${server!.url}/metrics`)).text()));
    // Except the first day's, where someone added a line: that day is archived from the store.
    fs.appendFileSync(path.join(dir, 'data', 'files', days[0]!, 'payments.jsonl'), '{"message":"not a record of the store"}\n');
    const run = await cli(['archive', 'run', '--url', server.url, '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { archived: { tenant: string; day: string; records: number; members_from: string }[]; failed: unknown[] };
    expect(result.failed).toEqual([]);
    expect(result.archived.map((a) => [a.tenant, a.day, a.records, a.members_from])).toEqual(days.map((day, d) => ['default', day, 120 + d * 7, d === 0 ? 'store' : 'category files']));

    const archiveDir = path.join(dir, 'data', 'archive');
    const tenantDir = path.join(archiveDir, 'default');
    for (const day of days) {
      const lines = await exportDay(server.url, day);
      const tgz = path.join(tenantDir, `${day}.tar.gz`);
      const listed = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).trim().split('\n');
      expect(listed[listed.length - 1]).toBe('manifest.json');
      const manifest = JSON.parse(execFileSync('sh', ['-c', `zcat '${tgz}' | tar -xOf - manifest.json`], { encoding: 'utf8' })) as { records: number; members: { name: string; records: number }[] };
      expect(manifest.records).toBe(lines.length);
      // Each category member: that category's exported lines; error and warning: their levels'.
      const byCategory = new Map<string, string[]>();
      for (const l of lines) {
        const c = (JSON.parse(l) as { category: string | null }).category ?? 'general';
        byCategory.set(c, [...(byCategory.get(c) ?? []), l]);
      }
      const expected = new Map<string, string[]>();
      for (const [c, ls] of byCategory) expected.set(`${day}/${c === 'odd/name é' ? 'odd%2Fname%20%C3%A9' : c}.jsonl`, ls);
      expected.set(`${day}/error.jsonl`, lines.filter((l) => ['error', 'fatal'].includes((JSON.parse(l) as { level: string }).level)));
      expected.set(`${day}/warning.jsonl`, lines.filter((l) => (JSON.parse(l) as { level: string }).level === 'warn'));
      expect(listed.slice(0, -1).sort()).toEqual([...expected.keys()].sort());
      // As the category files hold them: in the order they were loaded.
      for (const [member, want] of expected) expect(tarMember(tgz, member).sort(), member).toEqual([...want].sort());
      expect(manifest.members.map((m) => [m.name, m.records]).sort()).toEqual([...expected].map(([n, ls]) => [n, ls.length]).sort());
    }

    // The Parquet files: every row, every column, the same as the store's.
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    const pq = (await conn.runAndReadAll(`SELECT strftime(ts, '%Y-%m-%d'), count(*), count(DISTINCT seq), min(tenant), max(tenant) FROM read_parquet('${tenantDir}/*.parquet') GROUP BY ALL ORDER BY 1`)).getRows();
    expect(pq.map((r) => [r[0], Number(r[1]), Number(r[2]), r[3], r[4]])).toEqual(days.map((day, d) => [day, 120 + d * 7, 120 + d * 7, 'default', 'default']));
    const sample = (await conn.runAndReadAll(`SELECT message, level, service, category, CAST(attrs AS VARCHAR) FROM read_parquet('${tenantDir}/${days[3]}.parquet') WHERE message = 'day ${days[3]} record 5'`)).getRows();
    expect(sample).toEqual([[`day ${days[3]} record 5`, 'info', 'svc-2', 'auth', '{"order":5,"tags":["a",5]}']]);
    conn.closeSync();
    duck.closeSync();

    const list = await cli(['archive', 'list', '--url', server.url, '--format', 'json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { day: string; complete: boolean; records: number }[]).map((a) => [a.day, a.complete, a.records])).toEqual(days.map((day, d) => [day, true, 120 + d * 7]));
    expect((await cli(['archive', 'verify', '--url', server.url])).code).toBe(0);
    expect((await cli(['archive', 'verify', '--dir', archiveDir])).code).toBe(0);
    expect((await cli(['archive', 'verify', days[2]!, '--dir', tenantDir])).code).toBe(0);

    // Nothing changed: nothing to do.
    const again = JSON.parse((await cli(['archive', 'run', '--url', server.url, '--format', 'json'])).stdout) as { archived: unknown[]; upToDate: number };
    expect([again.archived.length, again.upToDate]).toEqual([0, 10]);

    // One byte of a member's compressed data: verify names the file and the member.
    const damaged = path.join(tenantDir, `${days[4]}.tar.gz`);
    const size = fs.statSync(damaged).size;
    flipByte(damaged, Math.floor(size * 0.6));
    for (const args of [['--url', server.url], ['--dir', archiveDir]]) {
      const v = await cli(['archive', 'verify', ...args]);
      expect(v.code).toBe(1);
      expect(v.stdout).toMatch(new RegExp(`default/${days[4]}\\.tar\\.gz: member ${days[4]}/\\S+\\.jsonl: `));
      expect(v.stdout).not.toContain(days[5]);
    }
    flipByte(path.join(tenantDir, `${days[6]}.parquet`), 100);
    const v = await cli(['archive', 'verify', days[6]!, '--dir', archiveDir, '--format', 'json']);
    expect(v.code).toBe(1);
    expect(JSON.parse(v.stdout)).toMatchObject({ days: 1, problems: [{ day: days[6], file: `default/${days[6]}.parquet`, problem: 'SHA-256 differs from the manifest' }] });

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^loghaven_archive_days_total 10$/m);
    expect(metrics).toMatch(/^loghaven_archive_lag_seconds 0$/m);
  });

  it('after kill -9 in the middle of archiving, the next run archives the day once, completely', { timeout: 240_000 }, async () => {
    const data = path.join(dir, 'data');
    // No category files: the members are rendered from the store.
    server = await startChild(data, { env: { ...ENV, LOGHAVEN_FILES_ENABLED: 'false' } });
    const day = days[5]!;
    const records = Array.from({ length: 150_000 }, (_, i) => ({
      ts: new Date(Date.parse(`${day}T00:00:00Z`) + i * 500).toISOString(),
      message: `big day record ${i} ${'x'.repeat(i % 200)}`,
      level: LEVELS[i % LEVELS.length],
      category: `c${i % 40}`,
    }));
    await ingest(server.url, records);
    await until(async () => (await exportDay(server!.url, day)).length === records.length, 120_000);

    const staging = path.join(data, 'archive', 'default', `.staging-${day}`);
    const running = fetch(`${server.url}/api/v1/archive/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => null);
    await until(async () => fs.existsSync(staging), 60_000);
    server.proc.kill('SIGKILL');
    await server.exited;
    await running;
    expect(fs.existsSync(path.join(data, 'archive', 'default', `${day}.json`))).toBe(false);

    server = await startChild(data, { env: { ...ENV, LOGHAVEN_FILES_ENABLED: 'false' } });
    const before = await cli(['archive', 'verify', '--dir', path.join(data, 'archive')]);
    // Whatever the kill left is not an archive that verify accepts.
    if (fs.readdirSync(path.join(data, 'archive', 'default')).some((f) => f.startsWith(day))) expect(before.code).toBe(1);
    const run = await cli(['archive', 'run', '--url', server.url, '--format', 'json']);
    expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
    expect((JSON.parse(run.stdout) as { archived: { day: string; records: number; members_from: string }[] }).archived.map((a) => [a.day, a.records, a.members_from])).toEqual([[day, records.length, 'store']]);
    expect(fs.existsSync(staging)).toBe(false);
    expect((await cli(['archive', 'verify', '--dir', path.join(data, 'archive')])).code).toBe(0);
    const tgz = path.join(data, 'archive', 'default', `${day}.tar.gz`);
    let lines = 0;
    for (let c = 0; c < 40; c++) {
      const member = tarMember(tgz, `${day}/c${c}.jsonl`);
      // Rendered from the store: in time order.
      const ts = member.map((l) => (JSON.parse(l) as { ts: string }).ts);
      expect(ts).toEqual([...ts].sort());
      lines += member.length;
    }
    expect(lines).toBe(records.length);
    const again = JSON.parse((await cli(['archive', 'run', '--url', server.url, '--format', 'json'])).stdout) as { archived: unknown[] };
    expect(again.archived).toEqual([]);
  });

  it('keeps the archives keep_count and keep_days say, and neither archives a day it would delete nor holds retention for it', { timeout: 240_000 }, async () => {
    const data = path.join(dir, 'data');
    // One record on each of six closed days, 2 to 7 days back; the hot store keeps 3 days.
    const back = [2, 3, 4, 5, 6, 7];
    const now = Date.now();
    const dayOf = (b: number) => new Date(now - b * DAY_MS).toISOString().slice(0, 10);
    server = await startChild(data, { env: { ...ENV, LOGHAVEN_ARCHIVE_KEEP_COUNT: '2', LOGHAVEN_RETENTION_DAYS: '3' } });
    await ingest(server.url, back.map((b) => ({ ts: new Date(now - b * DAY_MS).toISOString(), message: `day ${b}` })));
    await until(async () => (await exportDay(server!.url, dayOf(7))).length === 1 && (await exportDay(server!.url, dayOf(2))).length === 1);
    const listed = async () => (JSON.parse((await cli(['archive', 'list', '--url', server!.url, '--format', 'json'])).stdout) as { day: string }[]).map((e) => e.day);

    // The run archives the two newest days alone; a second one does nothing.
    const first = await cli(['archive', 'run', '--url', server.url, '--format', 'json']);
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as { archived: { day: string }[] }).archived.map((a) => a.day)).toEqual([dayOf(3), dayOf(2)]);
    expect(await listed()).toEqual([dayOf(3), dayOf(2)]);
    const second = JSON.parse((await cli(['archive', 'run', '--url', server.url, '--format', 'json'])).stdout) as { archived: unknown[]; removed: unknown[] };
    expect(second).toMatchObject({ archived: [], removed: [] });

    // Retention does not wait for archives that would not be kept: days 4 to 7 back go.
    const maintained = JSON.parse((await cli(['db', 'maintain', '--url', server.url, '--format', 'json'])).stdout) as { retention: { waiting_for_archive: unknown[]; expired: { day: string }[] } };
    expect(maintained.retention.waiting_for_archive).toEqual([]);
    expect(maintained.retention.expired.map((d) => d.day).sort()).toEqual([7, 6, 5, 4].map(dayOf));
    for (const b of back) expect((await exportDay(server.url, dayOf(b))).length).toBe(b <= 3 ? 1 : 0);

    // keep_days: archives of days older than two days back go at the next run.
    await stopChild(server);
    server = await startChild(data, { env: { ...ENV, LOGHAVEN_ARCHIVE_KEEP_DAYS: '2' } });
    const third = JSON.parse((await cli(['archive', 'run', '--url', server.url, '--format', 'json'])).stdout) as { removed: { day: string }[] };
    expect(third.removed.map((r) => r.day)).toEqual([dayOf(3)]);
    expect(await listed()).toEqual([dayOf(2)]);
  });
});
