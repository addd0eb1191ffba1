// The per-key rate limits shared through Redis (src/auth/redis-rate-limit.ts), two limiter objects
// standing for two instances: against the real Redis at 127.0.0.1:6379 (database 8), one budget
// for both, debt included; and against redis-servers of the test's own, a Redis that is not there,
// goes away, comes back or stalls, which costs only the sharing, never a request.
// LOGHAVEN_REQUIRE_SERVICES=1 turns a missing Redis into a failure instead of a skip.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter, rateKey } from '../../src/auth/redis-rate-limit.js';
import { freePort } from '../helpers/child-server.js';
import { RedisServer, redisFor, redisServerFor } from '../helpers/redis.js';

const REDIS_URL = 'redis://127.0.0.1:6379/8';

const available = await redisFor(REDIS_URL, 'the shared rate limit suite');
const serverInstalled = redisServerFor('the shared rate limit suite (a Redis that fails)');

/** Key ids of this run only: the database is shared with other runs, so nothing is flushed. */
const RUN = randomBytes(4).toString('hex');
let keys = 0;
const newKeyId = () => `test${RUN}${(keys++).toString().padStart(4, '0')}`;

/** What a limiter logged. */
function recorder() {
  const lines: { level: 'warn' | 'info'; msg: string }[] = [];
  return {
    lines,
    log: {
      warn: (_obj: object, msg: string) => lines.push({ level: 'warn', msg }),
      info: (_obj: object, msg: string) => lines.push({ level: 'info', msg }),
    },
  };
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asks `n` queries alternately through `limiters`; how many each let through, and how long it took. */
async function burst(limiters: RedisRateLimiter[], keyId: string, rate: number, n: number) {
  const allowed = limiters.map(() => 0);
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    if ((await limiters[i % limiters.length]!.admit(keyId, 'queries', rate, 1)) === 0) allowed[i % limiters.length]!++;
  }
  return { allowed, seconds: (performance.now() - started) / 1000 };
}

