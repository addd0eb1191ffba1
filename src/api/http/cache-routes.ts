// Operator control of the response cache: DELETE /api/v1/cache?pattern= purges the tenant's
// cached answers whose keys match (keys are `<route>:<hash>` within the tenant; `*` for all).

import type { FastifyInstance } from 'fastify';
import { LhError } from '../../errors.js';
import type { ResponseCache } from '../../query/cache/response-cache.js';
import { tenantOf } from './logs-routes.js';

export interface CacheRouteDeps {
  cache: ResponseCache | null;
  log: { info(obj: object, msg: string): void };
}

export async function cacheRoutes(app: FastifyInstance, deps: CacheRouteDeps): Promise<void> {
  app.delete(
    '/api/v1/cache',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Purge cached answers: pattern over `<route>:<hash>` (search, histogram, top), `*` by default',
        tags: ['operations'],
        querystring: { type: 'object', properties: { pattern: { type: 'string' } } },
      },
    },
    async (req) => {
      if (deps.cache === null) throw new LhError('LH_ERR_BAD_PARAM', 'the response cache is disabled (cache.enabled = false)');
      const pattern = (req.query as { pattern?: string }).pattern || '*';
      if (pattern.length > 256) throw new LhError('LH_ERR_BAD_PARAM', 'pattern: at most 256 characters', { param: 'pattern' });
      const tenant = tenantOf(req);
      const purged = await deps.cache.purge(`lh:${encodeURIComponent(tenant)}:${pattern}`);
      deps.log.info({ audit: 'cache.purge', key_id: req.principal.keyId, tenant, pattern, purged }, 'audit: cache purged');
      return { purged, pattern };
    },
  );
}
