// Token buckets for the per-key rate limits: a bucket holds up to one second of its rate, refills
// continuously, and may go into debt (a request larger than the bucket is let through once, and
// the key then waits until the debt is paid back), so a limit in bytes/s holds over time.
// Where the buckets live is a RateLimiter: this process (LocalRateLimiter), or Redis shared by
// every instance (redis-rate-limit.ts), so that a key gets its rate across all of them.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    /** Tokens per second; 0 means no limit. */
    readonly rate: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = rate;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }

  /** Seconds until the bucket is out of debt (0 when a request may go ahead now). */
  waitSeconds(): number {
    if (this.rate === 0) return 0;
    this.refill();
    return this.tokens > 0 ? 0 : (-this.tokens + Math.min(1, this.rate)) / this.rate;
  }

  /** Takes `n` tokens, going into debt if need be. */
  take(n: number): void {
    if (this.rate === 0) return;
    this.refill();
    this.tokens -= n;
  }
}

/** What a key's limit counts: body bytes ingested, or requests on the read side. */
export type RateKind = 'ingest' | 'queries';

/**
 * The buckets of every key, wherever they are kept. A key's rate travels with each call: the
 * limiter keeps no key table, and the rate may change while the key's bucket is in use.
 */
export interface RateLimiter {
  /**
   * Seconds `keyId` must wait before a request of `kind` may go ahead (0: now); when 0, `n`
   * tokens are taken in the same step, so a check and its charge cost one round trip.
   */
  admit(keyId: string, kind: RateKind, rate: number, n: number): Promise<number>;
  /**
   * Takes `n` tokens after the fact (an ingest body, once its size is known), debt allowed.
   * Never rejects; a request need not wait for it.
   */
  take(keyId: string, kind: RateKind, rate: number, n: number): Promise<void>;
}

/** The buckets in this process: each instance limits a key by itself. */
export class LocalRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  admit(keyId: string, kind: RateKind, rate: number, n: number): Promise<number> {
    return Promise.resolve(this.admitNow(keyId, kind, rate, n));
  }

  /** admit(), answered at once (the shared limiter's fallback needs no promise). */
  admitNow(keyId: string, kind: RateKind, rate: number, n: number): number {
    const bucket = this.bucket(keyId, kind, rate);
    const wait = bucket.waitSeconds();
    if (wait === 0) bucket.take(n);
    return wait;
  }

  take(keyId: string, kind: RateKind, rate: number, n: number): Promise<void> {
    this.takeNow(keyId, kind, rate, n);
    return Promise.resolve();
  }

  takeNow(keyId: string, kind: RateKind, rate: number, n: number): void {
    this.bucket(keyId, kind, rate).take(n);
  }

  private bucket(keyId: string, kind: RateKind, rate: number): TokenBucket {
    const id = `${keyId}:${kind}`;
    let b = this.buckets.get(id);
    // A new rate starts a full bucket, as it did when the buckets were kept per key record.
    if (b === undefined || b.rate !== rate) {
      b = new TokenBucket(rate);
      this.buckets.set(id, b);
    }
    return b;
  }
}
