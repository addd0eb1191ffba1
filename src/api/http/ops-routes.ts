// Operations endpoints (SPEC §8): liveness, readiness (store, disk, queue), Prometheus metrics
// and a JSON status summary for `loghaven status`.

import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Principal } from '../../auth/authenticator.js';
import { ALL_TENANTS } from '../../auth/api-key.js';
import { LhError } from '../../errors.js';
import type { Alert, AlertMonitor } from '../../observability/alerts.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ResponseCache } from '../../query/cache/response-cache.js';
import type { QueryLimiter } from '../../query/limiter.js';
import type { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import type { CategoryFileSink } from '../../sinks/category-files.js';
import type { Archiver } from '../../lifecycle/archive.js';
import type { Retention, RetentionResult } from '../../lifecycle/retention.js';
import { dbStats } from '../../lifecycle/stats.js';
import type { Jobs } from './jobs.js';
import type { Store } from '../../store/store.js';

export interface OpsRouteDeps {
  /** The category file sink, when on. */
  files: CategoryFileSink | null;
  /** The daily archives, when on. */
  archiver: Archiver | null;
  retention: Retention;
  /** Long operations, followed at GET /api/v1/jobs/:id. */
  jobs: Jobs;
  /** `db maintain`'s part beyond the access aggregates: retention, applied now. */
  maintain: () => Promise<{ retention: RetentionResult }>;
  store: Store;
  pipeline: IngestPipeline;
  metrics: Metrics;
  dataDir: string;
  /** The archives (`archive.dir`, or DATA/archive). */
  archiveDir: string;
  version: string;
  startedAt: number;
  alerts: AlertMonitor;
  cache: ResponseCache | null;
  limiter: QueryLimiter;
  /** The per-key rate limits shared through Redis, when in use (absent: each instance keeps its own). */
  rateLimits?: { failure: string | null } | null;
}

/** Below this much free space (or a tenth of a small disk) the server reports itself not ready. */
const MIN_FREE_BYTES = 256 * 2 ** 20;

interface Check {
  ok: boolean;
  detail: string;
}

export async function opsRoutes(app: FastifyInstance, deps: OpsRouteDeps): Promise<void> {
  // Never waits on the store or the query queue: it must answer at once under any load.
  app.get('/health', { config: { scope: 'public' }, schema: { summary: 'Liveness: the process answers; active alerts', tags: ['operations'] } }, async () => ({
    status: 'ok',
    alerts: deps.alerts.check(),
  }));

  app.get(
    '/ready',
    { config: { scope: 'public' }, schema: { summary: 'Readiness: store answers, disk has room, ingest queue has room', tags: ['operations'] } },
    async (_req, reply) => {
      const checks = await readiness(deps);
      const ready = Object.values(checks).every((c) => c.ok);
      // The cache is not needed to serve: when it fails the server answers from the store, and
      // says so here without leaving the load balancer.
      // Nor are the category files: the store keeps every record while they fail.
      // Nor are the archives and retention: a failed run is tried again at the next.
      // Nor are the shared rate limits: while Redis fails, each instance limits keys by itself.
      const degraded = {
        cache: cacheCheck(deps),
        files: filesCheck(deps),
        archive: archiveCheck(deps),
        retention: retentionCheck(deps),
        ...(deps.rateLimits ? { rate_limits: rateLimitsCheck(deps.rateLimits) } : {}),
      };
      const whole = Object.values(degraded).every((c) => c.ok);
      return reply.status(ready ? 200 : 503).send({ status: ready ? (whole ? 'ready' : 'degraded') : 'not ready', checks: { ...checks, ...degraded } });
    },
  );

  // An admin key, or none with auth.metrics_public (auth.ts).
  app.get('/metrics', { config: { scope: 'admin' }, schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (req, reply) => {
    checkServerWide(req.principal);
    const stats = await deps.store.stats();
    if (deps.files !== null) deps.metrics.filesBehindRows.set(Number(deps.files.behind));
    deps.metrics.storeRows.set(stats.rows);
    deps.metrics.storeBytes.set(stats.bytes);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  // `loghaven db maintain`: the access aggregates rebuilt from the typed table (their partial rows merged).
  // A job (jobs.ts): answered at once, followed at GET /api/v1/jobs/:id.
  app.post('/api/v1/db/maintain', { config: { scope: 'admin' }, schema: { summary: 'Apply retention now, and rebuild the access-log aggregates (a job)', tags: ['operations'] } }, async (req, reply) => {
    checkServerWide(req.principal);
    const job = deps.jobs.start('db maintain', '', async (progress) => {
      progress({ done: 0, total: 2, what: 'retention' });
      const { retention } = await deps.maintain();
      progress({ done: 1, total: 2, what: 'access aggregates' });
      const done = await deps.store.access.rebuildAggregates();
      req.log.info(done, 'access aggregates rebuilt');
      return { retention, access_aggregates: { rows: done.rows, ms: done.ms } };
    });
    return reply.status(202).send({ job });
  });

  app.get('/api/v1/db/stats', { config: { scope: 'admin' }, schema: { summary: 'Rows, days and bytes of each tier (hot store, archives, cold days, category files)', tags: ['operations'] } }, async (req) => {
    checkServerWide(req.principal);
    return dbStats(deps.store, deps.dataDir, deps.archiveDir);
  });

  // `loghaven db optimize`: a job too, as a rewrite of a large file takes a while.
  app.post<{ Body: { rewrite?: boolean | 'auto' } | null }>(
    '/api/v1/db/optimize',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Checkpoint the store and refresh its statistics; rewrite its file (the space of deleted rows given back) when asked or when worth it (a job)',
        tags: ['operations'],
        body: Type.Union([Type.Object({ rewrite: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('auto')])) }, { additionalProperties: false }), Type.Null()]),
      },
    },
    async (req, reply) => {
      checkServerWide(req.principal);
      const rewrite = req.body?.rewrite ?? 'auto';
      const job = deps.jobs.start('db optimize', '', async (progress) => {
        progress({ done: 0, total: 1, what: rewrite === false ? 'checkpoint' : 'checkpoint and rewrite' });
        const done = await deps.store.optimize({ rewrite });
        req.log.info(done, 'store optimised');
        return done;
      });
      return reply.status(202).send({ job });
    },
  );

  app.get('/api/v1/status', { config: { scope: 'admin' }, schema: { summary: 'Server summary', tags: ['operations'] } }, async (req) => {
    checkServerWide(req.principal);
    return serverStatus(deps);
  });
}

