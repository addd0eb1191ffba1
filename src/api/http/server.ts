// Assembles a running server from a validated Config: opens the store, runs migrations, builds
// the ingest pipeline and the HTTP routes, and shuts all of it down in order on close().

import fs from 'node:fs';
import path from 'node:path';
import { setMessageKeys } from '../../ingest/common/normalise.js';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import compress from '@fastify/compress';
import zlib from 'node:zlib';
import type { Config } from '../../config/schema.js';
import { nativeIngestRoutes } from '../../ingest/native/route.js';
import { elasticsearchRoutes } from '../../ingest/elasticsearch/route.js';
import { lokiRoutes } from '../../ingest/loki/route.js';
import { otlpRoutes } from '../../ingest/otlp/route.js';
import { SyslogListener } from '../../ingest/syslog/listener.js';
import { ZmqListener } from '../../ingest/zeromq/listener.js';
import { Metrics } from '../../observability/metrics.js';
import { BufferPool } from '../../pipeline/buffer-pool.js';
import { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import { DUCKDB_ROW_GROUP_ROWS } from '../../store/duckdb/duckdb-store.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { installErrorHandler } from './error-handler.js';
import { logsRoutes } from './logs-routes.js';
import { accessRoutes } from './access-routes.js';
import { cacheRoutes } from './cache-routes.js';
import { tailRoutes } from './tail-route.js';
import { buildQuerySide } from '../../query/build.js';
import { AlertMonitor } from '../../observability/alerts.js';
import { opsRoutes } from './ops-routes.js';
import { graphqlRoutes } from '../graphql/plugin.js';
import { VERSION } from '../../version.js';
import { Authenticator } from '../../auth/authenticator.js';
import { installAuth } from './auth.js';
import { keysRoutes } from './keys-routes.js';
import { LhError } from '../../errors.js';
import { Router } from '../../pipeline/routing.js';
import { CategoryFileSink } from '../../sinks/category-files.js';
import { archiveDirOf, createLifecycle } from '../../lifecycle/lifecycle.js';
import { DAY_MICROS, dayStartMicros } from '../../model/record.js';
import { ColdTier } from '../../lifecycle/cold-tier.js';
import { archiveRoutes } from './archive-routes.js';
import { Jobs, jobRoutes, type JobProgress } from './jobs.js';
import { uiRoutes } from './ui-routes.js';

/**
 * Spool segments are loaded when they reach one DuckDB row group, or this size (so that very wide
 * rows make smaller segments, and any segment loads within the store's raised memory limit), or
 * this age (a search stages or loads the open segment at once, so the age only bounds how stale
 * the store's own counts and the category files get). It holds a whole row group of rows up to
 * about 1.3 KB, access-log entries with every field among them: cut at 64 MiB, those loaded in
 * partial groups at 36k rows/s against 57k for whole ones (bench:access). The age is long enough
 * for a whole row group at 25,000 lines/s and more: at 50,000 lines/s, loads of a second's rows
 * (partial groups, rewritten by the next loads) kept the two cores busy and the acknowledgement
 * tail long (bench:ack: 171–191 % of a core, p99 60–66 ms, against 139–148 % and 24–30 ms).
 */
const SEGMENT_MAX_BYTES = 160 * 2 ** 20;
const LOAD_INTERVAL_MS = 5000;

/** Ingest this long quiet, the archiver compresses on both cores (else on one). */
const INGEST_QUIET_MS = 500;
/** The first archive and retention run after a start. */
const FIRST_LIFECYCLE_RUN_MS = 15 * 60_000;

/** Most bytes of loaded segments kept for the category files; past it they read the store instead. */
const KEEP_FOR_FILES_BYTES = 2 * 2 ** 30;

/** A row is its record's line plus the receive time, tenant and separators: this covers them. */
const ROW_OVERHEAD_BYTES = 64 * 1024;

/** After the drain, how long open connections get to finish before they are closed. */
const SHUTDOWN_GRACE_MS = 1000;

/** Longest a shutdown may take before the process stops regardless (logged with the phase). */
const SHUTDOWN_LIMIT_MS = 45_000;

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  store: Store;
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  // Every protocol's JSON records take their message from these members.
  setMessageKeys(config.ingest.message_keys);
  const dataDir = path.resolve(config.data_dir);
  fs.mkdirSync(dataDir, { recursive: true });
  const opened = Date.now();
  const metrics = new Metrics();
  let app: FastifyInstance | undefined;
  let boostWarned = 0;
  const storeLog = { info: (o: object, m: string) => app?.log.info(o, m), warn: (o: object, m: string) => app?.log.warn(o, m), error: (o: object, m: string) => app?.log.error(o, m) };
  const store = await openStore(config, dataDir, {
    log: storeLog,
    duckdb: {
      log: storeLog,
      maxRowBytes: config.http.body_limit + ROW_OVERHEAD_BYTES,
      onMemoryBoost: (what) => {
        metrics.storeMemoryBoosts.inc({ work: what.startsWith('load') ? 'load' : what });
        // Once a minute at most: an export of wide rows may need it for every page.
        if (Date.now() - boostWarned < 60_000) return;
        boostWarned = Date.now();
        const { memory_limit, max_memory_limit } = config.store.duckdb;
        app?.log.warn({ work: what, memory_limit, max_memory_limit }, 'out of memory under memory_limit; retried under max_memory_limit (raise memory_limit if this is frequent)');
      },
    },
  });
  const applied = await store.migrate();
  const https = httpsOptions(config);
  app = Fastify({
    ...(https === null ? {} : { https }),
    logger: config.log.level === 'silent' ? false : { level: config.log.level },
    bodyLimit: config.http.body_limit,
    // A client that takes longer than this to send its request is cut off (slowloris).
    requestTimeout: config.http.request_timeout_ms,
    // Per-request log lines cost more than an ingest request itself; only when debugging.
    logController: new LogController({
      disableRequestLogging: config.log.level !== 'trace' && config.log.level !== 'debug',
    }),
  });
  // DuckDB replays its own WAL while opening; the pipeline then replays the spool.
  app.log.info({ ms: Date.now() - opened, migrations: applied, data_dir: dataDir }, 'store opened');
  // Request bodies and the rows built from them reuse the same buffers, across every protocol.
  const buffers = new BufferPool();
  const router = new Router(config.routing.rules);
  const pipeline = await IngestPipeline.open(
    store,
    {
      spoolDir: path.join(dataDir, 'spool'),
      durability: config.ingest.durability,
      fsyncIntervalMs: config.ingest.fsync_interval_ms,
      queueMaxBytes: config.ingest.queue_max_bytes,
      spoolMaxBytes: config.ingest.spool_max_bytes,
      maxBatchRows: config.ingest.max_batch_rows,
      flushIntervalMs: config.ingest.flush_interval_ms,
      maxRowBytes: config.http.body_limit + ROW_OVERHEAD_BYTES,
      segmentRows: DUCKDB_ROW_GROUP_ROWS,
      segmentMaxBytes: SEGMENT_MAX_BYTES,
      loadIntervalMs: LOAD_INTERVAL_MS,
      route: (batch) => router.route(batch, buffers),
      // The category files read loaded segments from these links rather than from the store.
      keepLoadedDir: config.files.enabled ? path.join(dataDir, 'files', '.segments') : undefined,
      keepLoadedMaxBytes: KEEP_FOR_FILES_BYTES,
    },
    metrics,
    app.log,
  );
  if (store.peers !== undefined) {
    // Another instance about to read asks for what this one acknowledged (store/postgres/peers.ts).
    store.peers.onBarrier(() => pipeline.visible('loaded'));
    await store.peers.start();
  }
  installErrorHandler(app, metrics);
  // Instances sharing a Redis share the per-key rate limits in it too: a key gets its rate across all of them.
  const sharedRateLimits =
    config.auth.enabled && config.cache.redis_url !== ''
      ? await (await import('../../auth/redis-rate-limit.js')).RedisRateLimiter.open(config.cache.redis_url, { log: app.log })
      : null;
  const authenticator = config.auth.enabled
    ? new Authenticator(store.keys, { ingestBytesPerS: config.auth.rate.ingest_bytes_per_s, queriesPerS: config.auth.rate.queries_per_s }, sharedRateLimits ?? undefined)
    : null;
  if (authenticator === null) {
    app.log.warn({ profile: config.profile }, 'authentication is off (auth.enabled = false): anyone who reaches the port reads and writes everything, as tenant "default"');
  } else {
    await authenticator.reload();
  }
  installAuth(app, { authenticator, metricsPublic: config.auth.metrics_public, metrics });
  // Acknowledgement latency of every ingest route (not of the Elasticsearch probes).
  app.addHook('onResponse', async (req, reply) => {
    const protocol = req.routeOptions.config?.ingestProtocol;
    if (protocol !== undefined && req.method !== 'GET' && req.method !== 'HEAD') {
      metrics.ingestRequestSeconds.observe({ protocol }, reply.elapsedTime / 1000);
    }
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'loghaven', version: VERSION, description: 'Self-hosted log server API' },
    },
  });
  await app.register(nativeIngestRoutes, { pipeline, metrics, bodyLimit: config.http.body_limit, buffers });
  await app.register(lokiRoutes, { pipeline, metrics, bodyLimit: config.http.body_limit, buffers });
  await app.register(otlpRoutes, { pipeline, metrics, bodyLimit: config.http.body_limit, buffers });
  await app.register(elasticsearchRoutes, {
    pipeline,
    metrics,
    bodyLimit: config.http.body_limit,
    buffers,
    indexField: config.elasticsearch.index_field,
    version: config.elasticsearch.version,
  });
  let alerts: AlertMonitor | null = null;
  // Days only their archives hold now: reads over them go to the Parquet files (lifecycle/cold-tier.ts).
  const archiveDir = archiveDirOf(config, dataDir);
  const cold = config.archive.enabled ? new ColdTier(archiveDir) : null;
  await cold?.refresh(store);
  if (cold !== null && store.peers !== undefined && config.archive.dir === '') {
    app.log.warn({ archive_dir: archiveDir }, 'archives go to this instance\'s data directory: with several instances on one database, set archive.dir to a directory they all share, or days that left the hot store are read by the instance that archived them only');
  }
  const queries = await buildQuerySide(config, store, pipeline, metrics, app.log, () => alerts?.slowQuery(), cold);
  alerts = new AlertMonitor({
    metrics,
    memoryBudget: config.alerts.memory_budget,
    diskFreePercent: config.alerts.disk_free_percent,
    dataDir,
    cache: () => (queries.cache === null ? null : { ratio: queries.cache.hitRatio, lookups: queries.cache.lookups }),
    utilisation: () => queries.limiter.utilisation,
  });
  // Category files follow the loads, written on a worker thread (sinks/category-files.ts).
  const files = config.files.enabled
    ? CategoryFileSink.open(
        store,
        { dir: path.join(dataDir, 'files'), segmentsDir: path.join(dataDir, 'files', '.segments'), bufferBytes: config.files.buffer_bytes, maxOpenFiles: config.files.max_open_files, idleCloseMs: config.files.idle_close_ms },
        {
          openHandles: (n) => metrics.filesOpenHandles.set(n),
          bufferedBytes: (n) => metrics.filesBufferedBytes.set(n),
          flushed: (n) => metrics.filesFlushes.inc(n),
          emfileRecovered: () => metrics.filesEmfileRecoveries.inc(),
          fileCreated: () => metrics.filesCreated.inc(),
          written: (records, bytes) => (metrics.filesRecords.inc(records), metrics.filesBytes.inc(bytes)),
          failed: () => metrics.filesFailures.inc(),
        },
        app.log,
      )
    : null;
  if (files !== null) pipeline.onLoaded(() => files.wake());
  // Daily archives (lifecycle/archive.ts): on a schedule, and on demand (POST /api/v1/archive/run).
  const { archiver, retention } = createLifecycle(config, store, dataDir, app.log, files, () => Date.now() - pipeline.lastSubmitAt < INGEST_QUIET_MS);
  const runArchive = async (progress?: (p: JobProgress) => void) => {
    if (archiver === null) throw new LhError('LH_ERR_BAD_PARAM', 'archiving is off on this server (archive.enabled = false)');
    try {
      const result = await archiver.run(progress);
      // Archives keep_days removed may have been the cold tier's.
      await changedDays(result.removed);
      metrics.archiveRuns.inc({ result: result.failed.length === 0 ? 'ok' : 'failed' });
      metrics.archiveDays.inc(result.archived.length);
      metrics.archiveLagSeconds.set(result.lag_seconds);
      if (result.failed.length === 0) metrics.archiveLastSuccess.set(Date.now() / 1000);
      return result;
    } catch (e) {
      metrics.archiveRuns.inc({ result: 'failed' });
      throw e;
    } finally {
      let tar = 0;
      let parquet = 0;
      for (const a of archiver.list()) {
        tar += a.tar_bytes ?? 0;
        parquet += a.parquet_bytes ?? 0;
      }
      metrics.archiveBytes.set({ format: 'tar.gz' }, tar);
      metrics.archiveBytes.set({ format: 'parquet' }, parquet);
    }
  };
  // Rows that went or came back: the cold tier looks at the archives again, and cached answers
  // over their days are stale; here and, told through the store, on the other instances.
  const tiersChanged = async (days: { tenant: string; day: string }[] | null) => {
    await cold?.refresh(store);
    if (days === null) await queries.cache?.changed(null, 0n, 2n ** 62n);
    else for (const d of days) {
      const from = dayStartMicros(d.day);
      await queries.cache?.changed(d.tenant, from, from + DAY_MICROS);
    }
  };
  store.peers?.onTiersChanged(tiersChanged);
  const changedDays = async (days: { tenant: string; day: string }[]) => {
    if (days.length === 0) return;
    await tiersChanged(days);
    await store.peers?.tiersChanged(days);
  };
  const runRetention = async () => {
    const result = await retention.run();
    metrics.retentionRows.inc(result.rows);
    // The size bound may have removed archives of cold days too: the cold tier and caches see it.
    await changedDays([...result.expired, ...(result.size?.gone ?? [])]);
    return result;
  };
  // Instances sharing a backend take turns: archives and retention run on one of them at a time.
  const lead = <T>(fn: () => Promise<T>): Promise<T> => (store.peers === undefined ? fn() : store.peers.exclusive('lifecycle', fn));
  // Archives first: with archiving on, retention waits for them.
  let lifecycleTimer: NodeJS.Timeout | null = null;
  const scheduleLifecycle = (ms: number) => {
    if (archiver === null && !retention.active) return;
    lifecycleTimer = setTimeout(() => {
      lead(async () => {
        if (archiver !== null) await runArchive().catch((e: unknown) => app.log.error({ err: (e as Error).message }, 'archive run failed'));
        if (retention.active) await runRetention().catch((e: unknown) => app.log.error({ err: (e as Error).message }, 'retention failed'));
      })
        .catch(async (e: unknown) => {
          app.log.info({ reason: (e as Error).message }, 'archive and retention run skipped');
          // Another instance runs them: its notice of what changed may have been missed (a
          // dropped listening connection), so the archives are looked at again at each turn.
          await cold?.refresh(store).catch(() => undefined);
        })
        .finally(() => {
        if (lifecycleTimer !== null) scheduleLifecycle(config.lifecycle.interval_ms);
      });
    }, ms);
    lifecycleTimer.unref();
  };
  const jobs = new Jobs();
  const statusDeps = {
    jobs,
    files,
    archiver,
    retention,
    maintain: () => lead(async () => ({ retention: await runRetention() })),
    store,
    pipeline,
    metrics,
    dataDir,
    archiveDir,
    version: VERSION,
    startedAt: Date.now(),
    alerts,
    cache: queries.cache,
    limiter: queries.limiter,
    rateLimits: sharedRateLimits,
  };
  // The read side answers compressed when the client accepts it; in a scope of its own, so that
  // the ingest routes keep reading their (possibly compressed) bodies themselves.
  await app.register(async (reads) => {
    if (config.http.compress) {
      // Brotli at a low quality: its default (11) costs more CPU than the query behind the answer.
      await reads.register(compress, {
        global: true,
        globalDecompression: false,
        threshold: 1024,
        encodings: ['br', 'gzip', 'deflate'],
        customTypes: /^text\/(?!event-stream)|json|csv/,
        brotliOptions: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } },
        zlibOptions: { level: 5 },
      });
    }
    await reads.register(logsRoutes, { queries: queries.service, metrics });
    await reads.register(accessRoutes, { queries: queries.service });
    await reads.register(tailRoutes, { tails: queries.tails });
    // GraphQL (SPEC §5): the same query service, the native ingest path and the tail hub.
    await reads.register(graphqlRoutes, {
      queries: queries.service,
      tails: queries.tails,
      ingest: { pipeline, metrics, buffers },
      status: statusDeps,
      graphiql: config.profile === 'development',
    });
  });
  await app.register(cacheRoutes, { cache: queries.cache, log: app.log });
  await app.register(keysRoutes, { keys: store.keys, authenticator, log: app.log });
  await app.register(opsRoutes, statusDeps);
  await app.register(archiveRoutes, { archiver, jobs, run: (progress) => lead(() => runArchive(progress)), changed: changedDays });
  await app.register(jobRoutes, { jobs });
  // The web UI under /ui/, and browsers that open / sent there (SPEC §10).
  await app.register(uiRoutes);
  app.get('/docs', { config: { scope: 'any' }, schema: { hide: true } }, async () => app.swagger());

  let syslog: SyslogListener | null = null;
  let zeromq: ZmqListener | null = null;
  try {
    await app.listen({ host: config.http.host, port: config.http.port });
    queries.warmer.start();
    // Soon after a start, not an interval later: a server restarted more often than that still archives.
    scheduleLifecycle(Math.min(FIRST_LIFECYCLE_RUN_MS, config.lifecycle.interval_ms));
    if (config.syslog.tcp || config.syslog.udp || (config.syslog.tls_cert !== '' && config.syslog.tls_key !== '')) {
      const s = config.syslog;
      syslog = await SyslogListener.start(
        {
          host: s.host,
          port: s.port,
          tcp: s.tcp,
          udp: s.udp,
          tls: s.tls_cert !== '' && s.tls_key !== '' ? { port: s.tls_port, cert: s.tls_cert, key: s.tls_key, clientCa: s.tls_client_ca || undefined } : null,
          maxMessageBytes: s.max_message_bytes,
          tenant: s.tenant,
        },
        { pipeline, metrics, log: app.log },
      );
      app.log.info({ syslog: syslog.ports }, 'syslog listening');
    }
    if (config.zeromq.pull || config.zeromq.router) {
      const z = config.zeromq;
      zeromq = await ZmqListener.start(
        { host: z.host, pullPort: z.pull_port, routerPort: z.router_port, pull: z.pull, router: z.router, maxMessageBytes: z.max_message_bytes, tenant: z.tenant },
        { pipeline, metrics, buffers, log: app.log },
      );
      app.log.info({ zeromq: zeromq.endpoints }, 'zeromq listening');
    }
  } catch (e) {
    await syslog?.close();
    await queries.close();
    sharedRateLimits?.close();
    alerts.close();
    metrics.close();
    await app.close();
    await pipeline.drain();
    await files?.close();
    await store.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;

  let closing: Promise<void> | null = null;
  return {
    url: `${https === null ? 'http' : 'https'}://${host}:${port}`,
    app,
    store,
    close() {
      // Order matters: stop taking requests, commit what was accepted, then close the store.
      closing ??= (async () => {
        const started = Date.now();
        let phase = 'drain';
        const sequence = (async () => {
          const stopListening = app.close();
          // Socket listeners hand what they have read to the pipeline (and answer it) first.
          phase = 'listeners';
          await Promise.all([syslog?.close(), zeromq?.close()]);
          phase = 'drain';
          await pipeline.drain();
          const drained = Date.now();
          phase = 'connections';
          // Every accepted request has its answer now; a client holding a connection open (an
          // unread response, a slow reader) must not keep the process alive.
          const graceOver = new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref());
          if ((await Promise.race([stopListening.then(() => true), graceOver])) !== true) {
            app.server.closeAllConnections();
          }
          await stopListening;
          await queries.close();
          sharedRateLimits?.close();
          alerts?.close();
          metrics.close();
          phase = 'archive';
          if (lifecycleTimer !== null) clearTimeout(lifecycleTimer);
          lifecycleTimer = null;
          // A run stops between days; a day half done is done again by the next start.
          await archiver?.stop();
          await cold?.close();
          phase = 'files';
          await files?.close();
          const listenerClosed = Date.now();
          phase = 'store';
          await store.close();
          const phases = { drain_ms: drained - started, connections_ms: listenerClosed - drained, store_ms: Date.now() - listenerClosed };
          // A slow stop is worth a warning: it is what an orchestrator's kill timeout cuts short.
          if (Date.now() - started > 5000) app.log.warn(phases, 'stopped slowly');
          else app.log.info(phases, 'stopped');
        })();
        // Whatever a phase waits on, the process stops: everything acknowledged is already
        // durable (spool or store), and a later start replays what was not loaded.
        let limit: NodeJS.Timeout | undefined;
        const overdue = new Promise<void>((resolve) => {
          limit = setTimeout(() => {
            app.log.warn({ phase, ms: Date.now() - started }, 'shutdown did not finish in time; stopping anyway');
            resolve();
          }, SHUTDOWN_LIMIT_MS);
        });
        await Promise.race([sequence, overdue]);
        clearTimeout(limit);
      })();
      return closing;
    },
  };
}

/** The certificate and key of `http.tls`, read at start (null: plain HTTP). */
function httpsOptions(config: Config): { cert: Buffer; key: Buffer } | null {
  const { cert, key } = config.http.tls;
  if (cert === '' && key === '') return null;
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new LhError('LH_ERR_CONFIG_INVALID', `cannot read ${what} ${file}: ${(e as Error).message}`);
    }
  };
  return { cert: read(cert, 'http.tls.cert'), key: read(key, 'http.tls.key') };
}
