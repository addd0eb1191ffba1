// Batching ingest for programs that log as they go: log() buffers a record and returns at once;
// batches go out as NDJSON when they reach maxRecords or maxBytes, or flushMs after their first
// record, one request at a time so records arrive in order. Answers that mean "later" (429, 503,
// 507, a lost connection) are sent again after Retry-After, with exponential backoff, while the
// buffer keeps filling up to maxBufferedBytes; beyond that new records are dropped and counted,
// so a server that is down never makes the program run out of memory.

import { LoghavenError, isRetryableStatus } from './errors.js';
import type { IngestAnswer } from './types.js';

export interface IngesterOptions {
  /** Records per request (default 1000). */
  maxRecords?: number;
  /** NDJSON bytes per request (default 1 MiB); a larger record goes alone. */
  maxBytes?: number;
  /** Longest a record waits before its batch is sent (default 1000 ms). */
  flushMs?: number;
  /** Bytes that may wait, sent or being retried; past it log() drops records (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Retry delays start here and double (default 250 ms) ... */
  retryBaseMs?: number;
  /** ... up to this (default 30 s). A batch is retried until it is accepted or the ingester closes. */
  retryMaxMs?: number;
  /** Records the server refused (bad lines), with why: `line` is the position in `records`. */
  onRejected?: (errors: IngestAnswer['errors'], records: readonly string[]) => void;
  /** A batch given up: refused as a whole (400, 413), or still failing when the ingester closed. */
  onError?: (error: Error, records: readonly string[]) => void;
}

export interface IngesterStats {
  /** Records the server stored. */
  accepted: number;
  /** Records the server refused (reported to onRejected). */
  rejected: number;
  /** Records log() dropped because the buffer was full. */
  dropped: number;
  /** Records of batches given up (reported to onError). */
  failed: number;
  /** Requests sent again after a "later" answer or a network failure. */
  retries: number;
  /** Records waiting (including a batch in flight). */
  buffered: number;
}

/** Sends one NDJSON body; resolves with the answer, rejects with LoghavenError or a network error. */
export type SendBatch = (ndjson: string, signal: AbortSignal) => Promise<IngestAnswer>;

export class Ingester {
  private readonly opts: Required<Omit<IngesterOptions, 'onRejected' | 'onError'>> & Pick<IngesterOptions, 'onRejected' | 'onError'>;
  private queue: string[] = [];
  private queueBytes = 0;
  private inFlightBytes = 0;
  private inFlightRecords = 0;
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly counts = { accepted: 0, rejected: 0, dropped: 0, failed: 0, retries: 0 };

  constructor(
    private readonly send: SendBatch,
    options: IngesterOptions = {},
  ) {
    this.opts = {
      maxRecords: options.maxRecords ?? 1000,
      maxBytes: options.maxBytes ?? 2 ** 20,
      flushMs: options.flushMs ?? 1000,
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 2 ** 20,
      retryBaseMs: options.retryBaseMs ?? 250,
      retryMaxMs: options.retryMaxMs ?? 30_000,
      onRejected: options.onRejected,
      onError: options.onError,
    };
  }

  get stats(): IngesterStats {
    return { ...this.counts, buffered: this.queue.length + this.inFlightRecords };
  }

  /** Buffers one record; false when it was dropped (the buffer is full, or the ingester closed). */
  log(record: object): boolean {
    const line = JSON.stringify(record);
    const bytes = Buffer.byteLength(line) + 1;
    if (this.closed || this.queueBytes + this.inFlightBytes + bytes > this.opts.maxBufferedBytes) {
      this.counts.dropped++;
      return false;
    }
    this.queue.push(line);
    this.queueBytes += bytes;
    if (this.queue.length >= this.opts.maxRecords || this.queueBytes >= this.opts.maxBytes) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.opts.flushMs);
    return true;
  }

  /** Resolves once every record logged before the call has been answered (or given up). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.sending !== null) {
      this.kick();
      await this.sending;
    }
  }

  /** Sends what is buffered and stops; a batch still failing after `timeoutMs` is given up. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closed) return this.sending ?? undefined;
    this.closed = true;
    const giveUp = setTimeout(() => this.abort.abort(), timeoutMs);
    try {
      await this.flush();
    } finally {
      clearTimeout(giveUp);
    }
  }

  private kick(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.sending !== null || this.queue.length === 0) return;
    this.sending = this.drain().finally(() => {
      this.sending = null;
      // Records logged while the last batch was out, but not enough for a batch: the timer.
      if (this.queue.length > 0 && this.timer === null) this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
    });
  }

  /** Sends what is queued: at least one batch, then as long as whole batches are waiting. */
  private async drain(): Promise<void> {
    do {
      await this.deliver(this.takeBatch());
      this.inFlightBytes = 0;
      this.inFlightRecords = 0;
    } while (this.queue.length >= this.opts.maxRecords || this.queueBytes >= this.opts.maxBytes);
  }

  private takeBatch(): string[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.opts.maxRecords) {
      const b = Buffer.byteLength(this.queue[n]!) + 1;
      if (n > 0 && bytes + b > this.opts.maxBytes) break;
      bytes += b;
      n++;
    }
    const batch = this.queue.splice(0, n);
    this.queueBytes -= bytes;
    this.inFlightBytes = bytes;
    this.inFlightRecords = n;
    return batch;
  }

  private async deliver(batch: string[]): Promise<void> {
    const body = batch.join('\n') + '\n';
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.send(body, this.abort.signal);
        this.counts.accepted += answer.accepted;
        this.counts.rejected += answer.rejected;
        if (answer.rejected > 0) this.opts.onRejected?.(answer.errors, batch);
        return;
      } catch (e) {
        const retryable = !this.abort.signal.aborted && (!(e instanceof LoghavenError) || isRetryableStatus(e.status));
        if (!retryable) {
          this.counts.failed += batch.length;
          this.opts.onError?.(e instanceof Error ? e : new Error(String(e)), batch);
          return;
        }
        this.counts.retries++;
        const backoff = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(attempt, 20));
        const asked = e instanceof LoghavenError ? (e.retryAfterMs ?? 0) : 0;
        // Jitter: many clients refused at once should not all come back at once.
        await sleep(Math.max(asked, backoff * (0.5 + Math.random() / 2)), this.abort.signal);
      }
    }
  }
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
