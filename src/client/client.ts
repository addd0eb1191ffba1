// LoghavenClient: the REST API of a loghaven server, typed. Searches and pages (following
// next_cursor), every matching record streamed from an export (parsed line by line, so memory
// stays flat however large the export), the live tail over Server-Sent Events (resuming after a
// lost connection with Last-Event-ID, never yielding a record twice), and ingest: one-shot, or
// batched with retries (ingester.ts). Node 20's fetch and streams only; no dependencies.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { LoghavenError, isRetryableStatus } from './errors.js';
import { Ingester, sleep, type IngesterOptions } from './ingester.js';
import { lines, sseEvents, textChunks } from './streams.js';
import type { ExportParams, HistogramAnswer, HistogramParams, IngestAnswer, LogRecord, SearchPage, SearchParams, TopAnswer, TopParams } from './types.js';

const gzip = promisify(zlib.gzip);

export interface ClientOptions {
  /** Where the server answers, e.g. `http://127.0.0.1:7700`. */
  url: string;
  /** An API key (`loghaven keys create`), sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** The tenant to act for, sent as `X-Scope-OrgID`: needed with a key of every tenant (`*`). */
  tenant?: string;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Send ingest bodies of 1 KiB and more gzip-compressed (default false). */
  gzip?: boolean;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface TailParams {
  q?: string;
  /** Send the last N matching records first (at most 10000). */
  backfill?: number;
  /** Resume after this record position (a record's position, as given to onRecordPosition). */
  after?: string | bigint;
  /** Told how many records the server skipped because this reader was slow. */
  onDropped?: (count: number) => void;
  /** Told each record's position as it is yielded (to resume in a later run with `after`). */
  onPosition?: (position: string) => void;
  /** Stops the tail (the iterator ends). */
  signal?: AbortSignal;
  /** A connection that brings nothing for this long (not even a heartbeat) is dropped and reopened (default 45 s). */
  idleTimeoutMs?: number;
  /** Longest wait between reconnection attempts (default 30 s); the server's `retry:` sets the first. */
  maxReconnectDelayMs?: number;
}

export interface IngestOptions extends CallOptions {
  /** Attempts for answers that mean "later" (429, 503, 507) and lost connections (default 5). */
  attempts?: number;
}

/** Records to ingest: objects, or NDJSON text as is. */
export type IngestRecords = object | readonly object[] | string;

const NDJSON = 'application/x-ndjson';

export class LoghavenClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly fetchFn: typeof fetch;
  private readonly gzip: boolean;

  constructor(options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.headers = {
      ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
      ...(options.tenant === undefined ? {} : { 'x-scope-orgid': options.tenant }),
      ...options.headers,
    };
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.gzip = options.gzip === true;
  }

  /** One page of a search. */
  search(params: SearchParams = {}, options: CallOptions = {}): Promise<SearchPage> {
    return this.getJson<SearchPage>('/api/v1/logs', params, options);
  }

  /** Every page of a search, following next_cursor (from `params.cursor`, or the first page). */
  async *pages(params: SearchParams = {}, options: CallOptions = {}): AsyncGenerator<SearchPage> {
    let page = await this.search(params, options);
    for (;;) {
      yield page;
      if (page.next_cursor === null || page.items.length === 0) return;
      page = await this.search({ ...params, offset: undefined, cursor: page.next_cursor }, options);
    }
  }

  /** Every record of a search, page after page. */
  async *records(params: SearchParams = {}, options: CallOptions = {}): AsyncGenerator<LogRecord> {
    for await (const page of this.pages(params, options)) yield* page.items;
  }

  histogram(params: HistogramParams = {}, options: CallOptions = {}): Promise<HistogramAnswer> {
    return this.getJson<HistogramAnswer>('/api/v1/logs/histogram', params, options);
  }

  top(params: TopParams, options: CallOptions = {}): Promise<TopAnswer> {
    return this.getJson<TopAnswer>('/api/v1/logs/top', params, options);
  }

  /** Every matching record of an export (oldest first by default), parsed as it streams in. */
  async *export(params: Omit<ExportParams, 'format'> = {}, options: CallOptions = {}): AsyncGenerator<LogRecord> {
    for await (const line of lines(this.exportText({ ...params, format: 'ndjson' }, options))) yield JSON.parse(line) as LogRecord;
  }

  /** An export as text chunks, in any of its formats (ndjson, csv, json), e.g. to write to a file. */
  async *exportText(params: ExportParams = {}, options: CallOptions = {}): AsyncGenerator<string> {
    const res = await this.request(this.url('/api/v1/logs/export', params), { signal: options.signal });
    if (res.body === null) return;
    yield* textChunks(res.body);
  }

