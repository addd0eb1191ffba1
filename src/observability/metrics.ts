// Every Prometheus metric loghaven exports, declared in one place with its help text so /metrics
// and the docs agree. Each server owns its own registry (tests run several servers per process).

import { monitorEventLoopDelay } from 'node:perf_hooks';
import client from 'prom-client';

/** The event-loop delay is sampled by a timer due every this many ms. */
const LOOP_RESOLUTION_MS = 10;
const LOOP_QUANTILES = [0.5, 0.99, 0.999] as const;

export class Metrics {
  readonly registry = new client.Registry();

  readonly ingestLines = new client.Counter({
    name: 'loghaven_ingest_lines_total',
    help: 'Records accepted, by protocol',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  readonly ingestBytes = new client.Counter({
    name: 'loghaven_ingest_bytes_total',
    help: 'Request body bytes received (after decompression), by protocol',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  readonly ingestRejects = new client.Counter({
    name: 'loghaven_ingest_rejected_total',
    help: 'Records rejected inside an accepted request (a bad line or element), by protocol and reason',
    labelNames: ['protocol', 'reason'] as const,
    registers: [this.registry],
  });
  readonly ingestUnparsed = new client.Counter({
    name: 'loghaven_ingest_unparsed_total',
    help: 'Records kept whole because their protocol could not parse them (syslog messages that are neither RFC 5424 nor RFC 3164), by protocol',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  readonly ingestRefused = new client.Counter({
    name: 'loghaven_ingest_refused_requests_total',
    help:
      'Ingest requests answered with an error and nothing stored, by protocol and reason ' +
      '(overloaded, disk_full, too_large, shutting_down, bad_body, unsupported_media, nothing_accepted, error)',
    labelNames: ['protocol', 'reason'] as const,
    registers: [this.registry],
  });
  readonly ingestBatches = new client.Counter({
    name: 'loghaven_ingest_batches_total',
    help: 'Write groups appended to the spool',
    registers: [this.registry],
  });
  readonly batchRows = new client.Histogram({
    name: 'loghaven_ingest_batch_rows',
    help: 'Rows per spool write group',
    buckets: [1, 10, 100, 1000, 5000, 10000, 50000, 100000],
    registers: [this.registry],
  });
  readonly flushSeconds = new client.Histogram({
    name: 'loghaven_ingest_flush_seconds',
    help: 'Time to write one group to the spool, fsync included when durability is fsync',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly ingestRequestSeconds = new client.Histogram({
    name: 'loghaven_ingest_request_seconds',
    help: 'Time from receiving an ingest request to sending its answer (the acknowledgement latency), by protocol',
    labelNames: ['protocol'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly queueRecords = new client.Gauge({
    name: 'loghaven_ingest_queue_records',
    help: 'Records waiting to be committed',
    registers: [this.registry],
  });
  readonly queueBytes = new client.Gauge({
    name: 'loghaven_ingest_queue_bytes',
    help: 'Bytes of requests waiting to be committed',
    registers: [this.registry],
  });
  readonly fsyncSeconds = new client.Histogram({
    name: 'loghaven_ingest_fsync_seconds',
    help: 'Time of one spool fsync (one covers a whole write group)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly spoolBacklogBytes = new client.Gauge({
    name: 'loghaven_ingest_spool_backlog_bytes',
    help: 'Spooled (acknowledged) bytes not yet loaded into the store',
    registers: [this.registry],
  });
  readonly recoveryRows = new client.Counter({
    name: 'loghaven_ingest_recovery_replayed_rows_total',
    help: 'Rows replayed from the spool at start-up',
    registers: [this.registry],
  });
  readonly queryDuration = new client.Histogram({
    name: 'loghaven_query_duration_seconds',
    help: 'Query latency, by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly exportsCancelled = new client.Counter({
    name: 'loghaven_export_cancelled_total',
    help: 'Exports stopped because the client went away',
    registers: [this.registry],
  });
  readonly storeRows = new client.Gauge({
    name: 'loghaven_store_rows',
    help: 'Rows in the store',
    registers: [this.registry],
  });
  readonly storeMemoryBoosts = new client.Counter({
    name: 'loghaven_store_memory_boosts_total',
    help: 'Loads and queries that ran out of memory under store.duckdb.memory_limit and were retried under max_memory_limit',
    labelNames: ['work'] as const,
    registers: [this.registry],
  });
  readonly storeBytes = new client.Gauge({
    name: 'loghaven_store_bytes',
    help: 'Bytes the store occupies on disk',
    registers: [this.registry],
  });

  readonly cacheRequests = new client.Counter({
    name: 'loghaven_cache_requests_total',
    help: 'Answers by how the response cache served them (hit, miss, bypass)',
    labelNames: ['route', 'result'] as const,
    registers: [this.registry],
  });
  readonly cacheEvictions = new client.Counter({
    name: 'loghaven_cache_evictions_total',
    help: 'Cached answers evicted to stay within cache.max_bytes',
    registers: [this.registry],
  });
  readonly cacheBytes = new client.Gauge({
    name: 'loghaven_cache_bytes',
    help: 'Bytes held by the in-process response cache',
    registers: [this.registry],
  });
  readonly cacheHitRatio = new client.Gauge({
    name: 'loghaven_cache_hit_ratio',
    help: 'Hits over hits and misses since start (bypasses excluded)',
    registers: [this.registry],
  });
  readonly cacheBackendErrors = new client.Counter({
    name: 'loghaven_cache_backend_errors_total',
    help: 'Failed calls to the shared cache (Redis); the answer then comes from the store',
    registers: [this.registry],
  });
  readonly queriesRunning = new client.Gauge({
    name: 'loghaven_queries_running',
    help: 'Queries running in the engine (at most query.max_concurrent)',
    registers: [this.registry],
  });
  readonly queriesQueued = new client.Gauge({
    name: 'loghaven_queries_queued',
    help: 'Queries waiting for a slot (at most query.queue_size)',
    registers: [this.registry],
  });
  readonly queriesRefused = new client.Counter({
    name: 'loghaven_queries_refused_total',
    help: 'Queries refused with 503 (queue full or queue timeout) or 504 (query timeout)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly slowQueries = new client.Counter({
    name: 'loghaven_slow_queries_total',
    help: 'Queries that took longer than query.slow_ms',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly alerts = new client.Gauge({
    name: 'loghaven_alert',
    help: 'Active alerts (1) by name: memory, cache_hit_ratio, concurrency, slow_queries, disk',
    labelNames: ['alert'] as const,
    registers: [this.registry],
  });
  readonly tailSubscribers = new client.Gauge({
    name: 'loghaven_tail_subscribers',
    help: 'Live tails open (SSE and GraphQL subscriptions)',
    registers: [this.registry],
  });
  readonly tailDropped = new client.Counter({
    name: 'loghaven_tail_dropped_total',
    help: 'Records skipped for tail readers too slow to take them',
    registers: [this.registry],
  });

  readonly tenantIngestBytes = new client.Counter({
    name: 'loghaven_tenant_ingest_bytes_total',
    help: 'Request body bytes ingested over HTTP, by the tenant of the key (authentication on)',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly tenantQueries = new client.Counter({
    name: 'loghaven_tenant_queries_total',
    help: 'Read requests (REST, tail, GraphQL), by the tenant of the key (authentication on)',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new client.Counter({
    name: 'loghaven_rate_limited_total',
    help: 'Requests refused with 429 because their key was over a rate limit, by tenant and limit (ingest_bytes, queries)',
    labelNames: ['tenant', 'limit'] as const,
    registers: [this.registry],
  });
  readonly authRefused = new client.Counter({
    name: 'loghaven_auth_refused_total',
    help: 'Requests refused with 401 (no valid key) or 403 (scope or tenant not allowed)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly filesOpenHandles = new client.Gauge({ name: 'loghaven_files_open_handles', help: 'Category files open now', registers: [this.registry] });
  readonly filesBufferedBytes = new client.Gauge({ name: 'loghaven_files_buffered_bytes', help: 'Bytes waiting in the category file buffers', registers: [this.registry] });
  readonly filesBehindRows = new client.Gauge({ name: 'loghaven_files_behind_rows', help: 'Rows loaded into the store but not yet in the category files', registers: [this.registry] });
  readonly filesFlushes = new client.Counter({ name: 'loghaven_files_flushes_total', help: 'Category file buffers written out', registers: [this.registry] });
  readonly filesEmfileRecoveries = new client.Counter({
    name: 'loghaven_files_emfile_recoveries_total',
    help: 'Times the process ran out of file descriptors opening a category file, and closed handles to go on',
    registers: [this.registry],
  });
  readonly filesCreated = new client.Counter({ name: 'loghaven_files_created_total', help: 'Category files created', registers: [this.registry] });
  readonly filesRecords = new client.Counter({ name: 'loghaven_files_lines_total', help: 'Lines written to category files (a record copied to error.jsonl counts twice)', registers: [this.registry] });
  readonly filesBytes = new client.Counter({ name: 'loghaven_files_bytes_total', help: 'Bytes written to category files', registers: [this.registry] });
  readonly filesFailures = new client.Counter({ name: 'loghaven_files_write_failures_total', help: 'Rounds of category file writes that failed (retried with backoff)', registers: [this.registry] });
  readonly archiveLagSeconds = new client.Gauge({
    name: 'loghaven_archive_lag_seconds',
    help: 'Seconds since the oldest closed day still without a complete, current archive closed (0: every closed day is archived), as of the last run',
    registers: [this.registry],
  });
  readonly archiveRuns = new client.Counter({ name: 'loghaven_archive_runs_total', help: 'Archive runs, by result (ok, failed)', labelNames: ['result'] as const, registers: [this.registry] });
  readonly archiveDays = new client.Counter({ name: 'loghaven_archive_days_total', help: 'Tenant days archived', registers: [this.registry] });
  readonly archiveLastSuccess = new client.Gauge({ name: 'loghaven_archive_last_success_timestamp_seconds', help: 'When an archive run last finished without a failure', registers: [this.registry] });
  readonly retentionRows = new client.Counter({ name: 'loghaven_retention_expired_rows_total', help: 'Rows retention removed from the hot store', registers: [this.registry] });
  readonly archiveBytes = new client.Gauge({ name: 'loghaven_archive_bytes', help: 'Bytes of the archives on disk, by format (tar.gz, parquet)', labelNames: ['format'] as const, registers: [this.registry] });

  /**
   * Node's histogram records the time between ticks of a timer due every resolution, so an idle
   * loop reads the resolution itself (prom-client's `loghaven_nodejs_eventloop_lag_*` read so): the
   * delay is what is left once it is taken off.
   */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  readonly eventLoopDelay = new client.Gauge({
    name: 'loghaven_event_loop_delay_seconds',
    help: `How much later than due the main thread ran a timer set every ${LOOP_RESOLUTION_MS} ms, since the previous scrape: quantiles ${LOOP_QUANTILES.join(', ')} and 1 (the most)`,
    labelNames: ['quantile'] as const,
    registers: [this.registry],
    collect: () => {
      const h = this.loopDelay;
      if (h.count === 0) return; // scraped again within one tick: the last figures stand
      const late = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) / 1000;
      for (const q of LOOP_QUANTILES) this.eventLoopDelay.set({ quantile: String(q) }, late(h.percentile(q * 100)));
      this.eventLoopDelay.set({ quantile: '1' }, late(h.max));
      h.reset();
    },
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'loghaven_' });
    this.loopDelay.enable();
  }

  /** Stops sampling the event loop (a server closing). */
  close(): void {
    this.loopDelay.disable();
  }
}
