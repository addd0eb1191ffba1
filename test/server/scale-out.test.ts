// Three real instances on loopback over one PostgreSQL database (created empty for the run; the
// three start at once and set it up together) and one Redis of the test's own (so that it can be
// stopped and started): any instance answers any request the same way, and losing one loses
// nothing. LOGHAVEN_REQUIRE_SERVICES=1 turns a missing PostgreSQL or redis-server into a failure.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { logLine } from '../helpers/log-lines.js';
import { SseReader } from '../helpers/sse.js';
import { RedisServer, redisServerFor } from '../helpers/redis.js';

const PG_ADMIN = process.env.LOGHAVEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const required = process.env.LOGHAVEN_REQUIRE_SERVICES === '1';
const DB = `lh_scale_${process.pid}`;
const dbUrl = PG_ADMIN.replace(/\/[^/]*$/, `/${DB}`);

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 2000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const pgUp = await admin(async (c) => (await c.query('SELECT 1'), true)).catch(() => false);
if (!pgUp) {
  if (required) throw new Error(`the scale-out suite needs PostgreSQL (LOGHAVEN_REQUIRE_SERVICES=1): ${PG_ADMIN} does not answer`);
  console.warn(`skipping the scale-out suite: ${PG_ADMIN} does not answer`);
}
const redisUp = redisServerFor('the scale-out suite');

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-scale-'));
  dirs.push(d);
  return d;
}

interface Item {
  message: string;
  attrs: { id?: string };
}

