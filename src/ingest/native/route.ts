// POST /api/v1/logs — the native ingest route. Answers only after every accepted row is durable:
// 200 {accepted, rejected, errors[]}, 400 with the same body when nothing was accepted.

import type { FastifyInstance } from 'fastify';
import { LhError } from '../../errors.js';
import { nowMicros } from '../../model/record.js';
import type { Metrics } from '../../observability/metrics.js';
import type { BufferPool } from '../../pipeline/buffer-pool.js';
import type { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import { acceptRawBodies, decodeBody } from '../common/body.js';
import { parseNativeBody, type BodyShape, type ParsedBody } from './native-body.js';

export interface NativeIngestDeps {
  pipeline: IngestPipeline;
  metrics: Metrics;
  bodyLimit: number;
  buffers: BufferPool;
}

const PROTOCOL = 'native';

const responseSchema = {
  type: 'object',
  properties: {
    accepted: { type: 'integer' },
    rejected: { type: 'integer' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { line: { type: 'integer' }, error: { type: 'string' } } },
    },
  },
} as const;

export async function nativeIngestRoutes(app: FastifyInstance, deps: NativeIngestDeps): Promise<void> {
  acceptRawBodies(app, deps.bodyLimit, deps.buffers);
  app.post(
    '/api/v1/logs',
    {
      config: { ingestProtocol: PROTOCOL },
      schema: {
        summary: 'Ingest logs: one JSON object, a JSON array, or NDJSON (gzip/deflate allowed)',
        tags: ['ingest'],
        response: { 200: responseSchema, 400: responseSchema },
      },
      // Refuse before the body is even read when the queue is full, so memory stays bounded
      // however many clients send at once.
      onRequest: async (req) => {
        const declared = Number(req.headers['content-length'] ?? 0);
        if (deps.pipeline.isFull(declared)) throw new LhError('LH_ERR_OVERLOADED', 'ingest queue is full');
      },
    },
    async (req, reply) => {
      const body = await decodeBody(req.body, req.headers['content-encoding'], deps.bodyLimit);
      const bytes = body.bytes.length;
      deps.metrics.ingestBytes.inc({ protocol: PROTOCOL }, bytes);
      let parsed: ParsedBody;
      try {
        parsed = parseNativeBody(body.bytes, shapeOf(req.headers['content-type']), { tenant: 'default', receivedAt: nowMicros() }, deps.buffers);
      } finally {
        body.release(); // the rows are copies: the body's buffer is free for the next request
      }
      if (parsed.rejected > 0) deps.metrics.ingestRejects.inc({ protocol: PROTOCOL, reason: 'invalid' }, parsed.rejected);
      const answer = { accepted: parsed.batch.count, rejected: parsed.rejected, errors: parsed.errors };
      if (parsed.batch.count === 0) {
        parsed.batch.release();
        deps.metrics.ingestRefused.inc({ protocol: PROTOCOL, reason: 'nothing_accepted' });
        if (parsed.rejected === 0) answer.errors = [{ line: 1, error: 'body contains no records' }];
        return reply.status(400).send(answer);
      }
      await deps.pipeline.submit(parsed.batch, bytes);
      deps.metrics.ingestLines.inc({ protocol: PROTOCOL }, parsed.batch.count);
      return answer;
    },
  );
}

function shapeOf(contentType: string | undefined): BodyShape {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('ndjson') || ct.includes('jsonl') || ct.includes('jsonlines') || ct.startsWith('text/plain')) {
    return 'ndjson';
  }
  return 'json';
}