  /**
   * Matching records as they arrive (GET /api/v1/logs/tail). A lost or silent connection is
   * reopened with Last-Event-ID, so the server resumes right after the last record yielded; a
   * record never comes twice. Ends when `params.signal` aborts or the loop breaks; throws a
   * LoghavenError for an answer that will not change by retrying (a bad query, say).
   */
  async *tail(params: TailParams = {}): AsyncGenerator<LogRecord> {
    const idleMs = params.idleTimeoutMs ?? 45_000;
    const maxDelay = params.maxReconnectDelayMs ?? 30_000;
    let last = params.after === undefined ? null : BigInt(params.after);
    let delay = 1000;
    let failures = 0;
    const stop = params.signal;
    while (!stop?.aborted) {
      const conn = new AbortController();
      const onStop = () => conn.abort();
      stop?.addEventListener('abort', onStop, { once: true });
      let idle: NodeJS.Timeout | undefined;
      const stillAlive = () => {
        clearTimeout(idle);
        idle = setTimeout(() => conn.abort(), idleMs);
      };
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
        if (last !== null) headers['last-event-id'] = last.toString();
        const query = { q: params.q, backfill: last === null ? params.backfill : undefined };
        stillAlive();
        const res = await this.fetchFn(this.url('/api/v1/logs/tail', query), { headers: { ...this.headers, ...headers }, signal: conn.signal });
        if (!res.ok) {
          const err = await LoghavenError.fromResponse(res);
          if (!isRetryableStatus(res.status)) throw err;
          failures++;
          await sleep(Math.max(err.retryAfterMs ?? 0, backoff(delay, failures, maxDelay)), stop);
          continue;
        }
        async function* watched(body: ReadableStream<Uint8Array> | null): AsyncGenerator<string> {
          if (body === null) return;
          for await (const chunk of textChunks(body)) {
            stillAlive();
            yield chunk;
          }
        }
        for await (const ev of sseEvents(watched(res.body))) {
          failures = 0;
          if (ev.retry !== undefined) delay = ev.retry;
          if (ev.event === 'dropped') {
            params.onDropped?.(Number((JSON.parse(ev.data) as { count?: unknown }).count ?? 0));
            continue;
          }
          const position = ev.id !== undefined && /^\d+$/.test(ev.id) ? BigInt(ev.id) : null;
          if (ev.event !== 'message' || ev.data === '') {
            // An id alone moves the position (a server may send it before the first record).
            if (position !== null && (last === null || position > last)) last = position;
            continue;
          }
          if (position !== null) {
            if (last !== null && position <= last) continue; // already yielded before a reconnect
            last = position;
          }
          const record = JSON.parse(ev.data) as LogRecord;
          if (position !== null) params.onPosition?.(position.toString());
          yield record;
        }
      } catch (e) {
        if (stop?.aborted) return;
        if (e instanceof LoghavenError) throw e;
        // A network failure, a cut or a silent connection: reconnect below.
        failures++;
      } finally {
        clearTimeout(idle);
        stop?.removeEventListener('abort', onStop);
        conn.abort();
      }
      if (stop?.aborted) return;
      await sleep(failures === 0 ? delay : backoff(delay, failures, maxDelay), stop);
    }
  }

  /**
   * Stores records (POST /api/v1/logs) and answers what the server did with each. Answers that
   * mean "later" are sent again after Retry-After, up to `attempts` times. An answer where
   * nothing was accepted (400) is returned, not thrown: its errors say why, line by line.
   */
  async ingest(records: IngestRecords, options: IngestOptions = {}): Promise<IngestAnswer> {
    const body = typeof records === 'string' ? records : (Array.isArray(records) ? records : [records]).map((r) => JSON.stringify(r)).join('\n');
    const attempts = options.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sendNdjson(body, options.signal);
      } catch (e) {
        const retryable = !(e instanceof LoghavenError) || isRetryableStatus(e.status);
        if (!retryable || attempt >= attempts || options.signal?.aborted) throw e;
        const asked = e instanceof LoghavenError ? (e.retryAfterMs ?? 0) : 0;
        await sleep(Math.max(asked, backoff(250, attempt, 30_000)), options.signal);
      }
    }
  }

  /** A batching ingester: log() returns at once, batches go out in the background (ingester.ts). */
  ingester(options: IngesterOptions = {}): Ingester {
    return new Ingester((ndjson, signal) => this.sendNdjson(ndjson, signal), options);
  }

  private async sendNdjson(body: string | Uint8Array, signal?: AbortSignal): Promise<IngestAnswer> {
    const compress = this.gzip && body.length >= 1024;
    const res = await this.fetchFn(`${this.base}/api/v1/logs`, {
      method: 'POST',
      headers: { ...this.headers, 'content-type': NDJSON, accept: 'application/json', ...(compress ? { 'content-encoding': 'gzip' } : {}) },
      body: compress ? await gzip(body) : body,
      signal,
    });
    // 400 with the native body: nothing was accepted, and its errors say why.
    if (res.status === 400 && (res.headers.get('content-type') ?? '').includes('json')) {
      const answer = (await res.clone().json().catch(() => null)) as IngestAnswer | null;
      if (answer !== null && typeof answer.accepted === 'number') return answer;
    }
    if (!res.ok) throw await LoghavenError.fromResponse(res);
    return (await res.json()) as IngestAnswer;
  }

  private async getJson<T>(path: string, params: object, options: CallOptions): Promise<T> {
    const res = await this.request(this.url(path, params), { signal: options.signal, headers: { accept: 'application/json' } });
    return (await res.json()) as T;
  }

  private async request(url: string, init: { signal?: AbortSignal; headers?: Record<string, string> }): Promise<Response> {
    const res = await this.fetchFn(url, { signal: init.signal, headers: { ...this.headers, ...init.headers } });
    if (!res.ok) throw await LoghavenError.fromResponse(res);
    return res;
  }

  private url(path: string, params: object): string {
    const url = new URL(this.base + path);
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined || value === null || value === '') continue;
      url.searchParams.set(name, value instanceof Date ? value.toISOString() : String(value));
    }
    return url.href;
  }
}

/** Exponential backoff from `base`, doubling per failure up to `max`, with jitter. */
function backoff(base: number, failures: number, max: number): number {
  const ms = Math.min(max, base * 2 ** Math.min(failures - 1, 20));
  return ms * (0.5 + Math.random() / 2);
}
