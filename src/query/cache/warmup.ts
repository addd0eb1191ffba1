// Cache warm-up (SPEC §5): the queries listed in `cache.warmup` are run once the server listens
// and again every `cache.warmup_interval_ms`, through the query service like any request, so their
// answers are in the cache when users ask (a pass over a still-valid answer is just a hit).

import { LhError } from '../../errors.js';
import type { QueryContext, QueryService } from '../service.js';
import { isTenantName } from '../../auth/api-key.js';

type Route = 'search' | 'histogram' | 'top';

const ROUTES: Record<string, Route> = {
  '/api/v1/logs': 'search',
  '/api/v1/logs/histogram': 'histogram',
  '/api/v1/logs/top': 'top',
};

export interface WarmQuery {
  text: string;
  route: Route;
  tenant: string;
  params: Record<string, string>;
}

/** The warm-up list: request paths separated by whitespace. Throws naming a bad one. */
export function parseWarmup(list: string): WarmQuery[] {
  const out: WarmQuery[] = [];
  for (const text of list.split(/\s+/).filter((s) => s !== '')) {
    let url: URL;
    try {
      url = new URL(text, 'http://warmup.invalid');
    } catch {
      throw new LhError('LH_ERR_CONFIG_INVALID', `cache.warmup: ${JSON.stringify(text)} is not a request path`);
    }
    const route = ROUTES[url.pathname];
    if (route === undefined) {
      throw new LhError('LH_ERR_CONFIG_INVALID', `cache.warmup: ${JSON.stringify(text)}: expected a path of ${Object.keys(ROUTES).join(', ')}`);
    }
    // `tenant=` names whose answers to keep warm (`default` when absent); it is not a query parameter.
    const tenant = url.searchParams.get('tenant') ?? 'default';
    if (!isTenantName(tenant)) throw new LhError('LH_ERR_CONFIG_INVALID', `cache.warmup: ${JSON.stringify(text)}: tenant must be a tenant name`);
    url.searchParams.delete('tenant');
    out.push({ text, route, tenant, params: Object.fromEntries(url.searchParams) });
  }
  return out;
}

export class CacheWarmer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly service: QueryService,
    private readonly queries: WarmQuery[],
    private readonly intervalMs: number,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  start(): void {
    if (this.queries.length === 0) return;
    this.running = this.pass();
    this.timer = setInterval(() => {
      this.running ??= this.pass().finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One pass over every warm-up query (also awaited by tests). */
  async pass(): Promise<void> {
    for (const q of this.queries) {
      const ctx: QueryContext = { tenant: q.tenant };
      try {
        if (q.route === 'search') await this.service.search(ctx, q.params);
        else if (q.route === 'histogram') await this.service.histogram(ctx, q.params);
        else await this.service.top(ctx, q.params);
      } catch (e) {
        this.log.warn({ err: e, query: q.text }, 'cache warm-up query failed');
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
