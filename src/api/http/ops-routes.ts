// Operations endpoints (SPEC §8): liveness, readiness (store, disk, queue), Prometheus metrics
// and a JSON status summary for `loghaven status`.

import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';
import type { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import type { Store } from '../../store/store.js';

export interface OpsRouteDeps {
  store: Store;
  pipeline: IngestPipeline;
  metrics: Metrics;
  dataDir: string;
  version: string;
  startedAt: number;
}

/** Below this much free space (or a tenth of a small disk) the server reports itself not ready. */
const MIN_FREE_BYTES = 256 * 2 ** 20;

interface Check {
  ok: boolean;
  detail: string;
}

export async function opsRoutes(app: FastifyInstance, deps: OpsRouteDeps): Promise<void> {
  app.get('/health', { schema: { summary: 'Liveness: the process answers', tags: ['operations'] } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/ready',
    { schema: { summary: 'Readiness: store answers, disk has room, ingest queue has room', tags: ['operations'] } },
    async (_req, reply) => {
      const checks = await readiness(deps);
      const ready = Object.values(checks).every((c) => c.ok);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_req, reply) => {
    const stats = await deps.store.stats();
    deps.metrics.storeRows.set(stats.rows);
    deps.metrics.storeBytes.set(stats.bytes);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.get('/api/v1/status', { schema: { summary: 'Server summary', tags: ['operations'] } }, async () => {
    const [stats, checks] = await Promise.all([deps.store.stats(), readiness(deps)]);
    return {
      version: deps.version,
      uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
      ready: Object.values(checks).every((c) => c.ok),
      store: { backend: deps.store.backend, rows: stats.rows, bytes: stats.bytes },
      query_index: queryIndex(deps.store),
      ingest: {
        queue_records: deps.pipeline.queueRecords,
        queue_bytes: deps.pipeline.queueBytes,
        spool_backlog_bytes: deps.pipeline.backlogBytes,
      },
      memory: memoryUsage(),
    };
  });
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