describe.skipIf(!available)('rate limits shared through Redis', () => {
  const redis = new Redis(REDIS_URL);
  const log = recorder();
  let a: RedisRateLimiter;
  let b: RedisRateLimiter;

  beforeAll(async () => {
    [a, b] = await Promise.all([RedisRateLimiter.open(REDIS_URL, log), RedisRateLimiter.open(REDIS_URL, log)]);
  });

  afterAll(async () => {
    a?.close();
    b?.close();
    const mine = await redis.keys(`lh:rate:test${RUN}*`);
    if (mine.length > 0) await redis.del(...mine);
    redis.disconnect();
  });

  it('gives a key one budget across two instances', async () => {
    const rate = 2;
    const { allowed, seconds } = await burst([a, b], newKeyId(), rate, 20);
    const total = allowed[0]! + allowed[1]!;
    // The bucket (one second of the rate), the request that finds it just above zero, and what
    // refilled meanwhile: each instance on its own would let twice the bucket through.
    expect(total).toBeGreaterThanOrEqual(rate);
    expect(total).toBeLessThanOrEqual(rate + 1 + Math.ceil(seconds * rate));
    expect(allowed[0]).toBeGreaterThan(0);
    expect(allowed[1]).toBeGreaterThan(0);
    expect([a.failure, b.failure]).toEqual([null, null]);
    expect(log.lines).toEqual([]);
  });

  it('keeps a debt taken through one instance for the other: a limit in bytes/s holds over time', async () => {
    const keyId = newKeyId();
    expect(await a.admit(keyId, 'ingest', 1000, 0)).toBe(0);
    // A body of five seconds' worth goes through once, charged after the fact.
    await a.take(keyId, 'ingest', 1000, 5000);
    const wait = await b.admit(keyId, 'ingest', 1000, 0);
    expect(wait).toBeGreaterThan(3);
    expect(wait).toBeLessThanOrEqual(4.001);
    expect(await a.admit(keyId, 'ingest', 1000, 0)).toBeGreaterThan(3);
    // The bucket stays until it would be full again (4 s of debt and 1 s to fill, plus a second).
    const ttl = await redis.pttl(rateKey(keyId, 'ingest'));
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(6000);
  });

  it('lets a bucket left alone vanish once it would be full again', async () => {
    const keyId = newKeyId();
    expect(await a.admit(keyId, 'queries', 100, 1)).toBe(0);
    const ttl = await redis.pttl(rateKey(keyId, 'queries'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1010);
    expect(await redis.hget(rateKey(keyId, 'queries'), 'tokens')).toBe('99');
  });

  it('lets a request through while the bucket is not empty, whatever its size, as the local buckets do', async () => {
    const keyId = newKeyId();
    // Not in debt: a request goes ahead whatever its size; the next waits for the debt.
    expect(await a.admit(keyId, 'ingest', 100, 0)).toBe(0);
    await b.take(keyId, 'ingest', 100, 50);
    expect(await b.admit(keyId, 'ingest', 100, 0)).toBe(0);
    await a.take(keyId, 'ingest', 100, 100);
    expect(await b.admit(keyId, 'ingest', 100, 0)).toBeGreaterThan(0.4);
  });
});

describe.skipIf(!serverInstalled)('a Redis that fails', () => {
  const opened: RedisRateLimiter[] = [];
  let port: number;

  const open = async (url: string, log: ReturnType<typeof recorder>['log']) => {
    const l = await RedisRateLimiter.open(url, { log });
    opened.push(l);
    return l;
  };

  // A Redis of the test's own, with nothing saved: started again, it is empty.
  let server: RedisServer;
  const startRedis = () => server.start();
  const stopRedis = () => server.stop();
  const own = () => {
    const r = new Redis({ port, maxRetriesPerRequest: 0 });
    r.on('error', () => undefined);
    return r;
  };

  beforeAll(async () => {
    port = await freePort();
    server = new RedisServer(port);
  });

  afterEach(async () => {
    for (const l of opened.splice(0)) l.close();
    await stopRedis();
  });

  it('not there at start: limits each key locally at once, and says why', async () => {
    // The port was free a moment ago and nothing listens on it.
    const log = recorder();
    const limiter = await open(`redis://127.0.0.1:${port}/0`, log.log);
    expect(limiter.failure).toMatch(new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${port}/0 is not reachable at start \\(.+\\) at \\d{4}-`));
    expect(log.lines).toEqual([{ level: 'warn', msg: expect.stringContaining('each instance limits keys by itself') }]);
    const { allowed } = await burst([limiter], newKeyId(), 2, 10);
    // The local bucket: its two tokens and the request that finds it just above zero, no more.
    expect(allowed[0]).toBeGreaterThanOrEqual(2);
    expect(allowed[0]).toBeLessThanOrEqual(4);
  });

  it('goes away and comes back: local buckets meanwhile, shared again once it answers', async () => {
    await startRedis();
    const log = recorder();
    const limiter = await open(`redis://127.0.0.1:${port}/0`, log.log);
    const keyId = newKeyId();
    const check = own();
    try {
      expect(await limiter.admit(keyId, 'queries', 10, 1)).toBe(0);
      expect(await check.exists(rateKey(keyId, 'queries'))).toBe(1);
      expect(limiter.failure).toBeNull();

      await stopRedis();
      expect(await limiter.admit(keyId, 'queries', 10, 1)).toBe(0);
      expect(limiter.failure).toMatch(/failed a rate check/);
      // Charges go to the local bucket too, and a request is never refused for the failure itself.
      await limiter.take(keyId, 'queries', 10, 100);
      expect(await limiter.admit(keyId, 'queries', 10, 1)).toBeGreaterThan(5);
      expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);

      await startRedis();
      await until('the limiter sees Redis again', () => limiter.failure === null);
      expect(log.lines.at(-1)).toEqual({ level: 'info', msg: expect.stringContaining('Redis answers again') });
      // Redis came back empty: the key's bucket there is full, and is used again.
      const other = newKeyId();
      expect(await limiter.admit(other, 'queries', 10, 1)).toBe(0);
      expect(await check.hget(rateKey(other, 'queries'), 'tokens')).toBe('9');
    } finally {
      check.disconnect();
    }
  });

  it('stalls: a rate check waits for it no longer than its timeout', async () => {
    await startRedis();
    const log = recorder();
    const limiter = await open(`redis://127.0.0.1:${port}/0`, log.log);
    const pauser = own();
    try {
      expect(await limiter.admit(newKeyId(), 'queries', 10, 1)).toBe(0);
      await pauser.client('PAUSE', 5000, 'ALL');
      const started = performance.now();
      expect(await limiter.admit(newKeyId(), 'queries', 10, 1)).toBe(0);
      // Long before Redis answers again (5 s): the 100 ms timeout, with room for a busy machine.
      expect(performance.now() - started).toBeLessThan(2000);
      expect(limiter.failure).toMatch(/timed out/i);
      await until('the limiter sees Redis again after the pause', () => limiter.failure === null);
    } finally {
      pauser.disconnect();
    }
  });
});
