// Per-key rate limits shared by every instance through Redis (`cache.redis_url`): the token buckets
// of rate-limit.ts, kept in Redis and updated by one Lua script on Redis's own clock, so a key
// limited to N/s gets N/s across all instances together, however their clocks disagree.
//
// Redis failing must never fail or hold up a request: a call that fails or times out is decided
// by this instance's own buckets at once, and so is every call after it until a probe finds Redis
// answering again (meanwhile each instance grants a key its whole rate). /ready reports it.

import type { Redis } from 'ioredis';
import { redactUrl, redisClient } from '../redis-client.js';
import { LocalRateLimiter, type RateKind, type RateLimiter } from './rate-limit.js';

/** How long a rate check waits on Redis before this instance decides alone: every request pays it. */
const COMMAND_TIMEOUT_MS = 100;
/** While Redis fails, how often it is asked whether it answers again. */
const PROBE_INTERVAL_MS = 1000;
/** The bucket the probe checks (taking nothing), so a probe proves the script runs, not only PING. */
const PROBE_KEY = 'lh:rate:probe';

/**
 * One bucket: checks and takes in one step. State is a hash {tokens, s, us}: the tokens, and when
 * they were counted, as Redis TIME gives it (seconds, microseconds).
 * KEYS: the bucket. ARGV: rate (tokens/s), n, force ('1': take n even in debt, for a charge after
 * the fact; '0': take only when out of debt).
 * Returns the seconds to wait (0: taken), as a string: a Lua number reply is cut to an integer.
 */
const RATE_SCRIPT = `
-- TIME before a write needs effects replication, the default only from Redis 5 on
if redis.replicate_commands then redis.replicate_commands() end
local rate, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = redis.call('TIME')
local held = redis.call('HMGET', KEYS[1], 'tokens', 's', 'us')
local tokens = rate
if held[1] then
  local elapsed = (tonumber(now[1]) - tonumber(held[2])) + (tonumber(now[2]) - tonumber(held[3])) / 1000000
  -- a failover to a replica whose clock is behind must not drain the bucket
  tokens = math.min(rate, tonumber(held[1]) + math.max(0, elapsed) * rate)
end
local wait = 0
if tokens > 0 or ARGV[3] == '1' then
  tokens = tokens - n
else
  wait = (-tokens + math.min(1, rate)) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 's', now[1], 'us', now[2])
-- gone once it would be full again: a missing bucket is a full one
redis.call('PEXPIRE', KEYS[1], math.ceil((rate - tokens) / rate * 1000) + 1000)
return tostring(wait)
`;

/** The Redis key of a key's bucket of one kind. */
export function rateKey(keyId: string, kind: RateKind): string {
  return `lh:rate:${keyId}:${kind}`;
}

type RateRedis = Redis & {
  lhRate(key: string, rate: number, n: number, force: '0' | '1'): Promise<string>;
};

export interface RedisRateLimiterOptions {
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export class RedisRateLimiter implements RateLimiter {
  /** Decides while Redis fails. */
  private readonly local = new LocalRateLimiter();
  private failed: string | null = null;
  private probe: NodeJS.Timeout | null = null;
  private probing = false;
  private closed = false;

  private constructor(
    private readonly redis: RateRedis,
    private readonly url: string,
    private readonly log: RedisRateLimiterOptions['log'],
  ) {}

  /** Connects (without waiting for Redis beyond the connect: while it is down, keys are limited locally). */
  static async open(url: string, options: RedisRateLimiterOptions): Promise<RedisRateLimiter> {
    const redis = redisClient(url, COMMAND_TIMEOUT_MS);
    redis.defineCommand('lhRate', { numberOfKeys: 1, lua: RATE_SCRIPT });
    const limiter = new RedisRateLimiter(redis as RateRedis, url, options.log);
    await redis.connect().catch((e: Error) => limiter.fail('is not reachable at start', e));
    return limiter;
  }

  /** Why keys are limited per instance now (Redis failing), or null while the limits are shared. */
  get failure(): string | null {
    return this.failed;
  }

  async admit(keyId: string, kind: RateKind, rate: number, n: number): Promise<number> {
    if (this.failed !== null || this.closed) return this.local.admitNow(keyId, kind, rate, n);
    try {
      return Number(await this.redis.lhRate(rateKey(keyId, kind), rate, n, '0'));
    } catch (e) {
      this.fail('failed a rate check', e as Error);
      return this.local.admitNow(keyId, kind, rate, n);
    }
  }

  async take(keyId: string, kind: RateKind, rate: number, n: number): Promise<void> {
    if (this.failed !== null || this.closed) return this.local.takeNow(keyId, kind, rate, n);
    try {
      await this.redis.lhRate(rateKey(keyId, kind), rate, n, '1');
    } catch (e) {
      // Charged here too (twice, if Redis took it but answered late): the local buckets now decide.
      this.fail('failed a rate charge', e as Error);
      this.local.takeNow(keyId, kind, rate, n);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.probe !== null) clearInterval(this.probe);
    this.probe = null;
    this.redis.disconnect();
  }

  private fail(what: string, e: Error): void {
    if (this.failed !== null || this.closed) return;
    this.failed = `Redis at ${redactUrl(this.url)} ${what} (${e.message}) at ${new Date().toISOString()}`;
    this.log.warn({ err: e.message, url: redactUrl(this.url) }, 'shared rate limits: Redis fails; each instance limits keys by itself until it answers');
    this.probe = setInterval(() => void this.tryRedis(), PROBE_INTERVAL_MS);
    // Nothing to probe for once the server is going: the process may exit.
    this.probe.unref();
  }

  private async tryRedis(): Promise<void> {
    if (this.probing || this.failed === null || this.closed) return;
    this.probing = true;
    try {
      await this.redis.lhRate(PROBE_KEY, 1, 0, '0');
      this.failed = null;
      if (this.probe !== null) clearInterval(this.probe);
      this.probe = null;
      this.log.info({ url: redactUrl(this.url) }, 'shared rate limits: Redis answers again');
    } catch {
      // Still failing: the next probe tries again.
    } finally {
      this.probing = false;
    }
  }
}

