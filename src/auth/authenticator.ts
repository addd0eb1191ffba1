// Who is asking: turns the key a request carries into a Principal (tenant, scopes, limits), and
// decides what that principal may do. The key table is read from the store and refreshed every
// few seconds, so a key created or revoked through another instance sharing the store is seen
// here within KEY_REFRESH_MS; through this instance, at once. A key's secret is verified with
// scrypt once; after that its SHA-256 digest is remembered, so a request costs one hash and two
// map lookups. Its rate limits are kept by a RateLimiter: in this process, or in Redis when
// instances share one (a key then gets its rate across all of them, not per instance).

import { createHash } from 'node:crypto';
import { LhError } from '../errors.js';
import { ALL_TENANTS, parseKey, secretMatches, unauthorized, type Scope } from './api-key.js';
import type { KeyRecord, KeyTable } from './key-table.js';
import { LocalRateLimiter, type RateKind, type RateLimiter } from './rate-limit.js';

/** How old the key table may get before a request reads it again. */
export const KEY_REFRESH_MS = 5000;
/** An unknown key id re-reads the table at most this often (a key just created elsewhere). */
const UNKNOWN_ID_REFRESH_MS = 1000;
/** Verified and refused digests remembered, each. */
const MAX_REMEMBERED = 10_000;
/** A wrong secret is refused from memory for this long (no scrypt for a client that retries it). */
const REFUSED_FOR_MS = 60_000;
/** scrypt verifications at once (they run on libuv's pool, which file writes share). */
const MAX_VERIFYING = 2;

export interface Principal {
  /** Null when authentication is off. */
  keyId: string | null;
  /** A tenant, or `*`. */
  tenant: string;
  scopes: ReadonlySet<Scope>;
  /** The key's limits (its own, else the defaults): ingest bytes/s and queries/s, 0 for none. */
  rates: Readonly<Record<RateKind, number>>;
}

export interface AuthLimits {
  /** Per-key defaults, 0 for none (a key may set its own). */
  ingestBytesPerS: number;
  queriesPerS: number;
}