/** Figures of the whole server (every tenant's rows and traffic) are for keys of every tenant. */
export function checkServerWide(p: Principal | null): void {
  if (p !== null && p.keyId !== null && p.tenant !== ALL_TENANTS) {
    throw new LhError('LH_ERR_FORBIDDEN', `key ${p.keyId} is for tenant ${p.tenant}; server-wide figures need an admin key of every tenant (*)`);
  }
}

/** The server summary of GET /api/v1/status (and of GraphQL's `status`). */
export interface ServerStatus {
  version: string;
  uptime_s: number;
  ready: boolean;
  store: { backend: string; rows: number; bytes: number };
  query_index: Record<string, number>;
  queries: { running: number; queued: number; max_concurrent: number; queue_size: number };
  cache: { enabled: false } | { enabled: true; backend: string; hit_ratio: number | null; lookups: number; failure: string | null };
  alerts: Alert[];
  ingest: { queue_records: number; queue_bytes: number; spool_backlog_bytes: number };
  memory: Record<string, number>;
}

export async function serverStatus(deps: OpsRouteDeps): Promise<ServerStatus> {
  const [stats, checks] = await Promise.all([deps.store.stats(), readiness(deps)]);
  return {
    version: deps.version,
    uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
    ready: Object.values(checks).every((c) => c.ok),
    store: { backend: deps.store.backend, rows: stats.rows, bytes: stats.bytes },
    query_index: queryIndex(deps.store),
    queries: {
      running: deps.limiter.stats.running,
      queued: deps.limiter.stats.queued,
      max_concurrent: deps.limiter.options.maxConcurrent,
      queue_size: deps.limiter.options.queueSize,
    },
    cache:
      deps.cache === null
        ? { enabled: false }
        : { enabled: true, backend: deps.cache.kind, hit_ratio: deps.cache.hitRatio, lookups: deps.cache.lookups, failure: deps.cache.failure },
    alerts: deps.alerts.check(),
    ingest: {
      queue_records: deps.pipeline.queueRecords,
      queue_bytes: deps.pipeline.queueBytes,
      spool_backlog_bytes: deps.pipeline.backlogBytes,
    },
    memory: memoryUsage(),
  };
}

