// The response cache of the query service (SPEC §5): answers keyed by tenant, route, the parsed
// query and the resolved time range, kept for a time-to-live per route, and served only while no
// data acknowledged since their query began touches their tenant and time range (change-journal.ts).
// A failing shared cache (Redis down) is skipped: the answer comes from the store, the failure is
// logged once and counted, and /ready reports it.

import { createHash } from 'node:crypto';
import type { Metrics } from '../../observability/metrics.js';
import type { CacheStore } from './cache-store.js';
import type { ChangeJournal } from './change-journal.js';

export type CachedRoute = 'search' | 'histogram' | 'top' | 'access';

export interface CacheKey {
  tenant: string;
  route: CachedRoute;
  /** Everything else the answer depends on: the parsed query, limits, order, cursor, step… */
  parts: unknown;
  /** The resolved time range the answer covers (undefined: unbounded). */
  from?: bigint;
  to?: bigint;
}

export interface ResponseCacheOptions {
  ttlMs: Record<CachedRoute, number>;
}

export interface ResponseCacheLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** The key as text: `lh:<tenant>:<route>:<hash>`, so operators can purge by tenant or route. */
export function cacheKeyText(k: CacheKey): string {
  const hash = createHash('sha1')
    .update(JSON.stringify([k.parts, k.from?.toString() ?? null, k.to?.toString() ?? null], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
    .digest('base64url');
  return `lh:${encodeURIComponent(k.tenant)}:${k.route}:${hash}`;
}

interface Entry {
  /** Journal version when the query began. */
  v: number;
  f: string | null;
  t: string | null;
  /** The answer. */
  b: string;
}

export class ResponseCache {
  private hits = 0;
  private misses = 0;
  /** The shared cache failed and has not answered since. */
  private backendDown = false;
  private lastError: string | null = null;

  constructor(
    private readonly store: CacheStore,
    private readonly journal: ChangeJournal,
    private readonly options: ResponseCacheOptions,
    private readonly metrics: Metrics,
    private readonly log: ResponseCacheLog,
  ) {}

  get kind(): string {
    return this.store.kind;
  }

  /** Hits over hits and misses since start; null before the first lookup. */
  get hitRatio(): number | null {
    const n = this.hits + this.misses;
    return n === 0 ? null : this.hits / n;
  }

  /** Lookups (hits and misses) since start. */
  get lookups(): number {
    return this.hits + this.misses;
  }

  /** Null while the backend answers; why it does not otherwise. */
  get failure(): string | null {
    return this.backendDown ? this.lastError : null;
  }

  /** The version to stamp on an answer computed from now on (read it before the query runs). */
  async version(): Promise<number | null> {
    try {
      return await this.journal.version();
    } catch (e) {
      this.failed(e);
      return null;
    }
  }

  /** A cached answer still valid for `key`, or undefined. */
  async get(key: CacheKey): Promise<string | undefined> {
    let entry: Entry | undefined;
    try {
      const text = await this.store.get(cacheKeyText(key));
      entry = text === undefined ? undefined : (JSON.parse(text) as Entry);
      if (entry !== undefined) {
        const from = entry.f === null ? undefined : BigInt(entry.f);
        const to = entry.t === null ? undefined : BigInt(entry.t);
        if (await this.journal.changedSince(key.tenant, from, to, entry.v)) entry = undefined;
      }
      this.recovered();
    } catch (e) {
      this.failed(e);
      entry = undefined;
    }
    if (entry === undefined) this.misses++;
    else this.hits++;
    this.metrics.cacheRequests.inc({ route: key.route, result: entry === undefined ? 'miss' : 'hit' });
    const ratio = this.hitRatio;
    if (ratio !== null) this.metrics.cacheHitRatio.set(ratio);
    return entry?.b;
  }

  /** Keeps an answer computed by a query that began at `version`. */
  async set(key: CacheKey, version: number | null, body: string): Promise<void> {
    if (version === null) return;
    const entry: Entry = { v: version, f: key.from?.toString() ?? null, t: key.to?.toString() ?? null, b: body };
    try {
      await this.store.set(cacheKeyText(key), JSON.stringify(entry), this.options.ttlMs[key.route]);
      this.recovered();
    } catch (e) {
      this.failed(e);
    }
    this.metrics.cacheBytes.set(Math.max(0, this.store.bytes()));
  }

  /** Counts an answer served without the cache (the client asked for fresh data). */
  bypassed(route: CachedRoute): void {
    this.metrics.cacheRequests.inc({ route, result: 'bypass' });
  }

  /** Deletes the answers whose keys match a glob (`lh:<tenant>:<route>:*`). */
  async purge(pattern: string): Promise<number> {
    const n = await this.store.purge(pattern);
    this.metrics.cacheBytes.set(Math.max(0, this.store.bytes()));
    return n;
  }

  /** Records acknowledged rows: answers covering their time range are stale from now on. */
  async changed(tenant: string | null, from: bigint, to: bigint): Promise<void> {
    try {
      await this.journal.record(tenant, from, to);
    } catch (e) {
      this.failed(e);
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private failed(e: unknown): void {
    this.metrics.cacheBackendErrors.inc();
    this.lastError = `${this.store.kind} cache: ${(e as Error).message}`;
    if (!this.backendDown) {
      this.backendDown = true;
      this.log.warn({ err: e }, 'the response cache does not answer; serving from the store until it does');
    }
  }

  private recovered(): void {
    if (!this.backendDown) return;
    this.backendDown = false;
    this.log.info({ cache: this.store.kind }, 'the response cache answers again');
  }
}
