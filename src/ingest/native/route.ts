// POST /api/v1/logs — the native ingest route. Answers only after every accepted row is durable:
// 200 {accepted, rejected, errors[]}, 400 with the same body when nothing was accepted.

import type { FastifyInstance } from 'fastify';
import { acceptRawBodies, decodeBody } from '../common/body.js';
import { NativeAnswerSchema } from './answer.js';
import { ingestNativeBody, refuseWhenFull, type NativeIngestCore } from './ingest.js';
import type { BodyShape } from './native-body.js';

export interface NativeIngestDeps extends NativeIngestCore {
  bodyLimit: number;
}

const PROTOCOL = 'native';

export async function nativeIngestRoutes(app: FastifyInstance, deps: NativeIngestDeps): Promise<void> {
  acceptRawBodies(app, deps.bodyLimit, deps.buffers);
  app.post(
    '/api/v1/logs',
    {
      config: { ingestProtocol: PROTOCOL, scope: 'ingest' },
      schema: {
        summary: 'Ingest logs: one JSON object, a JSON array, or NDJSON (gzip/deflate allowed)',
        tags: ['ingest'],
        response: { 200: NativeAnswerSchema, 400: NativeAnswerSchema },
      },
      // Refuse before the body is even read when the queue is full, so memory stays bounded
      // however many clients send at once.
      onRequest: async (req) => refuseWhenFull(deps.pipeline, Number(req.headers['content-length'] ?? 0)),
    },
    async (req, reply) => {
      const body = await decodeBody(req.body, req.headers['content-encoding'], deps.bodyLimit);
      const shape = shapeOf(req.headers['content-type']);
      const { status, answer } = await ingestNativeBody(deps, body, shape, { tenant: req.tenant, protocol: PROTOCOL });
      return reply.status(status).send(answer);
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
