// GraphQL at /graphql (SPEC §5), served by mercurius: queries and the mutation over HTTP (POST,
// or GET for queries), the `tail` subscription over WebSocket (graphql-transport-ws, and the older
// graphql-ws protocol), GraphiQL at /graphiql in the development profile only. Every operation
// passes the depth and cost guards first (guards.ts); errors carry LH_ERR_ codes (coded-errors.ts).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { specifiedRules, validate } from 'graphql';
import mercurius, { type IResolvers } from 'mercurius';
import { MAX_BACKFILL } from '../../query/tail.js';
import { queryContext, tenantOf } from '../http/logs-routes.js';
import { formatErrors, invalidRequestError } from './coded-errors.js';
import { MAX_DEPTH, READ_COST, costLimitRule, depthLimitRule, type CostModel } from './guards.js';
import { buildResolvers, type GraphqlResolverDeps, type RequestContext, type SubscriptionContext } from './resolvers.js';
import { typeDefs } from './schema.js';

export interface GraphqlDeps extends GraphqlResolverDeps {
  /** Serve GraphiQL at /graphiql (the development profile). */
  graphiql: boolean;
}

/** Most values `top` returns (what the query service allows). */
const TOP_MAX = 1000;

/** WebSocket keep-alive (`ping`), as often as the SSE tail's heartbeat: proxies keep the socket. */
const KEEP_ALIVE_MS = 15_000;

/** The cost limit: two full search pages and a handful of other reads. */
export function maxCostFor(maxLimit: number): number {
  return 2 * maxLimit + 10 * READ_COST;
}

export async function graphqlRoutes(app: FastifyInstance, deps: GraphqlDeps): Promise<void> {
  const limits = deps.queries.limits;
  const cost: CostModel = {
    reads: {
      logs: { arg: 'limit', fallback: limits.defaultLimit, max: limits.maxLimit },
      histogram: null,
      top: { arg: 'limit', fallback: 10, max: TOP_MAX },
      status: null,
      ingest: null,
      tail: { arg: 'backfill', fallback: 0, max: MAX_BACKFILL },
    },
    maxCost: maxCostFor(limits.maxLimit),
  };
  const rules = [depthLimitRule(MAX_DEPTH), costLimitRule(cost)];
  // Any valid key reaches /graphql (and GraphiQL); each operation then checks its own scope
  // (resolvers.ts): queries and the subscription need query, the mutation ingest, status admin.
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), scope: 'any' };
  });
  await app.register(mercurius, {
    schema: typeDefs,
    // Typed with the contexts our own context functions below build, not mercurius' generic one.
    resolvers: buildResolvers(deps) as unknown as IResolvers,
    path: '/graphql',
    graphiql: deps.graphiql,
    validationRules: rules,
    errorFormatter: formatErrors,
    context: (request: FastifyRequest, reply: FastifyReply): RequestContext => ({
      query: queryContext(request, reply),
      tenant: tenantOf(request),
      principal: request.principal,
      reply,
    }),
    subscription: {
      context: (_socket: unknown, request: FastifyRequest): SubscriptionContext => ({ tenant: tenantOf(request), principal: request.principal }),
      keepAlive: KEEP_ALIVE_MS,
    },
  });
  // mercurius runs no validation on subscriptions: the standard rules and the guards run here,
  // before a tail is opened.
  app.graphql.addHook('preSubscriptionExecution', async (schema, document) => {
    const errors = validate(schema, document, [...specifiedRules, ...rules]);
    if (errors.length > 0) {
      throw invalidRequestError(errors[0]!);
    }
  });
}
