// API keys (SPEC §9): what a key looks like, how its secret is stored (never in plain text), and
// how the credentials a client sends are found in the headers each shipper uses.
//
// A key is `lh_<id>_<secret>`: the id (16 hex digits) names the key in lists, logs and audit
// lines; the secret (32 random bytes, base64url) is shown once, at creation. The store keeps an
// scrypt hash of the secret with a random salt, so a copy of the database gives no usable key.

import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { LhError } from '../errors.js';

const scrypt = promisify(scryptCb) as (secret: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

export const SCOPES = ['ingest', 'query', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The tenant of a key that may act for every tenant (operations); it names one per request. */
export const ALL_TENANTS = '*';

/** Tenant names: what may appear in a key, a header and the store. */
const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEY_RE = /^lh_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const ID_RE = /^[0-9a-f]{16}$/;

/** scrypt cost: about 30 ms a verification here; each key is verified once, then remembered. */
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

export interface NewKey {
  id: string;
  /** The whole key, to give to the client once. */
  key: string;
  /** What the store keeps. */
  hash: string;
}

export async function generateKey(): Promise<NewKey> {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `lh_${id}_${secret}`, hash: await hashSecret(secret) };
}

async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(secret, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 2 ** 20 });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** Whether `secret` is the one `stored` was made from; compares in constant time. */
export async function secretMatches(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const actual = await scrypt(secret, salt, expected.length, { N, r, p, maxmem: 64 * 2 ** 20 });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The id and secret of a key in the `lh_<id>_<secret>` form, or null for anything else. */
export function parseKey(text: string): { id: string; secret: string } | null {
  const m = KEY_RE.exec(text);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export function isKeyId(text: string): boolean {
  return ID_RE.test(text);
}

export function isTenantName(text: string): boolean {
  return TENANT_RE.test(text);
}

/** A tenant name as given to `keys create`: a name, or `*` for every tenant. */
export function checkKeyTenant(text: string): string {
  if (text === ALL_TENANTS || isTenantName(text)) return text;
  throw new LhError(
    'LH_ERR_BAD_PARAM',
    `tenant ${JSON.stringify(text)} is not valid: 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit, or "*" for every tenant`,
    { param: 'tenant' },
  );
}

/** Scopes as given to `keys create` (`ingest,query`): each known, none twice, at least one. */
export function parseScopes(text: string | string[]): Scope[] {
  const items = (Array.isArray(text) ? text : text.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const unknown = items.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (items.length === 0 || unknown.length > 0) {
    throw new LhError('LH_ERR_BAD_PARAM', `scopes must be one or more of ${SCOPES.join(', ')}${unknown.length ? `, not ${unknown.map((s) => JSON.stringify(s)).join(', ')}` : ''}`, {
      param: 'scopes',
    });
  }
  return SCOPES.filter((s) => items.includes(s));
}

/** Headers as Node gives them. */
type Headers = Record<string, string | string[] | undefined>;

/** Longest Authorization (or key) header looked at; longer ones are refused unread. */
const MAX_CREDENTIAL_LENGTH = 4096;

/**
 * The key a request carries, from whichever header its client uses: `Authorization: Bearer KEY`
 * (the API, OTLP exporters), `Basic` with the key as the password (Loki clients, Promtail, the
 * Elasticsearch clients' basic auth; a lone user name is taken as the key too), `ApiKey` with the
 * key or with base64 of `id:KEY` (Elasticsearch clients), or `X-API-Key: KEY`. Null when there is
 * none; LH_ERR_UNAUTHORIZED when a header is there but unreadable.
 */
export function credentialsOf(headers: Headers): string | null {
  const auth = single(headers.authorization, 'Authorization');
  if (auth !== undefined) {
    if (auth.length > MAX_CREDENTIAL_LENGTH) throw unauthorized('the Authorization header is too long');
    const space = auth.indexOf(' ');
    const scheme = (space < 0 ? auth : auth.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : auth.slice(space + 1).trim();
    if (value === '') throw unauthorized(`the Authorization header has no credentials after "${scheme.slice(0, 20)}"`);
    if (scheme === 'bearer') return value;
    if (scheme === 'basic') {
      const decoded = decodeBase64(value, 'Basic');
      const colon = decoded.indexOf(':');
      if (colon < 0) return decoded;
      const password = decoded.slice(colon + 1);
      return password !== '' ? password : decoded.slice(0, colon);
    }
    if (scheme === 'apikey') {
      if (parseKey(value) !== null) return value;
      const decoded = decodeBase64(value, 'ApiKey');
      const colon = decoded.indexOf(':');
      return colon < 0 ? decoded : decoded.slice(colon + 1);
    }
    throw unauthorized('the Authorization scheme must be Bearer, Basic or ApiKey');
  }
  const apiKey = single(headers['x-api-key'], 'X-API-Key');
  if (apiKey !== undefined) {
    if (apiKey.length > MAX_CREDENTIAL_LENGTH) throw unauthorized('the X-API-Key header is too long');
    return apiKey.trim();
  }
  return null;
}

/** The tenant a request names with `X-Scope-OrgID` (Loki's convention), or undefined. */
export function requestedTenant(headers: Headers): string | undefined {
  const v = single(headers['x-scope-orgid'], 'X-Scope-OrgID');
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!isTenantName(t)) {
    throw new LhError('LH_ERR_BAD_PARAM', 'X-Scope-OrgID must be one tenant name: 1–64 letters, digits, ".", "_" or "-"', { param: 'X-Scope-OrgID' });
  }
  return t;
}

function single(v: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(v)) {
    if (v.length > 1) throw new LhError('LH_ERR_BAD_PARAM', `the ${name} header is given ${v.length} times`, { param: name });
    return v[0];
  }
  return v;
}

function decodeBase64(value: string, scheme: string): string {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) throw unauthorized(`the ${scheme} credentials are not base64`);
  return Buffer.from(value, 'base64').toString('utf8');
}

export function unauthorized(detail: string): LhError {
  return new LhError('LH_ERR_UNAUTHORIZED', detail);
}
