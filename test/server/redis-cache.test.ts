// The response cache in Redis (cache.redis_url), against the real Redis at 127.0.0.1:6379 and a
// redis-server of the test's own that it stops and starts: answers shared through Redis, made
// stale by data any instance acknowledges, and a Redis outage that only costs the cache.
// LOGHAVEN_REQUIRE_SERVICES=1 turns a missing Redis into a failure instead of a skip.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { RedisServer, redisFor } from '../helpers/redis.js';
import { logLine } from '../helpers/log-lines.js';

const REDIS_URL = 'redis://127.0.0.1:6379/7';
const available = await redisFor(REDIS_URL, 'the Redis cache suite');

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-redis-'));
  dirs.push(d);
  return d;
}


async function get(server: ChildServer, p: string) {
  const r = await fetch(`${server.url}${p}`);
  return { status: r.status, cache: r.headers.get('x-cache'), json: (await r.json()) as { buckets: { count: number }[] } };
}

const total = (j: { buckets: { count: number }[] }) => j.buckets.reduce((n, b) => n + b.count, 0);
const HIST = '/api/v1/logs/histogram?step=1h&from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z';

describe.skipIf(!available)('response cache in Redis', () => {
  let a: ChildServer;
  let b: ChildServer;
  const redis = new Redis(REDIS_URL);

  beforeAll(async () => {
    await redis.flushdb();
    [a, b] = await Promise.all([startChild(tmp(), { env: { LOGHAVEN_CACHE_REDIS_URL: REDIS_URL } }), startChild(tmp(), { env: { LOGHAVEN_CACHE_REDIS_URL: REDIS_URL } })]);
    const body = Array.from({ length: 500 }, (_, i) => logLine(i, 'r').text).join('\n');
    for (const s of [a, b]) expect((await fetch(`${s.url}/api/v1/logs`, { method: 'POST', body })).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stopChild(a), stopChild(b)]);
    await redis.flushdb();
    redis.disconnect();
  });

  it('keeps answers in Redis and serves them again', async () => {
    const first = await get(a, HIST);
    expect(first.cache).toBe('miss');
    const again = await get(a, HIST);
    expect(again.cache).toBe('hit');
    expect(again.json).toEqual(first.json);
    expect(await redis.keys('lh:default:histogram:*')).toHaveLength(1);
  });

  it('serves nothing cached after any instance acknowledged a record in the range', async () => {
    const before = await get(a, HIST);
    expect(before.cache).toBe('hit');
    // Acknowledged by the other instance: the shared journal makes a's answer stale.
    expect((await fetch(`${b.url}/api/v1/logs`, { method: 'POST', body: logLine(7, 'other').text })).status).toBe(200);
    expect((await get(a, HIST)).cache).toBe('miss');
    // And by a itself: the record is in the next answer.
    expect((await fetch(`${a.url}/api/v1/logs`, { method: 'POST', body: logLine(8, 'self').text })).status).toBe(200);
    const after = await get(a, HIST);
    expect(after.cache).toBe('miss');
    expect(total(after.json)).toBe(total(before.json) + 1);
  });
});

describe.skipIf(!available)('a Redis that goes away', () => {
  let server: ChildServer;
  let redis: RedisServer;

  // Every write in an append-only file, fsynced: killed and started again, Redis has lost nothing.
  const startRedis = () => redis.start();
  const stopRedis = () => redis.stop();

  beforeAll(async () => {
    if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server is not installed');
    redis = new RedisServer(await freePort(), tmp());
    await startRedis();
    server = await startChild(tmp(), { env: { LOGHAVEN_CACHE_REDIS_URL: redis.url } });
    const body = Array.from({ length: 200 }, (_, i) => logLine(i, 'd').text).join('\n');
    expect((await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body })).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await stopChild(server);
    await redis?.stop();
  });

  it('never serves an answer that went stale while Redis could not record the change', async () => {
    await get(server, HIST);
    const cached = await get(server, HIST);
    expect(cached.cache).toBe('hit');
    // Redis goes away (and keeps its data, as after a network partition or a restart).
    await stopRedis();
    // Ingest goes on; the change cannot be recorded in Redis.
    expect((await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body: logLine(3, 'gone').text })).status).toBe(200);
    const during = await get(server, HIST);
    expect(during.cache).toBe('miss');
    expect(total(during.json)).toBe(total(cached.json) + 1);
    // Redis answers again, still holding the old answer: it must never come back.
    await startRedis();
    let after = await get(server, HIST);
    for (let i = 0; i < 100 && after.cache !== 'hit'; i++) {
      expect(total(after.json)).toBe(total(cached.json) + 1);
      await new Promise((res) => setTimeout(res, 50));
      after = await get(server, HIST);
    }
    expect(after.cache).toBe('hit');
    expect(total(after.json)).toBe(total(cached.json) + 1);
  });

  it('answers from the store while Redis is down, and says so', async () => {
    const before = await get(server, HIST);
    await stopRedis();
    expect((await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body: logLine(4, 'down').text })).status).toBe(200);
    const down = await get(server, HIST);
    expect(down.status).toBe(200);
    expect(down.cache).toBe('miss');
    expect(total(down.json)).toBe(total(before.json) + 1);
    const ready = (await (await fetch(`${server.url}/ready`)).json()) as { status: string; checks: { cache: { ok: boolean } } };
    expect(ready.status).toBe('degraded');
    expect(ready.checks.cache.ok).toBe(false);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/loghaven_cache_backend_errors_total [1-9]/);
    // Back (empty): once the client has reconnected, the cache works again.
    await startRedis();
    let back = await get(server, HIST);
    for (let i = 0; i < 100 && back.cache !== 'hit'; i++) {
      await new Promise((res) => setTimeout(res, 50));
      back = await get(server, HIST);
    }
    expect(back.cache).toBe('hit');
    expect(total(back.json)).toBe(total(before.json) + 1);
    expect(((await (await fetch(`${server.url}/ready`)).json()) as { status: string }).status).toBe('ready');
  });
});

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
