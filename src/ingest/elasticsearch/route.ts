// The Elasticsearch bulk API and the probes shippers send before they ship (Filebeat, Fluent Bit,
// Vector, Logstash, the official clients): `GET /` with a version, `/_license`, `/_xpack`,
// `/_cluster/health`, index templates and lifecycle policies accepted and forgotten, `_refresh` and
// `_flush` (nothing to do: what was acknowledged is durable and searchable). Every
// answer carries `X-Elastic-Product: Elasticsearch`, which the 8.x clients check, and errors have
// Elasticsearch's shape. A bulk request is answered once its accepted documents are durable:
// 200 with `errors` and one item per action, each with its own status.

import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, RouteHandlerMethod } from 'fastify';
import { prepareErrorAnswer } from '../../api/http/error-handler.js';
import { type LhError } from '../../errors.js';
import { nowMicros } from '../../model/record.js';
import type { Metrics } from '../../observability/metrics.js';
import type { BufferPool } from '../../pipeline/buffer-pool.js';
import type { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import { acceptRawBodies, decodeBody } from '../common/body.js';
import { bulkAnswer, bulkAnswerValue } from './bulk-answer.js';
import { parseBulkBody, type IndexField } from './bulk-body.js';
import { compileFilterPath, filterPath } from './filter-path.js';

export interface ElasticsearchDeps {
  pipeline: IngestPipeline;
  metrics: Metrics;
  bodyLimit: number;
  buffers: BufferPool;
  indexField: IndexField;
  version: string;
}

const PROTOCOL = 'elasticsearch';
const CLUSTER_UUID = randomUUID().replace(/-/g, '').slice(0, 22);

/** Elasticsearch's error types for loghaven's error codes. */
const ERROR_TYPES: Partial<Record<LhError['code'], string>> = {
  LH_ERR_OVERLOADED: 'es_rejected_execution_exception',
  LH_ERR_SHUTTING_DOWN: 'node_closed_exception',
  LH_ERR_BODY_TOO_LARGE: 'content_too_long_exception',
  LH_ERR_BAD_BODY: 'illegal_argument_exception',
  LH_ERR_UNSUPPORTED_MEDIA: 'media_type_header_exception',
  LH_ERR_DISK_FULL: 'cluster_block_exception',
  LH_ERR_NOT_FOUND: 'resource_not_found_exception',
  LH_ERR_UNAUTHORIZED: 'security_exception',
  LH_ERR_FORBIDDEN: 'security_exception',
  LH_ERR_RATE_LIMITED: 'es_rejected_execution_exception',
};

function esError(type: string, reason: string, status: number): Record<string, unknown> {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

export async function elasticsearchRoutes(app: FastifyInstance, deps: ElasticsearchDeps): Promise<void> {
  acceptRawBodies(app, deps.bodyLimit, deps.buffers);
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-elastic-product', 'Elasticsearch');
    return payload;
  });
  app.setErrorHandler((err: FastifyError | LhError, req, reply) => {
    const e = prepareErrorAnswer(err, req, reply, deps.metrics);
    return reply.status(e.status).send(esError(ERROR_TYPES[e.code] ?? 'exception', e.message, e.status));
  });

  const info = {
    name: 'loghaven',
    cluster_name: 'loghaven',
    cluster_uuid: CLUSTER_UUID,
    version: {
      number: deps.version,
      build_flavor: 'default',
      build_type: 'tar',
      build_hash: '0000000000000000000000000000000000000000',
      build_date: '2024-01-01T00:00:00.000Z',
      build_snapshot: false,
      lucene_version: '9.12.0',
      minimum_wire_compatibility_version: '7.17.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'You Know, for Search',
  };
  const hidden = { schema: { hide: true }, config: { scope: 'ingest' as const } };
  app.get('/', hidden, async () => info);
  app.get('/_license', hidden, async () => ({
    license: { status: 'active', uid: CLUSTER_UUID, type: 'basic', issue_date_in_millis: 0, max_nodes: 1000, issued_to: 'loghaven', issuer: 'loghaven', start_date_in_millis: -1 },
  }));
  app.get('/_xpack', hidden, async () => ({
    build: { hash: info.version.build_hash, date: info.version.build_date },
    license: { uid: CLUSTER_UUID, type: 'basic', mode: 'basic', status: 'active' },
    features: {},
  }));
  app.get('/_cluster/health', hidden, async () => ({
    cluster_name: 'loghaven',
    status: 'green',
    timed_out: false,
    number_of_nodes: 1,
    number_of_data_nodes: 1,
    active_primary_shards: 1,
    active_shards: 1,
    relocating_shards: 0,
    initializing_shards: 0,
    unassigned_shards: 0,
  }));
  // Setup calls of Filebeat, Logstash and the clients: templates and policies are accepted; there
  // is nothing to keep (loghaven's schema is its own), and none exists to be read back.
  for (const prefix of ['/_index_template', '/_template', '/_component_template', '/_ilm/policy', '/_data_stream']) {
    app.put(`${prefix}/:name`, hidden, async () => ({ acknowledged: true }));
    app.get(`${prefix}/:name`, hidden, async (req, reply) =>
      reply.status(404).send(esError('resource_not_found_exception', `${(req.params as { name: string }).name} is not kept by loghaven`, 404)),
    );
  }

  // Clients refresh and flush when they are done (the bulk helper's `refreshOnCompletion`,
  // pino-elasticsearch on close): an acknowledged document is already durable and searchable.
  const shards = async () => ({ _shards: { total: 1, successful: 1, failed: 0 } });
  for (const url of ['/_refresh', '/:index/_refresh', '/_flush', '/:index/_flush']) {
    app.route({ method: ['GET', 'POST'], url, ...hidden, handler: shards });
  }

  const bulk: RouteHandlerMethod = async (req, reply) => {
    const started = performance.now();
    const index = (req.params as { index?: string }).index;
    const body = await decodeBody(req.body, req.headers['content-encoding'], deps.bodyLimit);
    const bytes = body.bytes.length;
    deps.metrics.ingestBytes.inc({ protocol: PROTOCOL }, bytes);
    let parsed;
    try {
      parsed = parseBulkBody(body.bytes, index, deps.indexField, { tenant: req.tenant, receivedAt: nowMicros() }, deps.buffers);
    } finally {
      body.release();
    }
    if (parsed.items.length === 0) {
      // As Elasticsearch answers a bulk request without actions.
      parsed.batch.release();
      deps.metrics.ingestRefused.inc({ protocol: PROTOCOL, reason: 'nothing_accepted' });
      return reply.status(400).send(esError('action_request_validation_exception', 'Validation Failed: 1: no requests added;', 400));
    }
    if (parsed.failed > 0) deps.metrics.ingestRejects.inc({ protocol: PROTOCOL, reason: 'invalid' }, parsed.failed);
    const accepted = parsed.batch.count;
    await deps.pipeline.submit(parsed.batch, bytes);
    deps.metrics.ingestLines.inc({ protocol: PROTOCOL }, accepted);
    const took = Math.round(performance.now() - started);
    const filter = typeof (req.query as Record<string, unknown>).filter_path === 'string' ? (req.query as { filter_path: string }).filter_path : '';
    reply.type('application/json');
    if (filter !== '') {
      const full = bulkAnswerValue(parsed.items, parsed.ids, parsed.failed > 0, took);
      return reply.send(JSON.stringify(filterPath(full, compileFilterPath(filter)) ?? {}));
    }
    const answer = bulkAnswer(parsed.items, parsed.ids, parsed.failed > 0, took, deps.buffers);
    // Once written to the socket the buffer is the pool's again; an answer cut short leaves it to
    // the garbage collector.
    reply.raw.once('finish', () => deps.buffers.give(answer.buffer));
    return reply.send(answer.bytes);
  };
  for (const url of ['/_bulk', '/:index/_bulk']) {
    app.route({ method: ['POST', 'PUT'], url, config: { ingestProtocol: PROTOCOL, scope: 'ingest' }, schema: { hide: true }, handler: bulk });
  }
}
