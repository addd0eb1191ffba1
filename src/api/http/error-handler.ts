// Maps every error that reaches Fastify onto a status code and one JSON shape:
// `{ "error": "LH_ERR_…", "message": "…", …details }`. Coded errors carry their own status;
// Fastify's own errors (body too large, bad content type) are translated to loghaven codes.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LhError, isLhError, type ErrorCode } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';

/** How long an oversized body may keep streaming in after its 413. */
const DRAIN_GRACE_MS = 10_000;

/** Why an ingest request was refused, as the `reason` label of the refused-requests metric. */
const REFUSAL_REASONS: Partial<Record<ErrorCode, string>> = {
  LH_ERR_OVERLOADED: 'overloaded',
  LH_ERR_DISK_FULL: 'disk_full',
  LH_ERR_BODY_TOO_LARGE: 'too_large',
  LH_ERR_SHUTTING_DOWN: 'shutting_down',
  LH_ERR_BAD_BODY: 'bad_body',
  LH_ERR_UNSUPPORTED_MEDIA: 'unsupported_media',
  LH_ERR_UNAUTHORIZED: 'unauthorized',
  LH_ERR_FORBIDDEN: 'forbidden',
  LH_ERR_RATE_LIMITED: 'rate_limited',
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on ingest routes: the protocol their refusals are counted under. */
    ingestProtocol?: string;
  }
}

function ingestProtocolOf(req: FastifyRequest): string | undefined {
  return req.routeOptions.config?.ingestProtocol;
}

export function installErrorHandler(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((err: FastifyError | LhError, req, reply) => {
    const e = prepareErrorAnswer(err, req, reply, metrics);
    return reply.status(e.status).send(e.toJSON());
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(new LhError('LH_ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON()),
  );
}

/**
 * Everything an error answer needs but its body, the same for every route and protocol: the
 * coded error, the refused-requests metric, the log, Retry-After and Connection headers, and
 * draining a refused body. Protocols with their own error shape (Elasticsearch, OTLP, Loki) send
 * their own body with the returned error's status.
 */
export function prepareErrorAnswer(err: FastifyError | LhError, req: FastifyRequest, reply: FastifyReply, metrics: Metrics): LhError {
  const e = toLhError(err);
  const protocol = ingestProtocolOf(req);
  if (protocol !== undefined) metrics.ingestRefused.inc({ protocol, reason: refusalReason(e.code) });
  if (e.status >= 500 && e.status !== 503 && e.status !== 504 && e.status !== 507) req.log.error({ err }, e.message);
  const retryAfter = retryAfterOf(e);
  if (retryAfter !== null) reply.header('retry-after', retryAfter);
  // A keep-alive client retrying on the same connection would hold the server open forever.
  if (e.code === 'LH_ERR_SHUTTING_DOWN') reply.header('connection', 'close');
  if (e.status === 401 || e.status === 403) metrics.authRefused.inc({ status: String(e.status) });
  if (!req.raw.readableEnded && (e.code === 'LH_ERR_BODY_TOO_LARGE' || e.status === 401 || e.status === 403 || e.code === 'LH_ERR_RATE_LIMITED')) {
    // Refused before the body was read (too large, or refused by the key check): drain it rather
    // than close, since closing a socket with unread data makes the kernel send a reset that can
    // destroy the answer before the client reads it. A client that keeps sending is cut off
    // after a grace period.
    req.raw.resume();
    const cutOff = setTimeout(() => req.raw.socket?.destroy(), DRAIN_GRACE_MS).unref();
    req.raw.once('end', () => clearTimeout(cutOff));
  }
  return e;
}

/** Seconds a client should wait before trying again after `e` (Retry-After), or null. */
export function retryAfterOf(e: LhError): string | null {
  if (e.code === 'LH_ERR_BUSY' || e.code === 'LH_ERR_TOO_MANY_TAILS' || e.code === 'LH_ERR_RATE_LIMITED') return String(e.details?.retry_after_s ?? 1);
  if (e.code === 'LH_ERR_OVERLOADED' || e.code === 'LH_ERR_SHUTTING_DOWN') return '1';
  if (e.code === 'LH_ERR_DISK_FULL') return '10';
  return null;
}

/** The `reason` label of the refused-requests metric for a refused ingest request. */
export function refusalReason(code: ErrorCode): string {
  return REFUSAL_REASONS[code] ?? 'error';
}

export function toLhError(err: FastifyError | LhError): LhError {
  if (isLhError(err)) return err;
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || code === 'ERR_BUFFER_TOO_LARGE') {
    return new LhError('LH_ERR_BODY_TOO_LARGE', err.message);
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new LhError('LH_ERR_UNSUPPORTED_MEDIA', err.message);
  if (code === 'FST_ERR_VALIDATION') return new LhError('LH_ERR_BAD_PARAM', err.message);
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new LhError('LH_ERR_BAD_BODY', err.message);
  return new LhError('LH_ERR_INTERNAL', err.message);
}
