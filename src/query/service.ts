// The one way into the store for every reader — REST, GraphQL, the live tail, the CLI through
// REST: parse and check the parameters → cache key → cache → concurrency limiter → visibility →
// store. Transports stay thin (they map HTTP or GraphQL onto these calls), and every one of them
// gets the same validation, guards, cache and, later, tenant rules.

import type { ColdTier } from '../lifecycle/cold-tier.js';
import { TieredReads } from './tiered-reads.js';
import { LhError } from '../errors.js';
import { formatMicros, nowMicros } from '../model/record.js';
import type { Metrics } from '../observability/metrics.js';
import type { Visibility } from '../pipeline/ingest-pipeline.js';
import type { ExportFormat, Selection, SortOrder, Store } from '../store/store.js';
import type { CacheKey, CachedRoute, ResponseCache } from './cache/response-cache.js';
import { decodeCursor, encodeCursor, queryHash } from './cursor.js';
import type { QueryLimiter } from './limiter.js';
import { parseQuery } from './parser.js';
import { CSV_HEADER, recordToJson } from './record-format.js';
import { parseStep, parseTimeParam } from './time.js';
import { intParam, paramText as text } from './params.js';
import { AccessAnswers, accessKeyParts, type AccessKind, type AccessParams, type AccessProgress } from './access-analytics.js';
import { compileAccessWhere } from './access-sql.js';
import type { AccessSelection } from '../store/access.js';

/** Who asks, and how. */
export interface QueryContext {
  tenant: string;
  /** Aborts when the client goes away: waiting and running work stops. */
  signal?: AbortSignal;
  /** The client asked for a fresh answer (`Cache-Control: no-cache`). */
  noCache?: boolean;
}

/** Parameters as they arrive (query-string text or GraphQL arguments), checked here. */
export type Param = string | number | undefined | null;

export interface SearchParams {
  q?: Param;
  from?: Param;
  to?: Param;
  limit?: Param;
  order?: Param;
  cursor?: Param;
  offset?: Param;
}

export interface HistogramParams {
  q?: Param;
  from?: Param;
  to?: Param;
  step?: Param;
  /** `level`: each bucket's counts per level too (one scan for a chart stacked by level). */
  by?: Param;
}

export interface TopParams {
  q?: Param;
  from?: Param;
  to?: Param;
  field?: Param;
  limit?: Param;
}

export interface ExportParams {
  q?: Param;
  from?: Param;
  to?: Param;
  format?: Param;
  order?: Param;
}

export interface Timings {
  cacheMs: number;
  queueMs: number;
  /** Waiting for acknowledged rows to become readable (staging them, or their load). */
  visibleMs: number;
  /** The store's work, the wait for visibility excluded. */
  dbMs: number;
  totalMs: number;
}

/** An answer as JSON text (what REST sends as is), and how it was served. */
export interface Served {
  json: string;
  cache: 'hit' | 'miss' | 'bypass';
  timings: Timings;
}

export interface ExportStream {
  contentType: string;
  format: 'ndjson' | 'csv' | 'json';
  chunks: AsyncIterable<string>;
}

export interface QueryLimits {
  defaultLimit: number;
  maxLimit: number;
  exportChunkRows: number;
  maxRangeDays: number;
  maxExportRows: number;
  maxResultBytes: number;
  slowMs: number;
}

export interface QueryServiceDeps {
  store: Store;
  /** Resolves once everything acknowledged so far is readable (pipeline.visible). */
  visible: (mode: Visibility) => Promise<void>;
  /** Rows acknowledged (written to the spool) and loaded so far: whether a wait for loads ended early. */
  loadProgress?: () => { written: number; loaded: number };
  cache: ResponseCache | null;
  limiter: QueryLimiter;
  metrics: Metrics;
  limits: QueryLimits;
  log: { warn(obj: object, msg: string): void };
  /** Told of each query slower than limits.slowMs (the slow_queries alert). */
  onSlowQuery?: () => void;
  /** The days only the archives hold now (lifecycle/cold-tier.ts), read when a range reaches them. */
  cold?: ColdTier | null;
}

