// Live tail (SPEC §5): every acknowledged record that matches a query, delivered once and in
// sequence order to each reader, soon after its acknowledgement. The hub does not copy records
// out of the ingest path: acknowledgements only wake it, and it reads what is new from the store
// (the hot tier makes acknowledged rows readable at once), one read per distinct query however
// many readers share it, each read in a query slot like any other. A reader's position is the
// sequence number of the last record it was given, so a reconnecting reader resumes exactly
// there. A reader too slow to take what comes is skipped ahead, and told how many it missed.
//
// Positions are the store's sequence numbers, and acknowledgements could as well arrive from
// another instance (the scale-out issue: Redis pub/sub calling notify()).

import { LhError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Visibility } from '../pipeline/ingest-pipeline.js';
import type { JsonRecord, Store } from '../store/store.js';
import type { QueryNode } from './ast.js';
import type { QueryLimiter } from './limiter.js';
import { parseQuery } from './parser.js';
import type { Param, QueryContext } from './service.js';

/** A record as in search results, and its position. */
export type TailRecord = JsonRecord;

export interface TailSink {
  /** Records in sequence order; false when the reader's buffer is full (later ones are dropped until resume()). */
  push(records: TailRecord[]): boolean;
  /** `count` records were skipped because the reader was slow; called once it can take more. */
  dropped(count: number): void;
}

export interface TailHandle {
  /**
   * Where the tail starts (after the backfill): a reader that reconnects with this position
   * before any record came misses nothing acknowledged in between.
   */
  readonly position: bigint;
  /** The reader can take records again. */
  resume(): void;
  close(): void;
}

export interface TailParams {
  q?: Param;
  /** Records to send first: the last N matching ones already stored, oldest first. */
  backfill?: Param;
  /** Resume after this position (a Last-Event-ID) instead of starting now. */
  afterSeq?: bigint;
}

export interface TailHubDeps {
  store: Store;
  /** Sequence number of the last acknowledged record. */
  acknowledgedSeq: () => bigint;
  visible: (mode: Visibility) => Promise<void>;
  limiter: QueryLimiter;
  metrics: Metrics;
  maxTails: number;
  log: { warn(obj: object, msg: string): void };
}

/** Most records read per query round; a reader far behind catches up a page at a time. */
const PAGE_ROWS = 5000;
/** Most records of a backfill. */
export const MAX_BACKFILL = 10_000;
/** After an acknowledgement, how long the hub waits for more before it reads (batches bursts). */
const TICK_DELAY_MS = 25;
/** After a failed round (busy engine), how long before the next. */
const RETRY_MS = 200;

interface Reader {
  tenant: string;
  query: QueryNode | undefined;
  /** Readers with the same key share one read per round. */
  key: string;
  afterSeq: bigint;
  sink: TailSink;
  lagging: boolean;
  dropped: number;
  closed: boolean;
}

export class TailHub {
  private readonly readers = new Set<Reader>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(private readonly deps: TailHubDeps) {}

  get size(): number {
    return this.readers.size;
  }

  /** New records may be readable (an acknowledgement here or, later, on another instance). */
  notify(): void {
    if (this.readers.size === 0 || this.closed) return;
    this.schedule(TICK_DELAY_MS);
  }