describe.runIf(pgUp && redisUp)('three instances over one PostgreSQL and one Redis', () => {
  const servers: ChildServer[] = [];
  const dataDirs: string[] = [];
  let redis: RedisServer;
  /** archive.dir: one directory all three share, as a network file system would be. */
  let archiveDir: string;
  const startRedis = () => redis.start();
  const stopRedis = () => redis.stop();

  const env = () => ({
    LOGHAVEN_STORE_BACKEND: 'postgres',
    LOGHAVEN_STORE_POSTGRES_URL: dbUrl,
    LOGHAVEN_CACHE_REDIS_URL: redis.url,
    LOGHAVEN_ARCHIVE_DIR: archiveDir,
    // Run by the last test, on demand: every line here is of 2026-01-15, long past 30 days.
    LOGHAVEN_RETENTION_DAYS: '30',
    LOGHAVEN_LIFECYCLE_INTERVAL_MS: '3600000',
  });
  const start = (i: number) => startChild(dataDirs[i]!, { env: env() });

  const post = async (s: ChildServer, lines: string[]) => {
    const r = await fetch(`${s.url}/api/v1/logs`, { method: 'POST', body: lines.join('\n') });
    expect(r.status).toBe(200);
  };
  const search = async (s: ChildServer, params: Record<string, string>, headers: Record<string, string> = {}) => {
    const r = await fetch(`${s.url}/api/v1/logs?${new URLSearchParams(params)}`, { headers });
    expect(r.status).toBe(200);
    return (await r.json()) as { items: Item[]; next_cursor: string | null };
  };
  /** Every id matching `prefix-*` as instance `s` sees them, paging with the cursor. */
  const idsOn = async (s: ChildServer, prefix: string, headers: Record<string, string> = {}) => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await search(s, { q: `id:${prefix}-*`, limit: '5000', ...(cursor === null ? {} : { cursor }) }, headers);
      ids.push(...page.items.map((it) => it.attrs.id!));
      cursor = page.next_cursor;
    } while (cursor !== null);
    return ids;
  };

  beforeAll(async () => {
    await admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${DB}`);
      await c.query(`CREATE DATABASE ${DB}`);
    });
    redis = new RedisServer(await freePort(), tmp());
    await startRedis();
    for (let i = 0; i < 3; i++) dataDirs.push(tmp());
    archiveDir = tmp();
    // All three at once on the empty database: one sets it up, the others wait for it.
    servers.push(...(await Promise.all([0, 1, 2].map(start))));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => stopChild(s).catch(() => undefined)));
    await redis?.stop();
    if (pgUp) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`)).catch(() => undefined);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('finds from each instance every line posted round-robin to all three', async () => {
    for (let b = 0; b < 30; b++) await post(servers[b % 3]!, Array.from({ length: 10 }, (_, i) => logLine(b * 10 + i, 'rr').text));
    const want = Array.from({ length: 300 }, (_, i) => `rr-${i}`).sort();
    for (const s of servers) expect((await idsOn(s, 'rr')).sort()).toEqual(want);
  });

  it('continues a cursor started on A on B and C, with every row once and nothing newer', async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    let turn = 0;
    do {
      const page = await search(servers[turn++ % 3]!, { q: 'id:rr-*', limit: '40', order: 'asc', ...(cursor === null ? {} : { cursor }) });
      ids.push(...page.items.map((it) => it.attrs.id!));
      cursor = page.next_cursor;
      // Rows acknowledged after the first page are outside its snapshot.
      if (turn === 1) await post(servers[2]!, [logLine(999, 'rr').text]);
    } while (cursor !== null);
    expect(turn).toBeGreaterThanOrEqual(8);
    expect(ids.length).toBe(300);
    expect(new Set(ids).size).toBe(300);
    expect(ids).not.toContain('rr-999');
  });

  it('shows on B, cached before, a record acknowledged on C just now', async () => {
    const hist = '/api/v1/logs/histogram?step=1h&from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z';
    const total = async (s: ChildServer) => {
      const r = await fetch(`${s.url}${hist}`);
      return { cache: r.headers.get('x-cache'), n: ((await r.json()) as { buckets: { count: number }[] }).buckets.reduce((n, b) => n + b.count, 0) };
    };
    await total(servers[1]!);
    const cached = await total(servers[1]!);
    expect(cached.cache).toBe('hit');
    await post(servers[2]!, [logLine(5000, 'cc').text]);
    const after = await total(servers[1]!);
    expect(after.n).toBe(cached.n + 1);
  });

  it('delivers to a tail on A the records ingested on B and C, each once', async () => {
    const reader = await SseReader.open(`${servers[0]!.url}/api/v1/logs/tail?q=${encodeURIComponent('id:tl-*')}`);
    expect(reader.status).toBe(200);
    await post(servers[1]!, Array.from({ length: 50 }, (_, i) => logLine(i, 'tl').text));
    await post(servers[2]!, Array.from({ length: 50 }, (_, i) => logLine(50 + i, 'tl').text));
    const seen: string[] = [];
    const seqs: bigint[] = [];
    while (seen.length < 100) {
      const e = await reader.next();
      if (e === null) break;
      if (e.event !== 'message') continue;
      seen.push((JSON.parse(e.data) as Item).attrs.id!);
      seqs.push(BigInt(e.id!));
    }
    reader.close();
    expect(seen.sort()).toEqual(Array.from({ length: 100 }, (_, i) => `tl-${i}`).sort());
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]! > seqs[i - 1]!).toBe(true);
  });

  it('keeps every acknowledged line, once, when an instance is killed during ingest and restarted', async () => {
    const victim = servers[1]!;
    const acked: string[] = [];
    let n = 0;
    let killed = false;
    const sending = (async () => {
      while (!killed) {
        const lines = Array.from({ length: 100 }, (_, i) => logLine(n + i, 'k9'));
        n += 100;
        try {
          const r = await fetch(`${victim.url}/api/v1/logs`, { method: 'POST', body: lines.map((l) => l.text).join('\n') });
          if (r.status === 200) acked.push(...lines.map((l) => l.spec.id));
        } catch {
          // killed mid-request: not acknowledged
        }
      }
    })();
    while (acked.length < 2000) await new Promise((r) => setTimeout(r, 5));
    victim.proc.kill('SIGKILL');
    killed = true;
    await victim.exited;
    await sending;
    servers[1] = await start(1);
    // Every acknowledged line is there once, seen from an instance that never stopped.
    const ids = await idsOn(servers[0]!, 'k9');
    expect(new Set(ids).size).toBe(ids.length);
    const have = new Set(ids);
    expect(acked.filter((id) => !have.has(id))).toEqual([]);
  });

  it('gave every row its own sequence number, none beyond the committed counter', async () => {
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    try {
      const r = await c.query('SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct_seqs, max(seq)::text AS max, (SELECT last::text FROM seq_counter) AS counter FROM logs');
      const row = r.rows[0] as { n: number; distinct_seqs: number; max: string; counter: string };
      expect(row.n).toBeGreaterThan(2000);
      expect(row.distinct_seqs).toBe(row.n);
      expect(BigInt(row.max) <= BigInt(row.counter)).toBe(true);
    } finally {
      await c.end();
    }
  });

  it('gives right answers and loses nothing while Redis is down, says so in /ready, and recovers', async () => {
    const before = (await idsOn(servers[0]!, 'rd')).length;
    expect(before).toBe(0);
    await stopRedis();
    await post(servers[0]!, Array.from({ length: 20 }, (_, i) => logLine(i, 'rd').text));
    await post(servers[1]!, Array.from({ length: 20 }, (_, i) => logLine(20 + i, 'rd').text));
    for (const s of servers) expect((await idsOn(s, 'rd')).length).toBe(40);
    const ready = (await (await fetch(`${servers[2]!.url}/ready`)).json()) as { status: string; checks: { cache: { ok: boolean } } };
    expect(ready.status).toBe('degraded');
    expect(ready.checks.cache.ok).toBe(false);
    await startRedis();
    await post(servers[2]!, Array.from({ length: 20 }, (_, i) => logLine(40 + i, 'rd').text));
    for (const s of servers) expect((await idsOn(s, 'rd')).sort()).toEqual(Array.from({ length: 60 }, (_, i) => `rd-${i}`).sort());
    let status = '';
    for (let i = 0; i < 100 && status !== 'ready'; i++) {
      // A cache lookup is what finds Redis back.
      await search(servers[2]!, { q: 'id:rd-*' });
      status = ((await (await fetch(`${servers[2]!.url}/ready`)).json()) as { status: string }).status;
      if (status !== 'ready') await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe('ready');
  });

  it('reads the days retention took out of the database from the shared archives, on every instance', async () => {
    const want = (await idsOn(servers[0]!, 'rr')).sort();
    expect(want.length).toBe(301);
    const histogram = async (s: ChildServer) => {
      const r = await fetch(`${s.url}/api/v1/logs/histogram?step=1d&from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z`);
      return ((await r.json()) as { buckets: { count: number }[] }).buckets.reduce((n, b) => n + b.count, 0);
    };
    const total = await histogram(servers[1]!);
    expect(total).toBeGreaterThan(2000);
    // A archives the day into the shared directory, then retention takes it out of the database.
    expect((await runCli(['archive', 'run', '--url', servers[0]!.url])).code).toBe(0);
    const maintained = await runCli(['db', 'maintain', '--url', servers[0]!.url, '--format', 'json']);
    expect(maintained.code, maintained.stderr).toBe(0);
    const expired = (JSON.parse(maintained.stdout) as { retention: { expired: { day: string; rows: number }[] } }).retention.expired;
    expect(expired.map((d) => d.day)).toContain('2026-01-15');
    expect(await countRows()).toBe(0);
    // B and C hear of it (a notice through PostgreSQL) and read the day from its archive, as A
    // does: asked past the shared cache, each answers from its own tiers.
    for (const s of servers) {
      let got: string[] = [];
      for (let i = 0; i < 50; i++) {
        got = (await idsOn(s, 'rr', { 'cache-control': 'no-cache' })).sort();
        if (got.length === want.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(got).toEqual(want);
      expect(await histogram(s)).toBe(total);
    }
  });

  /** Rows of 2026-01-15 left in the database. */
  async function countRows(): Promise<number> {
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    try {
      const r = await c.query(`SELECT count(*)::int AS n FROM logs WHERE ts < $1`, [String(BigInt(Date.UTC(2026, 0, 16)) * 1000n)]);
      return (r.rows[0] as { n: number }).n;
    } finally {
      await c.end();
    }
  }
});
