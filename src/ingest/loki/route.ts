// POST /loki/api/v1/push — Loki's push API, for Promtail, Grafana Alloy, pino-loki, winston-loki:
// JSON (gzip allowed) or snappy-compressed protobuf (`Content-Type: application/x-protobuf`).
// Answered once the accepted entries are durable: 204, or 400 with a text body naming each bad
// stream and entry when some were refused (the others are stored, as Loki does). Errors are
// plain text, as Loki's are.

import type { FastifyError, FastifyInstance } from 'fastify';
import { prepareErrorAnswer } from '../../api/http/error-handler.js';
import type { LhError } from '../../errors.js';
import { nowMicros } from '../../model/record.js';
import type { Metrics } from '../../observability/metrics.js';
import type { BufferPool } from '../../pipeline/buffer-pool.js';
import type { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import { acceptRawBodies, decodeBody } from '../common/body.js';
import { snappyDecompress } from '../common/snappy.js';
import { parseLokiProtobuf, type ParsedPush } from './push-body.js';
import { parseLokiJsonBytes } from './push-json.js';

export interface LokiDeps {
  pipeline: IngestPipeline;
  metrics: Metrics;
  bodyLimit: number;
  buffers: BufferPool;
}

const PROTOCOL = 'loki';

export async function lokiRoutes(app: FastifyInstance, deps: LokiDeps): Promise<void> {
  acceptRawBodies(app, deps.bodyLimit, deps.buffers);
  app.setErrorHandler((err: FastifyError | LhError, req, reply) => {
    const e = prepareErrorAnswer(err, req, reply, deps.metrics);
    return reply.status(e.status).type('text/plain; charset=utf-8').send(`${e.message}\n`);
  });
  app.post(
    '/loki/api/v1/push',
    { config: { ingestProtocol: PROTOCOL, scope: 'ingest' }, schema: { summary: 'Loki push API (JSON or snappy protobuf)', tags: ['ingest'] } },
    async (req, reply) => {
      const protobuf = (req.headers['content-type'] ?? '').toLowerCase().includes('protobuf');
      const body = await decodeBody(req.body, req.headers['content-encoding'], deps.bodyLimit);
      const bytes = body.bytes.length;
      const ctx = { tenant: req.tenant, receivedAt: nowMicros() };
      let parsed: ParsedPush;
      try {
        if (protobuf) {
          const raw = snappyDecompress(body.bytes, deps.bodyLimit);
          deps.metrics.ingestBytes.inc({ protocol: PROTOCOL }, raw.length);
          parsed = parseLokiProtobuf(raw, ctx, deps.buffers);
        } else {
          deps.metrics.ingestBytes.inc({ protocol: PROTOCOL }, bytes);
          parsed = parseLokiJsonBytes(body.bytes, ctx, deps.buffers);
        }
      } finally {
        body.release();
      }
      const accepted = parsed.batch.count;
      await deps.pipeline.submit(parsed.batch, bytes);
      deps.metrics.ingestLines.inc({ protocol: PROTOCOL }, accepted);
      if (parsed.rejected === 0) return reply.status(204).send();
      deps.metrics.ingestRejects.inc({ protocol: PROTOCOL, reason: 'invalid' }, parsed.rejected);
      const lines = parsed.errors.map((e) =>
        e.stream === '' ? e.error : e.entry === 0 ? `stream ${e.stream}: ${e.error}` : `entry ${e.entry} of stream ${e.stream}: ${e.error}`,
      );
      if (parsed.rejected > parsed.errors.length) lines.push(`… and ${parsed.rejected - parsed.errors.length} more`);
      return reply
        .status(400)
        .type('text/plain; charset=utf-8')
        .send(`${accepted} entries accepted, ${parsed.rejected} refused:\n${lines.join('\n')}\n`);
    },
  );
}
