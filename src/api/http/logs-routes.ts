// The read side of the REST API (SPEC §5): search with cursor paging, streaming export, histogram
// and top values. Routes only map HTTP onto the query service (query/service.ts): parameters,
// the client's cache wishes and disconnects in; JSON, X-Cache and Server-Timing out.

import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';
import type { QueryContext, QueryService, Served } from '../../query/service.js';
import {
  ErrorAnswerSchema,
  ExportQuerySchema,
  HistogramAnswerSchema,
  HistogramQuerySchema,
  SearchAnswerSchema,
  SearchQuerySchema,
  TopAnswerSchema,
  TopQuerySchema,
} from './schemas.js';

export interface LogsRouteDeps {
  queries: QueryService;
  metrics: Metrics;
}

type Params = Record<string, string | undefined>;

/** Error answers of the read routes, for /docs. */
const errorAnswers = { '4xx': ErrorAnswerSchema, '5xx': ErrorAnswerSchema };

/** The tenant a request acts for (auth.ts): its key's, or `default` when authentication is off. */
export function tenantOf(req: FastifyRequest): string {
  return req.tenant;
}

/** Who asks, with an abort signal that fires when the client goes away before the answer. */
export function queryContext(req: FastifyRequest, reply: FastifyReply): QueryContext {
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  const cc = req.headers['cache-control'];
  const pragma = req.headers.pragma;
  const noCache = (typeof cc === 'string' && /\b(no-cache|no-store|max-age=0)\b/i.test(cc)) || pragma === 'no-cache';
  return { tenant: tenantOf(req), signal: abort.signal, noCache };
}

/** Sends an answer of the query service with the headers that say how it was served. */
export function sendServed(reply: FastifyReply, served: Served): FastifyReply {
  const t = served.timings;
  reply.header('x-cache', served.cache);
  reply.header(
    'server-timing',
    `cache;dur=${t.cacheMs.toFixed(2)}, queue;dur=${t.queueMs.toFixed(2)}, visible;dur=${t.visibleMs.toFixed(2)}, db;dur=${t.dbMs.toFixed(2)}, total;dur=${t.totalMs.toFixed(2)}`,
  );
  return reply.type('application/json; charset=utf-8').send(served.json);
}

export async function logsRoutes(app: FastifyInstance, deps: LogsRouteDeps): Promise<void> {
  const { queries } = deps;
  app.get(
    '/api/v1/logs',
    {
      config: { scope: 'query' },
      schema: {
        summary: 'Search logs, newest first by default, with an opaque cursor for the next page',
        tags: ['query'],
        querystring: SearchQuerySchema,
        response: { 200: SearchAnswerSchema, ...errorAnswers },
      },
    },
    async (req, reply) => sendServed(reply, await queries.search(queryContext(req, reply), req.query as Params)),
  );

  app.get(
    '/api/v1/logs/export',
    {
      config: { scope: 'query' },
      schema: {
        summary: 'Stream every matching record as NDJSON, CSV or a JSON array (gzip or brotli when accepted)',
        tags: ['query'],
        querystring: ExportQuerySchema,
        response: errorAnswers,
      },
    },
    async (req, reply) => {
      const ctx = queryContext(req, reply);
      ctx.signal?.addEventListener('abort', () => deps.metrics.exportsCancelled.inc(), { once: true });
      const stream = await queries.export(ctx, req.query as Params);
      const body = Readable.from(stream.chunks, { objectMode: false, highWaterMark: 1 });
      // Once the answer has begun, a failure can only cut it short: say why in the log.
      body.once('error', (e: Error) => req.log.error({ err: e }, 'export failed after the answer began; response cut short'));
      reply.header('content-type', stream.contentType);
      reply.header('content-disposition', `attachment; filename="logs.${stream.format}"`);
      return reply.send(body);
    },
  );

  app.get(
    '/api/v1/logs/histogram',
    {
      config: { scope: 'query' },
      schema: {
        summary: 'Record counts per time bucket',
        tags: ['query'],
        querystring: HistogramQuerySchema,
        response: { 200: HistogramAnswerSchema, ...errorAnswers },
      },
    },
    async (req, reply) => sendServed(reply, await queries.histogram(queryContext(req, reply), req.query as Params)),
  );

  app.get(
    '/api/v1/logs/top',
    {
      config: { scope: 'query' },
      schema: {
        summary: 'Most frequent values of a field (a record field or attrs.a.b)',
        tags: ['query'],
        querystring: TopQuerySchema,
        response: { 200: TopAnswerSchema, ...errorAnswers },
      },
    },
    async (req, reply) => sendServed(reply, await queries.top(queryContext(req, reply), req.query as Params)),
  );
}