export class Authenticator {
  private keys = new Map<string, KeyRecord>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | null = null;
  private forcedAt = -Infinity;
  /** sha256(key) → key id, for keys whose secret was verified. */
  private readonly verified = new Map<string, string>();
  /** sha256(key) → until when it is refused without checking. */
  private readonly refused = new Map<string, number>();
  private verifying = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly table: KeyTable,
    private readonly limits: AuthLimits,
    private readonly limiter: RateLimiter = new LocalRateLimiter(),
  ) {}

  /** The principal of a request carrying `key`; LH_ERR_UNAUTHORIZED when it is no valid key. */
  async authenticate(key: string | null): Promise<Principal> {
    if (key === null) throw unauthorized('send an API key: Authorization: Bearer <key> (see `loghaven keys create`)');
    const parsed = parseKey(key);
    if (parsed === null) throw unauthorized('the API key is malformed (keys look like lh_<16 hex digits>_<43 characters>)');
    await this.fresh();
    const digest = createHash('sha256').update(key).digest('base64');
    let record = this.keys.get(parsed.id);
    if (record === undefined && performance.now() - this.forcedAt > UNKNOWN_ID_REFRESH_MS) {
      this.forcedAt = performance.now();
      await this.reload();
      record = this.keys.get(parsed.id);
    }
    if (record === undefined) throw unauthorized(`no key ${parsed.id}`);
    if (this.verified.get(digest) !== parsed.id) {
      const until = this.refused.get(digest);
      if (until !== undefined && until > Date.now()) throw unauthorized(`wrong secret for key ${parsed.id}`);
      if (!(await this.verify(parsed.secret, record.secretHash))) {
        remember(this.refused, digest, Date.now() + REFUSED_FOR_MS);
        throw unauthorized(`wrong secret for key ${parsed.id}`);
      }
      this.refused.delete(digest);
      remember(this.verified, digest, parsed.id);
    }
    if (record.revokedAt !== null) throw unauthorized(`key ${record.id} was revoked on ${record.revokedAt.toISOString()}`);
    if (record.expiresAt !== null && record.expiresAt.getTime() <= Date.now()) {
      throw unauthorized(`key ${record.id} expired on ${record.expiresAt.toISOString()}`);
    }
    return { keyId: record.id, tenant: record.tenant, scopes: new Set(record.scopes), rates: this.ratesOf(record) };
  }

  /**
   * Seconds `p` must wait before a request of `kind` (0: it may go ahead, and `n` is taken from
   * its budget in the same step). A key without this limit costs no call to the limiter.
   */
  admit(p: Principal, kind: RateKind, n: number): Promise<number> | number {
    const rate = p.rates[kind];
    if (rate === 0 || p.keyId === null) return 0;
    return this.limiter.admit(p.keyId, kind, rate, n);
  }

  /** Charges `n` to `p` after the fact (an ingest body once read); the caller need not wait. */
  charge(p: Principal, kind: RateKind, n: number): void {
    const rate = p.rates[kind];
    if (rate === 0 || p.keyId === null) return;
    void this.limiter.take(p.keyId, kind, rate, n);
  }

  /** Re-reads the key table now (after this instance created or revoked a key). */
  reload(): Promise<void> {
    this.loading ??= this.table
      .listKeys()
      .then((list) => {
        this.keys = new Map(list.map((k) => [k.id, k]));
        this.loadedAt = performance.now();
      })
      .finally(() => (this.loading = null));
    return this.loading;
  }

  /**
   * The key table, re-read when older than KEY_REFRESH_MS. When a periodic re-read fails (the
   * engine briefly out of memory under a big load, say) the table read before stays in use and
   * the read is tried again a second later: a request is not failed for the refresh.
   */
  private async fresh(): Promise<void> {
    if (performance.now() - this.loadedAt <= KEY_REFRESH_MS) return;
    if (this.loadedAt === -Infinity) return this.reload();
    await this.reload().catch(() => {
      this.loadedAt = performance.now() - KEY_REFRESH_MS + UNKNOWN_ID_REFRESH_MS;
    });
  }

  private ratesOf(k: KeyRecord): Record<RateKind, number> {
    return { ingest: k.ingestBytesPerS ?? this.limits.ingestBytesPerS, queries: k.queriesPerS ?? this.limits.queriesPerS };
  }

  private async verify(secret: string, hash: string): Promise<boolean> {
    if (this.verifying >= MAX_VERIFYING) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.verifying++;
    try {
      return await secretMatches(secret, hash);
    } finally {
      this.verifying--;
      this.waiting.shift()?.();
    }
  }
}

/** The principal of every request when authentication is off: the default tenant, every scope. */
export function openPrincipal(): Principal {
  return { keyId: null, tenant: 'default', scopes: new Set<Scope>(['ingest', 'query', 'admin']), rates: { ingest: 0, queries: 0 } };
}

/**
 * The tenant a request acts for, once its principal may do `scope`: the key's own tenant (a
 * request naming another with X-Scope-OrgID is refused), or, for a key of every tenant, the one
 * the request names. `scope` null: any valid key will do (the tenant may then be `*`).
 */
export function authorize(p: Principal, scope: Scope | null, named: string | undefined): string {
  if (scope !== null && !p.scopes.has(scope)) {
    throw new LhError('LH_ERR_FORBIDDEN', `key ${p.keyId} has scope${p.scopes.size === 1 ? '' : 's'} ${[...p.scopes].join(', ')}; this needs ${scope}`, {
      needed_scope: scope,
    });
  }
  if (p.tenant !== ALL_TENANTS) {
    if (named !== undefined && named !== p.tenant) {
      throw new LhError('LH_ERR_FORBIDDEN', `key ${p.keyId} is for tenant ${p.tenant}, not ${named}`);
    }
    return p.tenant;
  }
  if (named !== undefined) return named;
  if (scope === 'ingest' || scope === 'query') {
    throw new LhError('LH_ERR_BAD_PARAM', `key ${p.keyId} is for every tenant: name the tenant with the X-Scope-OrgID header`, { param: 'X-Scope-OrgID' });
  }
  return ALL_TENANTS;
}

function remember<V>(map: Map<string, V>, k: string, v: V): void {
  if (map.size >= MAX_REMEMBERED) map.delete(map.keys().next().value!);
  map.set(k, v);
}
