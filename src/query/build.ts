// Assembles the query side from the configuration: the concurrency limiter, the response cache
// (in-process, or Redis when `cache.redis_url` is set) fed by the pipeline's acknowledgements,
// the query service every transport uses, and the cache warm-up.

import os from 'node:os';
import type { Config } from '../config/schema.js';
import type { ColdTier } from '../lifecycle/cold-tier.js';
import type { Metrics } from '../observability/metrics.js';
import type { IngestPipeline, Visibility } from '../pipeline/ingest-pipeline.js';
import type { Store } from '../store/store.js';
import { MemoryCacheStore, type CacheStore } from './cache/cache-store.js';
import { MemoryChangeJournal, rowsTimeRange, type ChangeJournal } from './cache/change-journal.js';
import { ResponseCache } from './cache/response-cache.js';
import { CacheWarmer, parseWarmup } from './cache/warmup.js';
import { QueryLimiter } from './limiter.js';
import { QueryService } from './service.js';
import { TailHub } from './tail.js';

/** How often open tails look for rows other instances loaded, besides their notices. */
const TAIL_POLL_MS = 1000;

export interface QueryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface QuerySide {
  service: QueryService;
  limiter: QueryLimiter;
  cache: ResponseCache | null;
  warmer: CacheWarmer;
  tails: TailHub;
  close(): Promise<void>;
}

export async function buildQuerySide(
  config: Config,
  store: Store,
  pipeline: IngestPipeline,
  metrics: Metrics,
  log: QueryLog,
  onSlowQuery?: () => void,
  cold: ColdTier | null = null,
): Promise<QuerySide> {
  const warmQueries = parseWarmup(config.cache.warmup);
  const q = config.query;
  const limiter = new QueryLimiter({
    maxConcurrent: q.max_concurrent === 0 ? os.availableParallelism() : q.max_concurrent,
    queueSize: q.queue_size,
    queueTimeoutMs: q.queue_timeout_ms,
    // Ingest first: while the loader is behind, queries take a ninth of the engine at most.
    yieldTo: () => pipeline.behind,
  });
  let cache: ResponseCache | null = null;
  let stopListening = () => undefined as unknown;
  // Without Redis a cache is this instance's alone and would not hear of other instances' rows:
  // on a shared backend it is off rather than ever stale.
  const cacheUsable = config.cache.redis_url !== '' || store.peers === undefined;
  if (config.cache.enabled && !cacheUsable) {
    log.warn({ backend: store.backend }, 'response cache off: on a backend other instances may share, it needs cache.redis_url');
  }
  if (config.cache.enabled && cacheUsable) {
    const c = config.cache;
    const ttlMs = { search: c.ttl_search_ms, histogram: c.ttl_histogram_ms, top: c.ttl_top_ms, access: c.ttl_access_ms };
    let backend: CacheStore;
    let journal: ChangeJournal;
    if (c.redis_url !== '') {
      // Loaded only when used: the Redis client is a few MB of memory a server without one keeps.
      const { openRedisCache } = await import('./cache/redis-cache.js');
      ({ store: backend, journal } = await openRedisCache(c.redis_url, { keepMs: Math.max(...Object.values(ttlMs)), log }));
    } else {
      backend = new MemoryCacheStore(c.max_bytes, () => metrics.cacheEvictions.inc());
      journal = new MemoryChangeJournal(Math.max(...Object.values(ttlMs)));
    }
    const responses = new ResponseCache(backend, journal, { ttlMs }, metrics, log);
    cache = responses;
    // Every acknowledged group marks its time range changed, before its acknowledgement is sent.
    // Tenants are not told apart yet (every record is the default tenant's).
    stopListening = pipeline.onAcknowledged((ack) => {
      let from: bigint | undefined;
      let to: bigint | undefined;
      for (const b of ack.batches) {
        const r = rowsTimeRange(b.bytes);
        if (r === null) continue;
        if (from === undefined || r.from < from) from = r.from;
        if (to === undefined || r.to > to) to = r.to;
      }
      if (from === undefined || to === undefined) return;
      return responses.changed(null, from, to);
    });
  }
  // With other instances on the same backend, a read also waits for what they acknowledged.
  const peers = store.peers;
  const visible =
    peers === undefined ? (mode: Visibility) => pipeline.visible(mode) : async (mode: Visibility) => void (await Promise.all([pipeline.visible(mode), peers.barrier()]));
  const service = new QueryService({
    store,
    cold,
    visible,
    loadProgress: () => pipeline.loadProgress,
    cache,
    limiter,
    metrics,
    limits: {
      defaultLimit: q.default_limit,
      maxLimit: q.max_limit,
      exportChunkRows: q.export_chunk_rows,
      maxRangeDays: q.max_range_days,
      maxExportRows: q.max_export_rows,
      maxResultBytes: q.max_result_bytes,
      slowMs: q.slow_ms,
    },
    log,
    onSlowQuery,
  });
  const gauges = setInterval(() => {
    metrics.queriesRunning.set(limiter.stats.running);
    metrics.queriesQueued.set(limiter.stats.queued);
  }, 1000);
  gauges.unref();
  const tails = new TailHub({
    store,
    // Shared by several instances, sequence numbers are given at load: a tail follows what is
    // loaded, here or anywhere, and this instance's own acknowledgements wake it once loaded.
    acknowledgedSeq: peers === undefined ? () => pipeline.acknowledgedSeq : () => store.loadedSeq(),
    visible: (mode) => pipeline.visible(mode),
    limiter,
    metrics,
    maxTails: q.max_tails,
    log,
  });
  const stopTails = pipeline.onAcknowledged(() => tails.notify());
  const stopLoaded = peers === undefined ? () => undefined : pipeline.onLoaded(() => tails.notify());
  peers?.onLoaded(() => tails.notify());
  // Notices of other instances' loads can be lost while the listening connection reconnects:
  // open tails also look at the store's newest sequence number every second.
  const tailPoll =
    peers === undefined
      ? null
      : setInterval(() => {
          if (tails.size > 0) void store.maxSeq().then(() => tails.notify(), () => undefined);
        }, TAIL_POLL_MS);
  tailPoll?.unref();
  const warmer = new CacheWarmer(service, cache === null ? [] : warmQueries, config.cache.warmup_interval_ms, log);
  return {
    service,
    limiter,
    cache,
    warmer,
    tails,
    async close() {
      clearInterval(gauges);
      stopListening();
      stopTails();
      stopLoaded();
      if (tailPoll !== null) clearInterval(tailPoll);
      await tails.close();
      await warmer.close();
      await cache?.close();
    },
  };
}
