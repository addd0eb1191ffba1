// Every Prometheus metric loghaven exports, declared in one place with its help text so /metrics
// and the docs agree. Each server owns its own registry (tests run several servers per process).

import client from 'prom-client';

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

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'loghaven_' });
  }
}
