// /api/v1/keys: managing API keys with an admin key. An admin key of one tenant manages that
// tenant's keys; an admin key of every tenant (`*`) manages all. Every change is written to the
// server's log as an audit line with the acting key's id, never a secret.

import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ALL_TENANTS } from '../../auth/api-key.js';
import type { Authenticator, Principal } from '../../auth/authenticator.js';
import { createKey, listKeys, revokeKey, type CreateKeyRequest } from '../../auth/key-admin.js';
import type { KeyTable } from '../../auth/key-table.js';
import { LhError } from '../../errors.js';

export interface KeysRouteDeps {
  keys: KeyTable;
  /** Told of every change made here, so this instance uses it at once. */
  authenticator: Authenticator | null;
  log: FastifyBaseLogger;
}

const KeyViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    tenant: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string' },
    expires_at: { type: ['string', 'null'] },
    revoked_at: { type: ['string', 'null'] },
    status: { type: 'string' },
    rate: {
      type: 'object',
      properties: { ingest_bytes_per_s: { type: ['number', 'null'] }, queries_per_s: { type: ['number', 'null'] } },
    },
  },
} as const;

/** Whose keys a principal manages: its tenant's, or all (a key of `*`, or anyone with auth off). */
function managedTenant(p: Principal): string {
  return p.keyId === null ? ALL_TENANTS : p.tenant;
}

export async function keysRoutes(app: FastifyInstance, deps: KeysRouteDeps): Promise<void> {
  app.get(
    '/api/v1/keys',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'API keys (never their secrets): every tenant’s for an admin key of `*`, else its own tenant’s',
        tags: ['keys'],
        response: { 200: { type: 'object', properties: { keys: { type: 'array', items: KeyViewSchema } } } },
      },
    },
    async (req) => ({ keys: await listKeys(deps.keys, managedTenant(req.principal)) }),
  );

  app.post(
    '/api/v1/keys',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Create an API key; the answer holds the key, shown this once',
        tags: ['keys'],
        body: {
          type: 'object',
          required: ['tenant', 'scopes'],
          additionalProperties: false,
          properties: {
            tenant: { type: 'string', maxLength: 64 },
            scopes: { anyOf: [{ type: 'string', maxLength: 100 }, { type: 'array', maxItems: 3, items: { type: 'string', maxLength: 20 } }] },
            name: { type: 'string', maxLength: 200 },
            expires: { type: 'string', maxLength: 20, description: 'Lifetime such as 90d, 12h, 2w, 1y; absent: until revoked' },
            ingest_bytes_per_s: { type: 'number', minimum: 0 },
            queries_per_s: { type: 'number', minimum: 0 },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body as { tenant: string; scopes: string | string[]; name?: string; expires?: string; ingest_bytes_per_s?: number; queries_per_s?: number };
      const acting = req.principal;
      if (managedTenant(acting) !== ALL_TENANTS && b.tenant !== acting.tenant) {
        throw new LhError('LH_ERR_FORBIDDEN', `key ${acting.keyId} is for tenant ${acting.tenant}; it can only create keys of that tenant`);
      }
      const request: CreateKeyRequest = { tenant: b.tenant, scopes: b.scopes, name: b.name, expires: b.expires, ingestBytesPerS: b.ingest_bytes_per_s, queriesPerS: b.queries_per_s };
      const made = await createKey(deps.keys, request);
      await deps.authenticator?.reload();
      deps.log.info({ audit: 'key.create', key_id: acting.keyId, created_key_id: made.view.id, tenant: made.view.tenant, scopes: made.view.scopes }, 'audit: key created');
      return reply.status(201).send({ ...made.view, key: made.key });
    },
  );

  app.delete(
    '/api/v1/keys/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Revoke an API key (at once on this instance, within seconds on the others)',
        tags: ['keys'],
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } },
        response: { 200: KeyViewSchema },
      },
    },
    async (req) => {
      const id = (req.params as { id: string }).id;
      const revoked = await revokeKey(deps.keys, id, managedTenant(req.principal));
      await deps.authenticator?.reload();
      deps.log.info({ audit: 'key.revoke', key_id: req.principal.keyId, revoked_key_id: id, tenant: revoked.tenant }, 'audit: key revoked');
      return revoked;
    },
  );
}
