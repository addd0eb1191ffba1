// Creating, listing and revoking keys: the one implementation behind `loghaven keys` (on a data
// directory) and /api/v1/keys (on a running server).

import { LhError } from '../errors.js';
import { ALL_TENANTS, checkKeyTenant, generateKey, isKeyId, parseScopes, type Scope } from './api-key.js';
import type { KeyRecord, KeyTable } from './key-table.js';

export interface CreateKeyRequest {
  tenant: string;
  scopes: string | string[];
  name?: string;
  /** How long the key lives: `90d`, `12h`, `30m`, `2w`, `1y`; absent: until revoked. */
  expires?: string;
  ingestBytesPerS?: number;
  queriesPerS?: number;
}

/** A key as lists and answers show it: everything but the hash of its secret. */
export interface KeyView {
  id: string;
  name: string;
  tenant: string;
  scopes: Scope[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  status: 'active' | 'expired' | 'revoked';
  rate: { ingest_bytes_per_s: number | null; queries_per_s: number | null };
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000 };
const MAX_NAME = 200;

export async function createKey(table: KeyTable, req: CreateKeyRequest, now = new Date()): Promise<{ view: KeyView; key: string }> {
  const tenant = checkKeyTenant(String(req.tenant ?? ''));
  const scopes = parseScopes(req.scopes ?? '');
  const name = req.name ?? '';
  if (typeof name !== 'string' || name.length > MAX_NAME || /[\u0000-\u001f]/.test(name)) {
    throw new LhError('LH_ERR_BAD_PARAM', `name must be text of at most ${MAX_NAME} characters without control characters`, { param: 'name' });
  }
  const expiresAt = req.expires === undefined || req.expires === '' ? null : new Date(now.getTime() + duration(req.expires));
  const made = await generateKey();
  const record: KeyRecord = {
    id: made.id,
    name,
    tenant,
    scopes,
    secretHash: made.hash,
    createdAt: now,
    expiresAt,
    revokedAt: null,
    ingestBytesPerS: rate(req.ingestBytesPerS, 'ingest_bytes_per_s'),
    queriesPerS: rate(req.queriesPerS, 'queries_per_s'),
  };
  await table.insertKey(record);
  return { view: keyView(record, now), key: made.key };
}

/** Keys as shown to a principal of `tenant` (`*`: all of them). */
export async function listKeys(table: KeyTable, tenant: string = ALL_TENANTS, now = new Date()): Promise<KeyView[]> {
  const all = await table.listKeys();
  return all.filter((k) => tenant === ALL_TENANTS || k.tenant === tenant).map((k) => keyView(k, now));
}

/** Revokes a key of `tenant` (`*`: any); LH_ERR_NOT_FOUND when there is no such active key. */
export async function revokeKey(table: KeyTable, id: string, tenant: string = ALL_TENANTS, now = new Date()): Promise<KeyView> {
  if (!isKeyId(id)) throw new LhError('LH_ERR_BAD_PARAM', `key id must be 16 hex digits, got ${JSON.stringify(id.slice(0, 40))}`, { param: 'id' });
  const key = (await table.listKeys()).find((k) => k.id === id && (tenant === ALL_TENANTS || k.tenant === tenant));
  if (key === undefined) throw new LhError('LH_ERR_NOT_FOUND', `no key ${id}`);
  if (key.revokedAt !== null) throw new LhError('LH_ERR_NOT_FOUND', `key ${id} was already revoked on ${key.revokedAt.toISOString()}`);
  if (!(await table.revokeKey(id, now))) throw new LhError('LH_ERR_NOT_FOUND', `key ${id} was already revoked`);
  return keyView({ ...key, revokedAt: now }, now);
}

export function keyView(k: KeyRecord, now = new Date()): KeyView {
  const status = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : 'active';
  return {
    id: k.id,
    name: k.name,
    tenant: k.tenant,
    scopes: k.scopes,
    created_at: k.createdAt.toISOString(),
    expires_at: k.expiresAt?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
    status,
    rate: { ingest_bytes_per_s: k.ingestBytesPerS, queries_per_s: k.queriesPerS },
  };
}

function duration(text: string): number {
  const m = /^(\d{1,6})([mhdwy])$/.exec(String(text).trim());
  if (!m) throw new LhError('LH_ERR_BAD_PARAM', `expires must be a count and a unit (m, h, d, w, y), such as "90d", got ${JSON.stringify(String(text).slice(0, 40))}`, { param: 'expires' });
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms <= 0) throw new LhError('LH_ERR_BAD_PARAM', 'expires must be in the future', { param: 'expires' });
  return ms;
}

function rate(v: number | undefined, name: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new LhError('LH_ERR_BAD_PARAM', `${name} must be a number of at least 0 (0: no limit)`, { param: name });
  return v;
}