const MAX_HISTOGRAM_BUCKETS = 10_000;
const MICROS_PER_DAY = 86_400_000_000n;

export class QueryService {
  constructor(private readonly deps: QueryServiceDeps) {}

  private tiered: TieredReads | null = null;

  /** Searches, histograms, top values and exports: the hot store, and the cold tier where a range reaches it. */
  private get reads(): TieredReads {
    return (this.tiered ??= new TieredReads(this.deps.store, this.deps.cold ?? null));
  }

  get limits(): QueryLimits {
    return this.deps.limits;
  }

  async search(ctx: QueryContext, p: SearchParams): Promise<Served> {
    const sel = this.selection(ctx, p);
    const order = sortOrder(p.order, 'desc');
    const limit = intParam('limit', p.limit, this.deps.limits.defaultLimit, 1, this.deps.limits.maxLimit);
    // The tenant is part of it: a cursor handed out to one tenant is refused for another.
    const hash = queryHash([ctx.tenant, text(p.q), text(p.from), text(p.to), order]);
    let after: { ts: bigint; seq: bigint } | undefined;
    let maxSeq: bigint | undefined;
    let offset: number | undefined;
    const cursorText = text(p.cursor);
    if (cursorText !== '') {
      const c = decodeCursor(cursorText);
      if (c.qh !== hash || c.order !== order) {
        throw new LhError('LH_ERR_BAD_CURSOR', 'the cursor belongs to a different query, time range, order or tenant');
      }
      after = { ts: c.ts, seq: c.seq };
      maxSeq = c.maxSeq;
    } else {
      offset = p.offset === undefined || p.offset === null || p.offset === '' ? undefined : intParam('offset', p.offset, 0, 0, 10_000_000);
    }
    const key: CacheKey = { tenant: ctx.tenant, route: 'search', parts: [sel.query ?? null, order, limit, offset ?? 0, cursorText], from: sel.from, to: sel.to };
    return this.serve('search', ctx, key, async (visible) => {
      // A first page pins the rows readable now, so its cursor pages over exactly those.
      if (maxSeq === undefined) {
        await visible();
        maxSeq = await this.deps.store.maxSeq();
      }
      const started = performance.now();
      const page = await this.reads.queryPage({ ...sel, order, limit, after, maxSeq, offset });
      const last = page.items[page.items.length - 1];
      const next = page.items.length === limit && last ? encodeCursor({ ts: last.ts, seq: last.seq, maxSeq, order, qh: hash }) : null;
      const items = page.items.map(recordToJson).join(',');
      // cold_days: days of the range read from their archives (retention took them from the hot store).
      const stats = JSON.stringify({ rows_scanned: page.rowsScanned, elapsed_ms: round2(performance.now() - started), ...(page.coldDays > 0 ? { cold_days: page.coldDays } : {}) });
      return `{"items":[${items}],"next_cursor":${JSON.stringify(next)},"stats":${stats}}`;
    });
  }

  async histogram(ctx: QueryContext, p: HistogramParams): Promise<Served> {
    const sel = this.selection(ctx, p);
    const step = text(p.step) !== '' ? parseStep(text(p.step)) : autoStep(sel);
    const by = text(p.by);
    if (by !== '' && by !== 'level') throw new LhError('LH_ERR_BAD_PARAM', `by must be "level" (or left out), not ${JSON.stringify(by)}`, { param: 'by' });
    const byLevel = by === 'level';
    const key: CacheKey = { tenant: ctx.tenant, route: 'histogram', parts: [sel.query ?? null, step, by], from: sel.from, to: sel.to };
    return this.serve('histogram', ctx, key, async (visible) => {
      await visible();
      const found = await this.reads.histogram({ ...sel, stepMicros: step, byLevel });
      // One bucket per start: its total, and with by=level its counts per level (`none`: no level).
      const counts = new Map<bigint, { count: number; levels: Record<string, number> }>();
      for (const b of found) {
        let c = counts.get(b.ts);
        if (c === undefined) counts.set(b.ts, (c = { count: 0, levels: {} }));
        c.count += b.count;
        if (byLevel) c.levels[b.level ?? 'none'] = (c.levels[b.level ?? 'none'] ?? 0) + b.count;
      }
      let starts = [...counts.keys()];
      if (sel.from !== undefined && sel.to !== undefined) {
        const first = floorDiv(sel.from, step) * step;
        const n = (sel.to - first + step - 1n) / step;
        if (n <= BigInt(MAX_HISTOGRAM_BUCKETS)) {
          starts = [];
          for (let t = first; t < sel.to; t += step) starts.push(t);
        }
      }
      const buckets = starts.map((t) => {
        const c = counts.get(t);
        return { ts: formatMicros(t), count: c?.count ?? 0, ...(byLevel ? { levels: c?.levels ?? {} } : {}) };
      });
      return JSON.stringify({ step_ms: Number(step / 1000n), buckets });
    });
  }

