// Bounds the queries the engine runs at once: up to `maxConcurrent` run, up to `queueSize` more
// wait (first come, first served) for at most `queueTimeoutMs`, and anything beyond is refused at
// once with LH_ERR_BUSY (503 + Retry-After), so a burst of heavy queries can neither exhaust
// memory nor starve ingest, health checks and metrics, which never pass through here.
//
// Queries and loads share the engine's threads. While ingest is behind (`yieldTo` says so), the
// limiter gives way: one query at a time, and after each one a pause of YIELD_FACTOR times its
// duration, so queries take at most a ninth of the engine and ingest the rest.

import { LhError } from '../errors.js';

export interface LimiterOptions {
  maxConcurrent: number;
  queueSize: number;
  queueTimeoutMs: number;
  /** True while ingest needs the engine more than queries do. */
  yieldTo?: () => boolean;
}

/** While yielding, the pause after a query, as a multiple of its duration. */
const YIELD_FACTOR = 8;
/** Longest such pause. */
const MAX_YIELD_MS = 8000;

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface LimiterStats {
  running: number;
  queued: number;
  rejected: number;
  timedOut: number;
}

export class QueryLimiter {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private rejected = 0;
  private timedOut = 0;
  /** While yielding: no query starts before this time (ms, performance.now()). */
  private resumeAt = 0;
  private resumeTimer: NodeJS.Timeout | null = null;

  constructor(readonly options: LimiterOptions) {}

  get stats(): LimiterStats {
    return { running: this.running, queued: this.waiting.length, rejected: this.rejected, timedOut: this.timedOut };
  }

  /** Share of the concurrency limit in use, 0–1. */
  get utilisation(): number {
    return this.running / this.options.maxConcurrent;
  }

  /**
   * Runs `fn` in a slot; resolves with its result and the time spent waiting for the slot.
   * Throws LH_ERR_BUSY when the queue is full or the wait runs out, or when `signal` aborts first.
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<{ value: T; queueMs: number }> {
    const started = performance.now();
    await this.acquire(signal);
    const ran = performance.now();
    const queueMs = ran - started;
    try {
      return { value: await fn(), queueMs };
    } finally {
      this.release(performance.now() - ran);
    }
  }

  private yielding(): boolean {
    return this.options.yieldTo?.() === true;
  }

  /** Whether a query may start now, besides the waiters ahead of it. */
  private free(): boolean {
    if (!this.yielding()) return this.running < this.options.maxConcurrent;
    return this.running === 0 && performance.now() >= this.resumeAt;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (this.waiting.length === 0 && this.free()) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.options.queueSize) {
      this.rejected++;
      return Promise.reject(this.busy(`${this.running} queries running and ${this.waiting.length} waiting (query.queue_size)`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
        timer: setTimeout(() => {
          this.drop(waiter);
          this.timedOut++;
          reject(this.busy(`no query slot within query.queue_timeout_ms (${this.options.queueTimeoutMs} ms)`));
        }, this.options.queueTimeoutMs),
      };
      const onAbort = () => {
        this.drop(waiter);
        clearTimeout(waiter.timer);
        reject(new LhError('LH_ERR_CLIENT_GONE'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.startWaiters();
    });
  }

  /** Frees a slot; `ranMs`: how long its query ran (the pause after it while yielding). */
  release(ranMs = 0): void {
    this.running--;
    if (this.yielding()) this.resumeAt = performance.now() + Math.min(MAX_YIELD_MS, ranMs * YIELD_FACTOR);
    this.startWaiters();
  }

  /** Starts waiters while slots are free; while yielding, again once the pause is over. */
  private startWaiters(): void {
    while (this.waiting.length > 0 && this.free()) {
      this.running++;
      this.waiting.shift()!.resolve();
    }
    if (this.waiting.length > 0 && this.running === 0 && this.resumeTimer === null) {
      const wait = Math.max(1, this.resumeAt - performance.now());
      this.resumeTimer = setTimeout(() => {
        this.resumeTimer = null;
        this.startWaiters();
      }, wait);
    }
  }

  private drop(w: Waiter): void {
    const i = this.waiting.indexOf(w);
    if (i !== -1) this.waiting.splice(i, 1);
  }

  private busy(why: string): LhError {
    // Retry once about one queue's worth of waiting has passed.
    const retryAfter = Math.max(1, Math.ceil(this.options.queueTimeoutMs / 1000));
    return new LhError('LH_ERR_BUSY', why, { retry_after_s: retryAfter });
  }
}
