// What each GraphQL field does. Reads go through the query service exactly as the REST routes do
// (same validation, cache, limiter and tenant, same JSON answer, reshaped to the schema's names);
// the mutation goes through the native ingest path; the subscription opens a tail on the hub.

import type { FastifyReply } from 'fastify';
import { LhError } from '../../errors.js';
import { ALL_TENANTS, type Scope } from '../../auth/api-key.js';
import { authorize, type Principal } from '../../auth/authenticator.js';
import { ingestNativeBody, refuseWhenFull, type NativeAnswer, type NativeIngestCore } from '../../ingest/native/ingest.js';
import { checkAccessKind } from '../../query/access-analytics.js';
import type { QueryContext, QueryService } from '../../query/service.js';
import type { TailHub } from '../../query/tail.js';
import { refusalReason } from '../http/error-handler.js';
import { checkServerWide, serverStatus, type OpsRouteDeps } from '../http/ops-routes.js';
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
  /** The request's tenant (auth.ts): `*` for a key of every tenant that names none. */
  tenant: string;
  principal: Principal;
  reply: FastifyReply;
}

/** The context of a subscription over a WebSocket (authenticated by its handshake request). */
export interface SubscriptionContext {
  tenant: string;
  principal: Principal;
}

/** The tenant an operation acts for, once the key may do `scope` (403 or 400 otherwise). */
function allow(ctx: { tenant: string; principal: Principal }, scope: Scope): string {
  return authorize(ctx.principal, scope, ctx.tenant === ALL_TENANTS ? undefined : ctx.tenant);
}

/** The query context of an operation needing the query scope, with its tenant. */
function reading(ctx: RequestContext): QueryContext {
  return { ...ctx.query, tenant: allow(ctx, 'query') };
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
        const page = JSON.parse((await queries.search(reading(ctx), args)).json) as SearchAnswer;
        const last = page.items.length - 1;
        return {
          edges: page.items.map((node, i) => ({ node, cursor: i === last ? page.next_cursor : null })),
          pageInfo: { hasNextPage: page.next_cursor !== null, endCursor: page.next_cursor },
          stats: { rowsScanned: page.stats.rows_scanned, elapsedMs: page.stats.elapsed_ms },
        };
      }),
      histogram: coded(async (_root: unknown, args: Args, ctx: RequestContext) => {
        const h = JSON.parse((await queries.histogram(reading(ctx), { ...args, by: args.by === 'LEVEL' ? 'level' : undefined })).json) as HistogramAnswer;
        const buckets = h.buckets.map((b) => ({
          ts: b.ts,
          count: b.count,
          levels: b.levels === undefined ? null : Object.entries(b.levels).map(([level, count]) => ({ level: level === 'none' ? null : level, count })),
        }));
        return { stepMs: h.step_ms, buckets };
      }),
      top: coded(async (_root: unknown, args: Args, ctx: RequestContext) => JSON.parse((await queries.top(reading(ctx), args)).json) as TopAnswer),
      accessAnalytics: coded(async (_root: unknown, args: Args, ctx: RequestContext) => {
        const { kind, maxSessions, sampleRate, ...rest } = args;
        const served = await queries.access(reading(ctx), checkAccessKind(String(kind)), { ...rest, max_sessions: maxSessions, sample_rate: sampleRate });
        return JSON.parse(served.json) as unknown;
      }),
      status: coded(async (_root: unknown, _args: Args, ctx: RequestContext) => {
        allow(ctx, 'admin');
        checkServerWide(ctx.principal);
        return camelKeys(await serverStatus(deps.status));
      }),
    },
    LogRecord: {
      receivedAt: (r: Wire) => r.received_at,
      traceId: (r: Wire) => r.trace_id,
      spanId: (r: Wire) => r.span_id,
    },
    Mutation: {
      ingest: coded(async (_root: unknown, args: { records: unknown[] }, ctx: RequestContext) => ingest(deps.ingest, args.records, allow(ctx, 'ingest'))),
    },
    Subscription: {
      tail: {
        subscribe: async (_root: unknown, args: Args, ctx: SubscriptionContext): Promise<TailFeed> => {
          const feed = new TailFeed();
          try {
            const tenant = allow(ctx, 'query');
            const after = args.after;
            if (after !== undefined && after !== null && !POSITION.test(String(after))) {
              throw new LhError('LH_ERR_BAD_PARAM', `after must be a record position (digits), got ${JSON.stringify(after)}`, { param: 'after' });
            }
            const params = { q: args.q, backfill: args.backfill, afterSeq: after === undefined || after === null ? undefined : BigInt(after) };
            feed.attach(await deps.tails.open({ tenant, signal: feed.signal }, params, feed));
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
