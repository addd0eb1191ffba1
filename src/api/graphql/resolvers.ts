// What each GraphQL field does. Reads go through the query service exactly as the REST routes do
// (same validation, cache, limiter and tenant, same JSON answer, reshaped to the schema's names);
// the mutation goes through the native ingest path; the subscription opens a tail on the hub.

import type { FastifyReply } from 'fastify';
import { LhError } from '../../errors.js';
import { ingestNativeBody, refuseWhenFull, type NativeAnswer, type NativeIngestCore } from '../../ingest/native/ingest.js';
import type { QueryContext, QueryService } from '../../query/service.js';
import type { TailHub } from '../../query/tail.js';
import { refusalReason } from '../http/error-handler.js';
import { serverStatus, type OpsRouteDeps } from '../http/ops-routes.js';
import type { HistogramAnswer, SearchAnswer, TopAnswer } from '../http/schemas.js';
import { codedError } from './coded-errors.js';
import { scalarResolvers } from './schema.js';
import { TailFeed, type TailEvent } from './tail-feed.js';

export interface GraphqlResolverDeps {
  queries: QueryService;
  tails: Pick<TailHub, 'open'>;
  ingest: NativeIngestCore;
  /** What GET /api/v1/status reads (the status field answers the same). */
  status: OpsRouteDeps;
}

/** The context of a query or mutation over HTTP. */
export interface RequestContext {
  query: QueryContext;
  tenant: string;
  reply: FastifyReply;
}

/** The context of a subscription over a WebSocket. */
export interface SubscriptionContext {
  tenant: string;
}

/** Ingest metrics count the mutation under this protocol. */
const PROTOCOL = 'graphql';

/** A Last-Event-ID-like position: the decimal sequence number of a record. */
const POSITION = /^\d{1,19}$/;

type Args = Record<string, string | number | null | undefined>;
type Wire = SearchAnswer['items'][number];

export function buildResolvers(deps: GraphqlResolverDeps) {
  const { queries } = deps;
  return {
    ...scalarResolvers,
    Query: {
      logs: coded(async (_root: unknown, args: Args, ctx: RequestContext) => {
        const page = JSON.parse((await queries.search(ctx.query, args)).json) as SearchAnswer;
        const last = page.items.length - 1;
        return {
          edges: page.items.map((node, i) => ({ node, cursor: i === last ? page.next_cursor : null })),
          pageInfo: { hasNextPage: page.next_cursor !== null, endCursor: page.next_cursor },
          stats: { rowsScanned: page.stats.rows_scanned, elapsedMs: page.stats.elapsed_ms },
        };
      }),
      histogram: coded(async (_root: unknown, args: Args, ctx: RequestContext) => {
        const h = JSON.parse((await queries.histogram(ctx.query, args)).json) as HistogramAnswer;
        return { stepMs: h.step_ms, buckets: h.buckets };
      }),
      top: coded(async (_root: unknown, args: Args, ctx: RequestContext) => JSON.parse((await queries.top(ctx.query, args)).json) as TopAnswer),
      status: coded(async () => camelKeys(await serverStatus(deps.status))),
    },
    LogRecord: {
      receivedAt: (r: Wire) => r.received_at,
      traceId: (r: Wire) => r.trace_id,
      spanId: (r: Wire) => r.span_id,
    },
    Mutation: {
      ingest: coded(async (_root: unknown, args: { records: unknown[] }, ctx: RequestContext) => ingest(deps.ingest, args.records, ctx.tenant)),
    },
    Subscription: {
      tail: {
        subscribe: async (_root: unknown, args: Args, ctx: SubscriptionContext): Promise<TailFeed> => {
          const feed = new TailFeed();
          try {
            const after = args.after;
            if (after !== undefined && after !== null && !POSITION.test(String(after))) {
              throw new LhError('LH_ERR_BAD_PARAM', `after must be a record position (digits), got ${JSON.stringify(after)}`, { param: 'after' });
            }
            const params = { q: args.q, backfill: args.backfill, afterSeq: after === undefined || after === null ? undefined : BigInt(after) };
            feed.attach(await deps.tails.open({ tenant: ctx.tenant, signal: feed.signal }, params, feed));
            return feed;
          } catch (e) {
            feed.end();
            return TailFeed.refused(codedError(e));
          }
        },
        resolve: (event: TailEvent) => event,
      },
    },
  };
}

/** Records as NDJSON, one per line, through the very path of POST /api/v1/logs. */
async function ingest(core: NativeIngestCore, records: unknown[], tenant: string): Promise<NativeAnswer> {
  const bytes = Buffer.from(records.map((r) => JSON.stringify(r)).join('\n'), 'utf8');
  try {
    refuseWhenFull(core.pipeline, bytes.length);
    const { answer } = await ingestNativeBody(core, { bytes, release: () => undefined }, 'ndjson', { tenant, protocol: PROTOCOL });
    return answer;
  } catch (e) {
    if (e instanceof LhError) core.metrics.ingestRefused.inc({ protocol: PROTOCOL, reason: refusalReason(e.code) });
    throw e;
  }
}

/** A resolver whose failures reach the client as GraphQL errors with their LH_ERR_ code. */
function coded<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      throw codedError(e);
    }
  };
}

/** snake_case keys to camelCase, all the way down (the status summary). */
function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), camelKeys(x)]));
}
