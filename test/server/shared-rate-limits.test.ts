// Two real servers with auth on, sharing the real Redis at 127.0.0.1:6379 (database 8) as
// instances behind a load balancer do: a key's rate limits hold across both together, not per
// instance. Both data directories are copies of one, so both know the same keys.
// LOGHAVEN_REQUIRE_SERVICES=1 turns a missing Redis into a failure instead of a skip.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { redisFor } from '../helpers/redis.js';

const REDIS_URL = 'redis://127.0.0.1:6379/8';
const available = await redisFor(REDIS_URL, 'the shared rate limit server suite');

describe.skipIf(!available)('per-key rate limits shared by two instances through Redis', () => {
  const dirs: string[] = [];
  const made: Record<string, { id: string; key: string }> = {};
  let a: ChildServer;
  let b: ChildServer;

  const makeKey = (dir: string, name: string, limits: string[]) => {
    const out = execFileSync(process.execPath, [CLI, 'keys', 'create', '--data-dir', dir, '--tenant', 'acme', '--scopes', 'ingest,query', '--name', name, '--format', 'json', ...limits], {
      encoding: 'utf8',
    });
    made[name] = JSON.parse(out) as { id: string; key: string };
  };
  const auth = (name: string) => ({ authorization: `Bearer ${made[name]!.key}` });
  const query = (s: ChildServer, name: string) => fetch(`${s.url}/api/v1/logs`, { headers: auth(name) });

  beforeAll(async () => {
    const first = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-shared-rate-'));
    const second = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-shared-rate-'));
    dirs.push(first, second);
    makeKey(first, 'slow', ['--queries-per-s', '0.5']);
    makeKey(first, 'burst', ['--queries-per-s', '2']);
    makeKey(first, 'meter', ['--ingest-bytes-per-s', '1000']);
    fs.cpSync(first, second, { recursive: true });
    const env = { LOGHAVEN_AUTH_ENABLED: 'true', LOGHAVEN_CACHE_REDIS_URL: REDIS_URL };
    [a, b] = await Promise.all([startChild(first, { env }), startChild(second, { env })]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stopChild(a), stopChild(b)]);
    // Database 8 is this suite's and the limiter unit tests' (which may be running): only what these servers wrote goes.
    const redis = new Redis(REDIS_URL);
    const written = [...(await redis.keys('lh:acme:*')), 'lh:journal:version', 'lh:journal:changes'];
    for (const k of Object.values(made)) written.push(`lh:rate:${k.id}:queries`, `lh:rate:${k.id}:ingest`);
    await redis.del(...written);
    redis.disconnect();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('refuses on one instance a key that spent its queries on the other', async () => {
    // 0.5/s: one query, then the key waits two seconds, wherever it asks.
    expect((await query(a, 'slow')).status).toBe(200);
    const refused = await query(b, 'slow');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ error: 'LH_ERR_RATE_LIMITED' });
  });

  it('lets through, of rapid queries alternated across both, only what one budget holds', async () => {
    const rate = 2;
    const allowed = [0, 0];
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      const status = (await query(i % 2 === 0 ? a : b, 'burst')).status;
      expect([200, 429]).toContain(status);
      if (status === 200) allowed[i % 2]!++;
    }
    const seconds = (performance.now() - started) / 1000;
    const total = allowed[0]! + allowed[1]!;
    // The bucket, the query that finds it just above zero, and what refilled meanwhile; each
    // instance on its own would let through twice the bucket.
    expect(total).toBeLessThan(20);
    expect(total).toBeGreaterThanOrEqual(rate);
    expect(total).toBeLessThanOrEqual(rate + 1 + Math.ceil(seconds * rate));
  });

  it('holds back on one instance a key whose ingest went into debt on the other', async () => {
    const body = JSON.stringify({ message: 'metered', pad: 'x'.repeat(5000) });
    const post = (s: ChildServer) => fetch(`${s.url}/api/v1/logs`, { method: 'POST', headers: auth('meter'), body });
    // Five seconds' worth goes through once; the debt is charged in Redis, for both.
    expect((await post(a)).status).toBe(200);
    const over = await post(b);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(3);
  });
});
