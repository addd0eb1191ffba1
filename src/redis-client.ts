// The Redis connection of every piece that shares state through Redis (the response cache, the
// per-key rate limits): a Redis that is down or slow must never hold a request. Commands fail
// after `commandTimeoutMs`, nothing is queued while disconnected, and the client reconnects in
// the background; failures reach the caller through the commands, not an event.

import { Redis } from 'ioredis';

export function redisClient(url: string, commandTimeoutMs: number): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Errors are reported through the calls that fail; the client's own event would be unhandled.
  redis.on('error', () => undefined);
  return redis;
}

/** A URL with its credentials hidden, for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
