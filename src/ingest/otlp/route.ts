// POST /v1/logs — OTLP/HTTP logs, for the OpenTelemetry SDKs and Collector: protobuf
// (`application/x-protobuf`) or JSON, gzip allowed. Answered in the request's encoding once the
// accepted records are durable: 200 with an ExportLogsServiceResponse, whose `partialSuccess`
// counts the records refused; 400 for a body that cannot be decoded, 413 over the size limit,
// 429/503 with Retry-After under load, each with a google.rpc.Status, as the OTLP spec asks.

import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { prepareErrorAnswer } from '../../api/http/error-handler.js';
import type { LhError } from '../../errors.js';
import { nowMicros } from '../../model/record.js';
import type { Metrics } from '../../observability/metrics.js';
import type { BufferPool } from '../../pipeline/buffer-pool.js';
import type { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import { acceptRawBodies, decodeBody } from '../common/body.js';
import { parseOtlpProtobuf, type ParsedLogs } from './logs-body.js';
import { parseOtlpJsonBytes } from './logs-json.js';

export interface OtlpDeps {
  pipeline: IngestPipeline;
  metrics: Metrics;
  bodyLimit: number;
  buffers: BufferPool;
}

const PROTOCOL = 'otlp';
const PROTOBUF = 'application/x-protobuf';

/** google.rpc.Code for an HTTP status, as OTLP clients read it. */
function grpcCode(status: number): number {
  if (status === 400 || status === 413 || status === 415) return 3; // INVALID_ARGUMENT
  if (status === 429) return 8; // RESOURCE_EXHAUSTED
  if (status === 503) return 14; // UNAVAILABLE
  return 13; // INTERNAL
}

function isProtobuf(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().includes('protobuf');
}

export async function otlpRoutes(app: FastifyInstance, deps: OtlpDeps): Promise<void> {
  acceptRawBodies(app, deps.bodyLimit, deps.buffers);
  app.setErrorHandler((err: FastifyError | LhError, req, reply) => {
    const e = prepareErrorAnswer(err, req, reply, deps.metrics);
    // OTLP exporters retry only 429, 502, 503 and 504: a full disk (507 elsewhere) is a 503 here,
    // with its Retry-After, so they hold on to the batch instead of dropping it.
    const httpStatus = e.status === 507 ? 503 : e.status;
    const status = { code: grpcCode(httpStatus), message: e.message };
    return answer(reply.status(httpStatus), isProtobuf(req.headers['content-type']), status, encodeStatus);
  });
  app.post(
    '/v1/logs',
    { config: { ingestProtocol: PROTOCOL, scope: 'ingest' }, schema: { summary: 'OTLP/HTTP logs (protobuf or JSON)', tags: ['ingest'] } },
    async (req, reply) => {
      const protobuf = isProtobuf(req.headers['content-type']);
      const body = await decodeBody(req.body, req.headers['content-encoding'], deps.bodyLimit);
      const bytes = body.bytes.length;
      deps.metrics.ingestBytes.inc({ protocol: PROTOCOL }, bytes);
      const ctx = { tenant: req.tenant, receivedAt: nowMicros() };
      let parsed: ParsedLogs;
      try {
        // On this thread: decoded from bytes, JSON costs about what native NDJSON does, and handing
        // a body to a worker thread and its rows back cost more CPU than the decoding (bench:protocols).
        parsed = protobuf ? parseOtlpProtobuf(body.bytes, ctx, deps.buffers) : parseOtlpJsonBytes(body.bytes, ctx, deps.buffers);
      } finally {
        body.release();
      }
      const accepted = parsed.batch.count;
      await deps.pipeline.submit(parsed.batch, bytes);
      deps.metrics.ingestLines.inc({ protocol: PROTOCOL }, accepted);
      if (parsed.rejected > 0) deps.metrics.ingestRejects.inc({ protocol: PROTOCOL, reason: 'invalid' }, parsed.rejected);
      const response =
        parsed.rejected > 0 ? { partialSuccess: { rejectedLogRecords: String(parsed.rejected), errorMessage: parsed.errorMessage } } : {};
      return answer(reply.status(200), protobuf, response, encodeExportResponse);
    },
  );
}

function answer<T extends object>(reply: FastifyReply, protobuf: boolean, body: T, encode: (b: T) => Buffer): FastifyReply {
  if (protobuf) return reply.type(PROTOBUF).send(encode(body));
  return reply.type('application/json').send(JSON.stringify(body));
}

// ---- protobuf encoding of the two answers ----

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function field(number: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...varint(number * 8 + 2), ...varint(payload.length)]), payload]);
}

/** ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1 }. */
function encodeExportResponse(r: { partialSuccess?: { rejectedLogRecords: string; errorMessage: string } }): Buffer {
  if (r.partialSuccess === undefined) return Buffer.alloc(0);
  const inner = Buffer.concat([
    Buffer.from([8, ...varint(BigInt(r.partialSuccess.rejectedLogRecords))]),
    field(2, Buffer.from(r.partialSuccess.errorMessage)),
  ]);
  return field(1, inner);
}

/** google.rpc.Status { int32 code = 1; string message = 2; }. */
function encodeStatus(s: { code: number; message: string }): Buffer {
  return Buffer.concat([Buffer.from([8, ...varint(s.code)]), field(2, Buffer.from(s.message))]);
}
