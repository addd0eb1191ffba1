// One GraphQL `tail` subscription: the TailHub pushes records in, the subscription pulls events
// out. mercurius pulls the next event only once the WebSocket has taken the previous one, so a
// slow reader leaves events here; past MAX_BUFFERED_BYTES the hub is told the buffer is full and
// counts what this reader misses, and once the reader has caught up (the buffer is empty) the
// hub resumes it and reports the count, which becomes a `dropped` event.

import type { TailHandle, TailRecord, TailSink } from '../../query/tail.js';

/** Bytes of records one subscription may hold before its reader counts as slow. */
export const MAX_BUFFERED_BYTES = 4 * 2 ** 20;

/** What the Subscription.tail field resolves: a record (JSON text) or a dropped notice. */
export interface TailEvent {
  record: unknown;
  position: string | null;
  dropped: number;
}

interface Queued {
  json: string | null;
  position: string | null;
  dropped: number;
}

export class TailFeed implements TailSink, AsyncIterableIterator<TailEvent> {
  private readonly queue: Queued[] = [];
  private bytes = 0;
  private full = false;
  private ended = false;
  private waiter: ((r: IteratorResult<TailEvent>) => void) | null = null;
  private handle: TailHandle | null = null;
  private failure: Error | null = null;
  private readonly abort = new AbortController();

  /**
   * A subscription refused before it began, which says why as its first event. (Thrown from
   * subscribe, the refusal would also be logged by mercurius as a server error.)
   */
  static refused(error: Error): TailFeed {
    const feed = new TailFeed();
    feed.failure = error;
    return feed;
  }

  /** Aborts when the subscription ends (a backfill still reading stops). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** The hub's handle, once open() has resolved; closed at once if the feed already ended. */
  attach(handle: TailHandle): void {
    this.handle = handle;
    if (this.ended) handle.close();
  }

  push(records: TailRecord[]): boolean {
    if (this.ended) return true;
    for (const r of records) {
      this.queue.push({ json: r.json, position: r.seq.toString(), dropped: 0 });
      this.bytes += r.json.length;
    }
    this.wake();
    this.full = this.bytes >= MAX_BUFFERED_BYTES;
    return !this.full;
  }

  dropped(count: number): void {
    if (this.ended) return;
    this.queue.push({ json: null, position: null, dropped: count });
    this.wake();
  }

  next(): Promise<IteratorResult<TailEvent>> {
    const q = this.take();
    if (q !== undefined) return Promise.resolve({ value: toEvent(q), done: false });
    if (this.failure !== null) {
      const failure = this.failure;
      this.failure = null;
      this.end();
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** The subscription ended (the client stopped it, or the socket closed). */
  return(): Promise<IteratorResult<TailEvent>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TailEvent> {
    return this;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.bytes = 0;
    this.handle?.close();
    this.abort.abort();
    const w = this.waiter;
    this.waiter = null;
    w?.({ value: undefined, done: true });
  }

  private take(): Queued | undefined {
    const q = this.queue.shift();
    if (q === undefined) return undefined;
    if (q.json !== null) this.bytes -= q.json.length;
    // Caught up: the hub reports what was missed (a dropped event) and sends again.
    if (this.full && this.queue.length === 0) {
      this.full = false;
      this.handle?.resume();
    }
    return q;
  }

  private wake(): void {
    const w = this.waiter;
    if (w === null || this.queue.length === 0) return;
    this.waiter = null;
    w({ value: toEvent(this.take()!), done: false });
  }
}

function toEvent(q: Queued): TailEvent {
  return { record: q.json === null ? null : JSON.parse(q.json), position: q.position, dropped: q.dropped };
}
