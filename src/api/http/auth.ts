// Authentication on every HTTP route (SPEC §9): one onRequest hook, before any body is read,
// finds the request's key, checks the route's scope and the tenant, applies the key's rate
// limits, and leaves `req.tenant` for the route. A route says what it needs in its config
// (`scope`); a route that says nothing needs an admin key, so a new route is closed until it
// says otherwise. Errors go through the route's own error handler, so each protocol answers 401,
// 403 and 429 in its own shape.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { credentialsOf, requestedTenant, type Scope } from '../../auth/api-key.js';
import { authorize, openPrincipal, type Authenticator, type Principal } from '../../auth/authenticator.js';
import { LhError } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';

/** What a route needs: a scope, any valid key (`any`), or nothing (`public`). */
export type RouteScope = Scope | 'any' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: RouteScope;
  }
  interface FastifyRequest {
    /** Who is asking (the open principal when authentication is off). */
    principal: Principal;
    /** The tenant the request acts for: a tenant name, or `*` on operations routes. */
    tenant: string;
  }
}

export interface AuthSetup {
  /** Null: authentication is off (every request is the default tenant, with every scope). */
  authenticator: Authenticator | null;
  /** /metrics without a key. */
  metricsPublic: boolean;
  metrics: Metrics;
}

export function installAuth(app: FastifyInstance, setup: AuthSetup): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('tenant', 'default');
  const open = openPrincipal();
  app.addHook('onRequest', async (req) => {
    const scope = routeScope(req, setup.metricsPublic);
    if (setup.authenticator === null) {
      req.principal = open;
      req.tenant = open.tenant;
      return;
    }
    if (scope === 'public') return;
    const principal = await setup.authenticator.authenticate(credentialsOf(req.headers));
    req.principal = principal;
    req.tenant = authorize(principal, scope === 'any' ? null : scope, requestedTenant(req.headers));
    const kind = scope === 'ingest' ? 'ingest' : scope === 'query' || scope === 'any' ? 'queries' : null;
    if (kind === null) return;
    // One call to the limiter (one round trip when it is shared in Redis): a query is checked and
    // charged at once; ingest is only checked here, as its size is known once the body is read.
    const wait = await setup.authenticator.admit(principal, kind, kind === 'queries' ? 1 : 0);
    if (wait > 0) {
      const limit = kind === 'ingest' ? 'ingest_bytes' : 'queries';
      setup.metrics.rateLimited.inc({ tenant: req.tenant, limit });
      throw new LhError('LH_ERR_RATE_LIMITED', `key ${principal.keyId} is over its ${limit === 'ingest_bytes' ? 'ingest bytes' : 'queries'} per second`, {
        retry_after_s: Math.max(1, Math.ceil(wait)),
        limit,
      });
    }
    if (kind === 'queries') setup.metrics.tenantQueries.inc({ tenant: req.tenant });
  });
  // Ingest is charged what it actually sent, once the body is read; not waited for (the check
  // before the body was the request's one round trip).
  app.addHook('preHandler', async (req) => {
    if (setup.authenticator === null || req.routeOptions.config?.scope !== 'ingest' || req.principal === null) return;
    const bytes = bodyBytes(req);
    setup.authenticator.charge(req.principal, 'ingest', bytes);
    setup.metrics.tenantIngestBytes.inc({ tenant: req.tenant }, bytes);
  });
}

function routeScope(req: FastifyRequest, metricsPublic: boolean): RouteScope {
  const url = req.url.split('?', 1)[0];
  if (metricsPublic && url === '/metrics') return 'public';
  return req.routeOptions.config?.scope ?? 'admin';
}

function bodyBytes(req: FastifyRequest): number {
  const body = req.body as { bytes?: unknown } | undefined;
  if (body !== undefined && body !== null && Buffer.isBuffer(body.bytes)) return body.bytes.length;
  return Number(req.headers['content-length'] ?? 0) || 0;
}

/** For routes that check a scope themselves (GraphQL operations): 403 unless the principal has it. */
export function requireScope(req: FastifyRequest, scope: Scope): void {
  authorize(req.principal, scope, req.tenant === '*' ? undefined : req.tenant);
}

