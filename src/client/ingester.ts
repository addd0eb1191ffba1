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
export type SendBatch = (ndjson: Uint8Array, signal: AbortSignal) => Promise<IngestAnswer>;

/**
 * One request's records, encoded as NDJSON bytes as they are logged: the lines' strings die at
 * once (no heap of strings for the garbage collector to carry while the server is away), and
 * what is buffered is counted in the bytes that will be sent.
 */
class Batch {
  private buf: Buffer;
  bytes = 0;
  records = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Appends `line` and its newline; the bytes that took. */
  append(line: string): number {
    // UTF-8 takes at most three bytes per UTF-16 unit.
    const room = this.bytes + line.length * 3 + 1;
    if (room > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(room, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.bytes);
      this.buf = grown;
    }
    const n = this.buf.write(line, this.bytes, 'utf8');
    this.buf[this.bytes + n] = 0x0a;
    this.bytes += n + 1;
    this.records++;
    return n + 1;
  }

  /** Takes back the last append of `n` bytes. */
  undo(n: number): void {
    this.bytes -= n;
    this.records--;
  }

  /** The lines, for the callbacks that report on them. */
  lines(): string[] {
    return this.buf.toString('utf8', 0, this.bytes).split('\n').slice(0, -1);
  }

  body(): Uint8Array {
    return this.buf.subarray(0, this.bytes);
  }

  /** Empty again, keeping its memory, for the next records. */
  reset(): this {
    this.bytes = 0;
    this.records = 0;
    return this;
  }
}

export class Ingester {
  private readonly opts: Required<Omit<IngesterOptions, 'onRejected' | 'onError'>> & Pick<IngesterOptions, 'onRejected' | 'onError'>;
  /** Batches that are full and wait their turn, oldest first. */
  private readonly full: Batch[] = [];
  /** The batch being filled. */
  private open: Batch | null = null;
  /** A sent batch's memory, kept for the next one. */
  private spare: Batch | null = null;
  private queueBytes = 0;
  private queueRecords = 0;
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
    return { ...this.counts, buffered: this.queueRecords + this.inFlightRecords };
  }

  /** Buffers one record; false when it was dropped (the buffer is full, or the ingester closed). */
  log(record: object): boolean {
    return this.logLine(JSON.stringify(record));
  }

  /** Buffers one record already encoded as a JSON object (one line, no newline); as log(). */
  logLine(line: string): boolean {
    const held = this.queueBytes + this.inFlightBytes;
    // line.length is at most its UTF-8 size: a record that cannot fit is refused before it is encoded.
    if (this.closed || held + line.length + 1 > this.opts.maxBufferedBytes) return this.drop();
    let batch = (this.open ??= this.newBatch());
    const n = batch.append(line);
    if (held + n > this.opts.maxBufferedBytes) {
      batch.undo(n);
      return this.drop();
    }
    if (batch.records > 1 && batch.bytes > this.opts.maxBytes) {
      // Past a request's size: the batch goes as it was, and this record starts the next.
      batch.undo(n);
      this.full.push(batch);
      batch = this.open = this.newBatch();
      batch.append(line);
    }
    this.queueBytes += n;
    this.queueRecords++;
    if (batch.records >= this.opts.maxRecords || batch.bytes >= this.opts.maxBytes) {
      this.full.push(batch);
      this.open = null;
    }
    if (this.full.length > 0) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.opts.flushMs);
    return true;
  }

  /** Resolves once every record logged before the call has been answered (or given up). */
  async flush(): Promise<void> {
    while (this.queueRecords > 0 || this.sending !== null) {
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

  private drop(): false {
    this.counts.dropped++;
    return false;
  }

  private newBatch(): Batch {
    const spare = this.spare;
    this.spare = null;
    return spare?.reset() ?? new Batch(Math.min(64 * 1024, this.opts.maxBytes + 1));
  }

  private kick(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.sending !== null || this.queueRecords === 0) return;
    this.sending = this.drain().finally(() => {
      this.sending = null;
      // Records logged while the last batch was out, but not enough for a batch: the timer.
      if (this.queueRecords > 0 && this.timer === null) this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
    });
  }

  /** Sends what is queued: at least one batch, then as long as full batches are waiting. */
  private async drain(): Promise<void> {
    do {
      const batch = this.full.shift() ?? this.open!;
      if (batch === this.open) this.open = null;
      this.queueBytes -= batch.bytes;
      this.queueRecords -= batch.records;
      this.inFlightBytes = batch.bytes;
      this.inFlightRecords = batch.records;
      const answered = await this.deliver(batch);
      this.inFlightBytes = 0;
      this.inFlightRecords = 0;
      // Its bytes are the sender's no more once it has answered.
      if (answered) this.spare = batch;
    } while (this.full.length > 0);
  }

  /** Sends one batch until it is answered (true) or given up (false). */
  private async deliver(batch: Batch): Promise<boolean> {
    const body = batch.body();
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.send(body, this.abort.signal);
        this.counts.accepted += answer.accepted;
        this.counts.rejected += answer.rejected;
        if (answer.rejected > 0) this.opts.onRejected?.(answer.errors, batch.lines());
        return true;
      } catch (e) {
        const retryable = !this.abort.signal.aborted && (!(e instanceof LoghavenError) || isRetryableStatus(e.status));
        if (!retryable) {
          this.counts.failed += batch.records;
          this.opts.onError?.(e instanceof Error ? e : new Error(String(e)), batch.lines());
          return false;
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
