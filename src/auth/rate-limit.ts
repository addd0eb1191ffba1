// Token buckets for the per-key rate limits: a bucket holds up to one second of its rate, refills
// continuously, and may go into debt (a request larger than the bucket is let through once, and
// the key then waits until the debt is paid back), so a limit in bytes/s holds over time.

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
