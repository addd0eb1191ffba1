// What the native ingest answers, wherever the body came from: POST /api/v1/logs and the GraphQL
// `ingest` mutation both hand their bytes here. The body is parsed into rows (bad lines reported
// by line, never sinking the rest), the rows are submitted to the pipeline, and the answer comes
// once every accepted row is durable.

import { LhError } from '../../errors.js';
import { nowMicros } from '../../model/record.js';
import type { Metrics } from '../../observability/metrics.js';
import type { BufferPool } from '../../pipeline/buffer-pool.js';
import type { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import type { RequestBody } from '../common/body.js';
import type { NativeAnswer } from './answer.js';
import { parseNativeBody, type BodyShape, type ParsedBody } from './native-body.js';

export type { NativeAnswer } from './answer.js';

export interface NativeIngestCore {
  pipeline: IngestPipeline;
  metrics: Metrics;
  buffers: BufferPool;
}

/** The answer and its HTTP status: 400 when nothing was accepted (the same body either way). */
export interface NativeOutcome {
  status: 200 | 400;
  answer: NativeAnswer;
}

/**
 * Refuses a request of `bytes` while the ingest queue or the spool backlog is full (429 with
 * Retry-After), before anything is read or parsed, so memory stays bounded under any load.
 */
export function refuseWhenFull(pipeline: IngestPipeline, bytes: number): void {
  const full = pipeline.fullBecause(bytes);
  if (full !== null) throw new LhError('LH_ERR_OVERLOADED', full);
}

/**
 * Parses `body` (released as soon as the rows are built) and submits the rows; resolves once
 * every accepted row is durable. Counted in the ingest metrics under `protocol`.
 */
export async function ingestNativeBody(
  deps: NativeIngestCore,
  body: RequestBody,
  shape: BodyShape,
  opts: { tenant: string; protocol: string },
): Promise<NativeOutcome> {
  const { metrics } = deps;
  const { protocol } = opts;
  const bytes = body.bytes.length;
  metrics.ingestBytes.inc({ protocol }, bytes);
  let parsed: ParsedBody;
  try {
    parsed = parseNativeBody(body.bytes, shape, { tenant: opts.tenant, receivedAt: nowMicros() }, deps.buffers);
  } finally {
    body.release(); // the rows are copies: the body's buffer is free for the next request
  }
  if (parsed.rejected > 0) metrics.ingestRejects.inc({ protocol, reason: 'invalid' }, parsed.rejected);
  const answer: NativeAnswer = { accepted: parsed.batch.count, rejected: parsed.rejected, errors: parsed.errors };
  if (parsed.batch.count === 0) {
    parsed.batch.release();
    metrics.ingestRefused.inc({ protocol, reason: 'nothing_accepted' });
    if (parsed.rejected === 0) answer.errors = [{ line: 1, error: 'body contains no records' }];
    return { status: 400, answer };
  }
  await deps.pipeline.submit(parsed.batch, bytes);
  metrics.ingestLines.inc({ protocol }, parsed.batch.count);
  return { status: 200, answer };
}