  /**
   * Opens a tail: the backfill (if asked) is pushed before this resolves, then live records as
   * they come. Throws LH_ERR_QUERY_* for a bad query, LH_ERR_TOO_MANY_TAILS past query.max_tails.
   */
  async open(ctx: QueryContext, params: TailParams, sink: TailSink): Promise<TailHandle> {
    if (this.closed) throw new LhError('LH_ERR_SHUTTING_DOWN');
    if (this.readers.size >= this.deps.maxTails) {
      throw new LhError('LH_ERR_TOO_MANY_TAILS', `${this.readers.size} tails are open (query.max_tails)`, { retry_after_s: 5, limit: this.deps.maxTails });
    }
    const query = parseQuery(params.q === undefined || params.q === null ? '' : String(params.q));
    const backfill = backfillOf(params.backfill);
    const reader: Reader = {
      tenant: ctx.tenant,
      query,
      key: `${ctx.tenant}\u0000${JSON.stringify(query ?? null)}`,
      afterSeq: params.afterSeq ?? 0n,
      sink,
      lagging: false,
      dropped: 0,
      closed: false,
    };
    if (params.afterSeq === undefined) {
      // Start at what is readable now: everything acknowledged before the tail opened.
      await this.deps.visible('staged');
      const now = await this.deps.store.maxSeq();
      if (backfill > 0) {
        const last = await this.deps.limiter.run(
          () => this.deps.store.readAfterJson({ tenant: ctx.tenant, query, afterSeq: 0n, maxSeq: now, limit: backfill, order: 'desc' }),
          ctx.signal,
        );
        if (!sink.push(last.value.reverse())) reader.lagging = true;
      }
      reader.afterSeq = now;
    }
    this.readers.add(reader);
    this.deps.metrics.tailSubscribers.set(this.readers.size);
    this.schedule(0);
    return {
      position: reader.afterSeq,
      resume: () => {
        if (!reader.lagging) return;
        reader.lagging = false;
        if (reader.dropped > 0) {
          const n = reader.dropped;
          reader.dropped = 0;
          reader.sink.dropped(n);
        }
      },
      close: () => {
        if (reader.closed) return;
        reader.closed = true;
        this.readers.delete(reader);
        this.deps.metrics.tailSubscribers.set(this.readers.size);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    for (const r of this.readers) r.closed = true;
    this.readers.clear();
    this.deps.metrics.tailSubscribers.set(0);
  }

  private schedule(ms: number): void {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.round().finally(() => {
        this.running = null;
        if (this.again && !this.closed) {
          this.again = false;
          this.schedule(TICK_DELAY_MS);
        }
      });
    }, ms);
  }

  /** One round: every group of readers gets what was acknowledged since their position. */
  private async round(): Promise<void> {
    const target = this.deps.acknowledgedSeq();
    const behind = [...this.readers].filter((r) => !r.closed && r.afterSeq < target);
    if (behind.length === 0) return;
    try {
      await this.deps.visible('staged');
      const readable = await this.deps.store.maxSeq();
      const upTo = readable < target ? readable : target;
      const groups = new Map<string, Reader[]>();
      for (const r of behind) {
        const g = groups.get(r.key);
        if (g) g.push(r);
        else groups.set(r.key, [r]);
      }
      for (const group of groups.values()) await this.serveGroup(group, upTo);
      if (upTo < target) this.again = true;
    } catch (e) {
      // Busy engine, timeout, store closing: the positions did not move; try again shortly.
      if (!this.closed) {
        if (!(e instanceof LhError && e.code === 'LH_ERR_BUSY')) this.deps.log.warn({ err: e }, 'live tail read failed; retrying');
        setTimeout(() => this.schedule(0), RETRY_MS).unref();
      }
    }
  }

  private async serveGroup(group: Reader[], upTo: bigint): Promise<void> {
    const { tenant, query } = group[0]!;
    let from = group.reduce((m, r) => (r.afterSeq < m ? r.afterSeq : m), group[0]!.afterSeq);
    for (;;) {
      const records = (
        await this.deps.limiter.run(() => this.deps.store.readAfterJson({ tenant, query, afterSeq: from, maxSeq: upTo, limit: PAGE_ROWS }))
      ).value;
      for (const r of group) {
        if (r.closed) continue;
        const mine = r.afterSeq <= from ? records : records.filter((x) => x.seq > r.afterSeq);
        if (mine.length > 0) {
          if (r.lagging) {
            r.dropped += mine.length;
            this.deps.metrics.tailDropped.inc(mine.length);
          } else if (!r.sink.push(mine)) {
            r.lagging = true;
          }
        }
      }
      const done = records.length < PAGE_ROWS;
      const reached = done ? upTo : records[records.length - 1]!.seq;
      for (const r of group) if (r.afterSeq < reached) r.afterSeq = reached;
      if (done) return;
      from = reached;
    }
  }
}

function backfillOf(v: Param): number {
  if (v === undefined || v === null || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > MAX_BACKFILL) {
    throw new LhError('LH_ERR_BAD_PARAM', `backfill must be an integer from 0 to ${MAX_BACKFILL}, got ${JSON.stringify(String(v))}`, { param: 'backfill' });
  }
  return n;
}
