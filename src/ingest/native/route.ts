// POST /api/v1/logs — the native ingest route. Answers only after every accepted row is durable:
// 200 {accepted, rejected, errors[]}, 400 with the same body when nothing was accepted.

import type { FastifyInstance } from 'fastify';
import { acceptRawBodies, decodeBody } from '../common/body.js';
import { NativeAnswerSchema } from './answer.js';
import { ingestNativeBody, refuseWhenFull, type NativeIngestCore } from './ingest.js';
import type { BodyShape } from './native-body.js';
import { Type } from '@sinclair/typebox';
import { INGEST_FORMATS, checkFormat, ingestLines } from '../access/ingest.js';

export interface NativeIngestDeps extends NativeIngestCore {
  bodyLimit: number;
}

const PROTOCOL = 'native';
/** Ingest metrics count POST /api/v1/ingest under this protocol. */
const LINES_PROTOCOL = 'lines';

export async function nativeIngestRoutes(app: FastifyInstance, deps: NativeIngestDeps): Promise<void> {
  acceptRawBodies(app, deps.bodyLimit, deps.buffers);
  await linesIngestRoute(app, deps);
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

/** POST /api/v1/ingest's answer: the native one, and the format the lines were read as. */
const LinesAnswerSchema = Type.Object({ ...NativeAnswerSchema.properties, format: Type.String({ description: 'The format the lines were read as' }) });

/**
 * POST /api/v1/ingest?format=… — raw log lines (what `loghaven import` sends): ALB access or
 * connection logs, common or combined, syslog lines, NDJSON, or `auto` (told from the first lines).
 */
export async function linesIngestRoute(app: FastifyInstance, deps: NativeIngestDeps): Promise<void> {
  app.post(
    '/api/v1/ingest',
    {
      config: { ingestProtocol: LINES_PROTOCOL, scope: 'ingest' },
      schema: {
        summary: 'Ingest raw log lines: ALB access or connection logs, common or combined, syslog, NDJSON, or auto-detected (gzip/deflate allowed)',
        tags: ['ingest'],
        querystring: Type.Object({ format: Type.Optional(Type.Union(INGEST_FORMATS.map((f) => Type.Literal(f)))) }),
        response: { 200: LinesAnswerSchema, 400: Type.Union([LinesAnswerSchema, Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })]) },
      },
      onRequest: async (req) => refuseWhenFull(deps.pipeline, Number(req.headers['content-length'] ?? 0)),
    },
    async (req, reply) => {
      const format = checkFormat((req.query as { format?: string }).format);
      const body = await decodeBody(req.body, req.headers['content-encoding'], deps.bodyLimit);
      const { status, answer, format: read } = await ingestLines(deps, body, format, { tenant: req.tenant, protocol: LINES_PROTOCOL });
      return reply.status(status).send({ ...answer, format: read });
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