  async top(ctx: QueryContext, p: TopParams): Promise<Served> {
    const sel = this.selection(ctx, p);
    const field = text(p.field);
    if (field === '') throw new LhError('LH_ERR_BAD_PARAM', 'field is required: a record field or attrs.a.b', { param: 'field' });
    const limit = intParam('limit', p.limit, 10, 1, 1000);
    const key: CacheKey = { tenant: ctx.tenant, route: 'top', parts: [sel.query ?? null, field, limit], from: sel.from, to: sel.to };
    return this.serve('top', ctx, key, async (visible) => {
      await visible();
      const values = await this.reads.topValues({ ...sel, field, limit });
      return JSON.stringify({ field, values });
    });
  }

  /**
   * Every matching record, streamed. An export holds a query slot while the engine reads each
   * page and none in between, so a long export neither hogs the engine nor is starved by it.
   */
  async export(ctx: QueryContext, p: ExportParams): Promise<ExportStream> {
    const sel = this.selection(ctx, p);
    const order = sortOrder(p.order, 'asc');
    const format = text(p.format) || 'ndjson';
    if (format !== 'ndjson' && format !== 'csv' && format !== 'json') {
      throw new LhError('LH_ERR_BAD_PARAM', `format must be ndjson, csv or json, got ${JSON.stringify(format)}`, { param: 'format' });
    }
    // Exports read the store's table: they wait for the loads, not for the staging.
    await this.slot(ctx, () => this.deps.visible('loaded'));
    const maxSeq = await this.deps.store.maxSeq();
    const limits = this.deps.limits;
    if (limits.maxExportRows > 0) {
      // The selection is one tenant's, so its top tenant value counts every matching row.
      const count = await this.slot(ctx, () => this.reads.topValues({ ...sel, field: 'tenant', limit: 1 }));
      const rows = count[0]?.count ?? 0;
      if (rows > limits.maxExportRows) {
        throw new LhError('LH_ERR_TOO_MANY_ROWS', `the export would stream ${rows} rows, more than query.max_export_rows (${limits.maxExportRows}); narrow the query or the time range`, {
          rows,
          limit: limits.maxExportRows,
          setting: 'query.max_export_rows',
        });
      }
    }
    const storeFormat: ExportFormat = format === 'csv' ? 'csv' : 'ndjson';
    const source = this.reads.exportText({ ...sel, order, maxSeq, format: storeFormat, chunkRows: limits.exportChunkRows }, ctx.signal);
    const limiter = this.deps.limiter;
    const metrics = this.deps.metrics;
    const started = performance.now();
    async function* chunks(): AsyncGenerator<string> {
      if (format === 'csv') yield CSV_HEADER;
      if (format === 'json') yield '[\n';
      const it = source[Symbol.asyncIterator]();
      let first = true;
      for (;;) {
        await limiter.acquire(ctx.signal);
        let step: IteratorResult<{ text: string }>;
        try {
          step = await it.next();
        } finally {
          limiter.release();
        }
        if (step.done || ctx.signal?.aborted) break;
        const chunk = step.value.text;
        if (format !== 'json') {
          yield chunk;
          continue;
        }
        // JSON strings never hold a raw newline, so newlines are exactly the record boundaries.
        const body = chunk.slice(0, -1).replaceAll('\n', ',\n');
        yield first ? body : `,\n${body}`;
        first = false;
      }
      if (format === 'json') yield '\n]\n';
      metrics.queryDuration.observe({ route: 'export' }, (performance.now() - started) / 1000);
    }
    const contentType = format === 'csv' ? 'text/csv; charset=utf-8' : format === 'json' ? 'application/json' : 'application/x-ndjson';
    return { contentType, format, chunks: chunks() };
  }

