// The response cache and its change journal in Redis (`cache.redis_url`), shared by every
// instance: an answer cached by one is served by all, and data acknowledged by any invalidates it
// for all. Answers are plain keys with a TTL; the journal is a version counter and a sorted set of
// changes scored by version (changes within one second and of one tenant merged into one member).
//
// Redis failing must never stop ingest or queries: calls time out quickly and the caller goes on
// without the cache. A change that could not be recorded is made up for as soon as Redis answers
// again, by recording "everything changed": answers cached before cannot be served any more.

import type { Redis } from 'ioredis';
import { redactUrl, redisClient } from '../../redis-client.js';
import type { CacheStore } from './cache-store.js';
import type { ChangeJournal } from './change-journal.js';

const VERSION_KEY = 'lh:journal:version';
const CHANGES_KEY = 'lh:journal:changes';
/** How long one Redis call may take before the cache is skipped for this request. */
const COMMAND_TIMEOUT_MS = 250;
const MERGE_MS = 1000;
const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;

/**
 * Records one change: a new version, merged into the newest member when it is of the same tenant
 * and less than MERGE_MS old; members older than the longest TTL are trimmed. Members are
 * `version|tenant|from|to|at`, tenant `*` for any.
 * KEYS: version, changes. ARGV: tenant, from, to, now ms, keep ms, merge ms.
 */
const RECORD_SCRIPT = `
local function less(a, b)
  -- integers as decimal strings, of any size: by sign, then length, then digits
  local na, nb = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
  if na ~= nb then return na end
  local x, y = a, b
  if na then x, y = string.sub(b, 2), string.sub(a, 2) end
  if string.len(x) ~= string.len(y) then return string.len(x) < string.len(y) end
  return x < y
end
local v = redis.call('INCR', KEYS[1])
local tenant, from, to, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local last = redis.call('ZRANGE', KEYS[2], -1, -1)
if #last == 1 then
  local lv, lt, lf, lto, lat = string.match(last[1], '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  if lt == tenant and now - tonumber(lat) < tonumber(ARGV[6]) then
    redis.call('ZREM', KEYS[2], last[1])
    if less(lf, from) then from = lf end
    if less(to, lto) then to = lto end
    redis.call('ZADD', KEYS[2], v, v .. '|' .. tenant .. '|' .. from .. '|' .. to .. '|' .. lat)
    return v
  end
end
redis.call('ZADD', KEYS[2], v, v .. '|' .. tenant .. '|' .. from .. '|' .. to .. '|' .. now)
-- forget the changes no cached answer can predate
local first = redis.call('ZRANGE', KEYS[2], 0, 0)
while #first == 1 do
  local fat = string.match(first[1], '|([^|]*)$')
  if fat == nil or now - tonumber(fat) <= tonumber(ARGV[5]) + tonumber(ARGV[6]) then break end
  redis.call('ZREM', KEYS[2], first[1])
  first = redis.call('ZRANGE', KEYS[2], 0, 0)
end
return v
`;

export interface RedisCacheOptions {
  /** The longest TTL of a cached answer: how long a change matters. */
  keepMs: number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** Connects (without waiting for Redis: the first calls fail fast while it is down). */
export async function openRedisCache(url: string, options: RedisCacheOptions): Promise<{ store: CacheStore; journal: ChangeJournal }> {
  const redis = redisClient(url, COMMAND_TIMEOUT_MS);
  redis.defineCommand('lhRecordChange', { numberOfKeys: 2, lua: RECORD_SCRIPT });
  await redis.connect().catch((e: Error) => options.log.warn({ err: e, url: redactUrl(url) }, 'Redis cache not reachable at start; serving from the store until it is'));
  const shared = new RedisShared(redis, options.keepMs);
  return { store: new RedisCacheStore(shared), journal: new RedisChangeJournal(shared) };
}


type RecordingRedis = Redis & {
  lhRecordChange(version: string, changes: string, tenant: string, from: string, to: string, now: number, keep: number, merge: number): Promise<number>;
};

/** The connection, and the catch-up owed after a change could not be recorded. */
class RedisShared {
  /** A change went unrecorded: before anything else, record that everything changed. */
  private owed = false;
  private closed = false;

  constructor(
    readonly redis: Redis,
    readonly keepMs: number,
  ) {}

  /** Runs a call, first paying what is owed; a failure marks the debt when `records` a change. */
  async call<T>(fn: (r: RecordingRedis) => Promise<T>, records = false): Promise<T> {
    if (this.closed) throw new Error('Redis cache closed');
    const r = this.redis as RecordingRedis;
    try {
      if (this.owed) {
        await r.lhRecordChange(VERSION_KEY, CHANGES_KEY, '*', MIN.toString(), MAX.toString(), Date.now(), this.keepMs, MERGE_MS);
        this.owed = false;
      }
      return await fn(r);
    } catch (e) {
      if (records) this.owed = true;
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.redis.disconnect();
  }
}

class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;

  constructor(private readonly shared: RedisShared) {}

  async get(key: string): Promise<string | undefined> {
    const v = await this.shared.call((r) => r.get(key));
    return v ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.shared.call((r) => r.set(key, value, 'PX', ttlMs));
  }

  async purge(pattern: string): Promise<number> {
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.shared.call((r) => r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
      cursor = next;
      if (keys.length > 0) n += await this.shared.call((r) => r.del(...keys));
    } while (cursor !== '0');
    return n;
  }

  bytes(): number {
    return -1;
  }

  close(): Promise<void> {
    return this.shared.close();
  }
}

class RedisChangeJournal implements ChangeJournal {
  constructor(private readonly shared: RedisShared) {}

  async version(): Promise<number> {
    const v = await this.shared.call((r) => r.get(VERSION_KEY));
    return v === null ? 0 : Number(v);
  }

  async record(tenant: string | null, from: bigint, to: bigint): Promise<void> {
    const { keepMs } = this.shared;
    await this.shared.call((r) => r.lhRecordChange(VERSION_KEY, CHANGES_KEY, tenant ?? '*', from.toString(), to.toString(), Date.now(), keepMs, MERGE_MS), true);
  }

  async changedSince(tenant: string, from: bigint | undefined, to: bigint | undefined, version: number): Promise<boolean> {
    const members = await this.shared.call((r) => r.zrangebyscore(CHANGES_KEY, `(${version}`, '+inf'));
    for (const m of members) {
      const [, t, f, tt] = m.split('|');
      if (t !== '*' && t !== tenant) continue;
      const cf = BigInt(f!);
      const ct = BigInt(tt!);
      if ((from === undefined || ct >= from) && (to === undefined || cf < to)) return true;
    }
    return false;
  }
}