async function readiness(deps: OpsRouteDeps): Promise<Record<string, Check>> {
  const store = await deps.store
    .ping()
    .then(() => ({ ok: true, detail: `${deps.store.backend} answers` }))
    .catch((e: Error) => ({ ok: false, detail: e.message }));
  let disk: Check;
  try {
    const s = fs.statfsSync(deps.dataDir);
    const free = s.bavail * s.bsize;
    const needed = Math.min(MIN_FREE_BYTES, (s.blocks * s.bsize) / 10);
    disk = { ok: free >= needed, detail: `${free} bytes free in ${deps.dataDir} (needs ${Math.round(needed)})` };
  } catch (e) {
    disk = { ok: false, detail: (e as Error).message };
  }
  const full = deps.pipeline.isFull(0);
  const queue = {
    ok: !full,
    detail: `${deps.pipeline.queueBytes} bytes queued, ${deps.pipeline.backlogBytes} bytes spooled not yet loaded`,
  };
  const loadError = deps.pipeline.loadError;
  const loader = { ok: loadError === null, detail: loadError ?? 'spool segments load' };
  return { store, disk, queue, loader };
}

function filesCheck(deps: OpsRouteDeps): Check {
  if (deps.files === null) return { ok: true, detail: 'category files disabled' };
  const error = deps.files.error;
  return error === null
    ? { ok: true, detail: `${deps.files.behind} loaded rows not yet in the category files` }
    : { ok: false, detail: `writing the category files fails (${error}); retrying, every record is in the store` };
}

function archiveCheck(deps: OpsRouteDeps): Check {
  if (deps.archiver === null) return { ok: true, detail: 'archiving disabled' };
  const last = deps.archiver.last;
  if (last === null) return { ok: true, detail: 'no archive run yet' };
  if (last.ok) return { ok: true, detail: `last run ${new Date(last.at).toISOString()}: ${last.result?.archived.length ?? 0} days archived` };
  return { ok: false, detail: `the last archive run (${new Date(last.at).toISOString()}) failed: ${last.error}; tried again at the next run` };
}

function retentionCheck(deps: OpsRouteDeps): Check {
  if (!deps.retention.active) return { ok: true, detail: 'nothing expires' };
  const last = deps.retention.last;
  if (last === null) return { ok: true, detail: 'no retention run yet' };
  const at = new Date(last.at).toISOString();
  if (last.error !== null) return { ok: false, detail: `the last retention run (${at}) failed: ${last.error}; tried again at the next run` };
  const size = last.result?.size;
  if (size?.over) return { ok: false, detail: `the data directory holds ${size.bytes_after} bytes, over retention.max_disk_bytes (${size.max_bytes}), and no closed day is left to remove` };
  return { ok: true, detail: `last run ${at}: ${last.result?.rows ?? 0} rows expired` };
}

function cacheCheck(deps: OpsRouteDeps): Check {
  if (deps.cache === null) return { ok: true, detail: 'response cache disabled' };
  const failure = deps.cache.failure;
  return failure === null ? { ok: true, detail: `${deps.cache.kind} cache answers` } : { ok: false, detail: `${failure}; answering from the store` };
}

function rateLimitsCheck(shared: { failure: string | null }): Check {
  const failure = shared.failure;
  return failure === null
    ? { ok: true, detail: 'per-key rate limits shared through Redis' }
    : { ok: false, detail: `${failure}; each instance limits keys by itself (a key may get its rate once per instance) until Redis answers` };
}

/** The token index's progress: pending_segments is 0 once every loaded segment is indexed. */
function queryIndex(store: Store): Record<string, number> {
  const s = store.indexStatus();
  return { segments: s.segments, indexed_segments: s.indexedSegments, pending_segments: s.pendingSegments };
}

function memoryUsage(): Record<string, number> {
  const m = process.memoryUsage();
  return {
    rss_bytes: m.rss,
    heap_used_bytes: m.heapUsed,
    heap_total_bytes: m.heapTotal,
    external_bytes: m.external,
    array_buffers_bytes: m.arrayBuffers,
  };
}