  private readonly accessAnswers = new AccessAnswers(() => this.deps.store.access);

  /**
   * Access-log analytics (access-analytics.ts). They read what the loads have typed and
   * aggregated, so they wait for the loads; no range limit applies (whole hours read the
   * aggregates, anything else the typed access table).
   */
  async access(ctx: QueryContext, kind: AccessKind, p: AccessParams): Promise<Served> {
    const sel = this.accessSelection(ctx, p);
    const key: CacheKey = { tenant: ctx.tenant, route: 'access', parts: [sel.query ?? null, ...accessKeyParts(kind, p)], from: sel.from, to: sel.to };
    // The wait for the loads happens before the query takes a slot: it uses no engine time, and
    // while ingest is behind the limiter would count it as the query's and pause others for it.
    // A wait cut short (the loader far behind, or failing) gives an answer without the rows still
    // loading: it says so and is not cached.
    let loading = 0;
    const waitForLoads = async (): Promise<boolean> => {
      const target = this.deps.loadProgress?.().written ?? 0;
      await this.deps.visible('loaded');
      loading = Math.max(0, target - (this.deps.loadProgress?.().loaded ?? target));
      return loading === 0;
    };
    return this.serve(
      'access',
      ctx,
      key,
      async () => {
        const json = await this.accessAnswers.answer(kind, sel, p);
        return loading === 0 ? json : `${json.slice(0, -1)},"partial":true,"rows_loading":${loading}}`;
      },
      waitForLoads,
    );
  }

  /** The workflow analyses running for the caller's tenant. */
  accessProgress(ctx: QueryContext): AccessProgress[] {
    return this.accessAnswers.progress(ctx.tenant);
  }

  private accessSelection(ctx: QueryContext, p: { q?: Param; from?: Param; to?: Param }): AccessSelection {
    const { from, to } = timeWindow(p);
    const query = parseQuery(text(p.q));
    // Field names are checked now: a typo is a 400 before any work is queued.
    if (query !== undefined) compileAccessWhere(query, 'duckdb', 1);
    return { tenant: ctx.tenant, from, to, query };
  }

  /** Cache lookup, then the query in a slot, then the cache fill; with timings. */
  private async serve(
    route: CachedRoute,
    ctx: QueryContext,
    key: CacheKey,
    compute: (visible: () => Promise<void>) => Promise<string>,
    /**
     * Awaited on a cache miss before the query queues for a slot (counted as visibility); false
     * keeps the answer out of the cache.
     */
    before?: () => Promise<boolean>,
  ): Promise<Served> {
    const started = performance.now();
    const cache = this.deps.cache;
    let cacheMs = 0;
    let version: number | null = null;
    const useCache = cache !== null && !ctx.noCache;
    if (useCache) {
      const hit = await cache.get(key);
      cacheMs = performance.now() - started;
      if (hit !== undefined) {
        const totalMs = performance.now() - started;
        this.deps.metrics.queryDuration.observe({ route }, totalMs / 1000);
        return { json: hit, cache: 'hit', timings: { cacheMs, queueMs: 0, visibleMs: 0, dbMs: 0, totalMs } };
      }
      // Read before the query sees the data: a change after this makes the answer stale.
      version = await cache.version();
    } else {
      cache?.bypassed(route);
    }
    let visibleMs = 0;
    const visible = async () => {
      const t = performance.now();
      await this.deps.visible('staged');
      visibleMs += performance.now() - t;
    };
    let cacheable = true;
    if (before !== undefined) {
      const t = performance.now();
      cacheable = await before();
      visibleMs += performance.now() - t;
    }
    const { value: json, queueMs } = await this.deps.limiter.run(() => compute(visible), ctx.signal).catch((e: unknown) => {
      if (e instanceof LhError && (e.code === 'LH_ERR_BUSY' || e.code === 'LH_ERR_QUERY_TIMEOUT')) {
        this.deps.metrics.queriesRefused.inc({ reason: e.code === 'LH_ERR_BUSY' ? 'busy' : 'timeout' });
      }
      throw e;
    });
    this.checkSize(json);
    const totalMs = performance.now() - started;
    const dbMs = Math.max(0, totalMs - cacheMs - queueMs - visibleMs);
    if (useCache && cacheable) await cache.set(key, version, json);
    this.deps.metrics.queryDuration.observe({ route }, totalMs / 1000);
    if (totalMs > this.deps.limits.slowMs) {
      this.deps.metrics.slowQueries.inc({ route });
      this.deps.onSlowQuery?.();
      this.deps.log.warn({ route, ms: Math.round(totalMs), tenant: ctx.tenant }, 'slow query');
    }
    return { json, cache: useCache ? 'miss' : 'bypass', timings: { cacheMs, queueMs, visibleMs, dbMs, totalMs } };
  }

