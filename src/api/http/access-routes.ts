// Access-log analytics over REST (SPEC §6): GET /api/v1/analytics/access/{summary, hourly, urls,
// sessions, flows, errors, funnel}, and the workflow analyses under way. Thin: the query service
// checks, caches and answers (query/access-analytics.ts).

import type { FastifyInstance } from 'fastify';
import { ACCESS_KINDS, checkAccessKind, type AccessParams } from '../../query/access-analytics.js';
import type { QueryService } from '../../query/service.js';
import { queryContext, sendServed } from './logs-routes.js';
import { AccessQuerySchema, ErrorAnswerSchema } from './schemas.js';

export async function accessRoutes(app: FastifyInstance, deps: { queries: QueryService }): Promise<void> {
  const { queries } = deps;
  app.get(
    '/api/v1/analytics/access/progress',
    {
      config: { scope: 'query' },
      schema: { summary: 'Workflow analyses (sessions, flows, funnel) running now for your tenant, with their stage', tags: ['query'] },
    },
    async (req, reply) => reply.send({ running: queries.accessProgress(queryContext(req, reply)) }),
  );

  app.get<{ Params: { kind: string }; Querystring: AccessParams }>(
    '/api/v1/analytics/access/:kind',
    {
      config: { scope: 'query' },
      schema: {
        summary: `Access-log analytics: ${ACCESS_KINDS.join(', ')}`,
        tags: ['query'],
        querystring: AccessQuerySchema,
        response: { '4xx': ErrorAnswerSchema, '5xx': ErrorAnswerSchema },
      },
    },
    async (req, reply) => sendServed(reply, await queries.access(queryContext(req, reply), checkAccessKind(req.params.kind), req.query)),
  );
}