  private slot<T>(ctx: QueryContext, fn: () => Promise<T>): Promise<T> {
    return this.deps.limiter.run(fn, ctx.signal).then((r) => r.value);
  }

  private checkSize(json: string): void {
    // A JavaScript string of n UTF-16 units holds at least n bytes of the answer.
    const max = this.deps.limits.maxResultBytes;
    if (json.length > max) {
      throw new LhError('LH_ERR_RESULT_TOO_LARGE', `the answer takes more than query.max_result_bytes (${max} bytes); ask for fewer rows or values`, {
        limit: max,
        setting: 'query.max_result_bytes',
      });
    }
  }

  /** Tenant, resolved time window and parsed query; checks the range limit. */
  private selection(ctx: QueryContext, p: { q?: Param; from?: Param; to?: Param }): Selection {
    const { from, to } = timeWindow(p);
    const maxDays = this.deps.limits.maxRangeDays;
    if (maxDays > 0) {
      const span = from === undefined || to === undefined ? null : to - from;
      if (span === null || span > BigInt(maxDays) * MICROS_PER_DAY) {
        throw new LhError(
          'LH_ERR_RANGE_TOO_LARGE',
          `the time range may cover at most ${maxDays} days (query.max_range_days)${span === null ? '; give both from and to' : ''}`,
          { limit_days: maxDays, setting: 'query.max_range_days' },
        );
      }
    }
    return { tenant: ctx.tenant, from, to, query: parseQuery(text(p.q)) };
  }
}


function optional(v: Param): string | undefined {
  return v === undefined || v === null ? undefined : String(v);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** `from` and `to` resolved (µs; `to` exclusive), `from` before `to`. */
function timeWindow(p: { from?: Param; to?: Param }): { from?: bigint; to?: bigint } {
  // `now` to the next whole second: answers asked for within one second share a cache entry,
  // and the window still ends after every record acknowledged before the request.
  const now = ceilDiv(nowMicros(), 1_000_000n) * 1_000_000n;
  const from = parseTimeParam('from', optional(p.from), now);
  const to = parseTimeParam('to', optional(p.to), now);
  if (from !== undefined && to !== undefined && from >= to) {
    throw new LhError('LH_ERR_BAD_TIME', `"from" (${text(p.from)}) must be before "to" (${text(p.to)})`);
  }
  return { from, to };
}

function sortOrder(v: Param, fallback: SortOrder): SortOrder {
  const s = text(v);
  if (s === '') return fallback;
  if (s === 'asc' || s === 'desc') return s;
  throw new LhError('LH_ERR_BAD_PARAM', `order must be "asc" or "desc", got ${JSON.stringify(s)}`, { param: 'order' });
}

/** About a hundred buckets over the requested window, on a round step. */
function autoStep(sel: Selection): bigint {
  const steps = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800].map((s) => BigInt(s) * 1_000_000n);
  if (sel.from === undefined || sel.to === undefined) return 60_000_000n;
  const span = sel.to - sel.from;
  return steps.find((s) => span / s <= 100n) ?? steps[steps.length - 1]!;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}
