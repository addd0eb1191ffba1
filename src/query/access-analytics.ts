// Access-log analytics answers (SPEC §6): the parameters of /api/v1/analytics/access/<kind>,
// GraphQL and `loghaven analyze` checked, the store asked, and the figures shaped into the
// answer. Workflow analyses (sessions, flows, funnel) past `max_sessions` sessions sample clients
// by a hash of their key, say so in `sample_rate`, and scale their counts back up to estimates
// of the whole; their progress (which stage, for how long) is visible while they run.

import { LhError } from '../errors.js';
import { formatMicros } from '../model/record.js';
import { urlPattern } from '../ingest/access/url-pattern.js';
import type { AccessAnalytics, AccessSelection, AccessTotals, SessionOptions } from '../store/access.js';
import { intParam, paramText as text } from './params.js';
import { parseDuration } from './time.js';

export const ACCESS_KINDS = ['summary', 'hourly', 'urls', 'sessions', 'flows', 'errors', 'funnel'] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];

type Param = string | number | undefined | null;

export interface AccessParams {
  q?: Param;
  from?: Param;
  to?: Param;
  limit?: Param;
  /** sessions, flows, funnel: inactivity that ends a session (`30m`). */
  gap?: Param;
  /** Sessions past which clients are sampled (0: never sample). */
  max_sessions?: Param;
  /** A sample rate to use, (0, 1]; 1 analyses every client. */
  sample_rate?: Param;
  /** flows: length of the paths counted. */
  n?: Param;
  /** funnel: the steps, comma-separated patterns (`/a,/b/{id},/c`). */
  steps?: Param;
}

/** A workflow analysis under way. */
export interface AccessProgress {
  id: number;
  tenant: string;
  kind: AccessKind;
  stage: 'estimating' | 'sessionising';
  sample_rate: number | null;
  started: string;
  elapsed_ms: number;
}

const DEFAULT_GAP_US = 30n * 60_000_000n;
const DEFAULT_MAX_SESSIONS = 10_000;

/** Everything an answer depends on beyond the selection (the cache key's parts). */
export function accessKeyParts(kind: AccessKind, p: AccessParams): unknown[] {
  return [kind, text(p.limit), text(p.gap), text(p.max_sessions), text(p.sample_rate), text(p.n), text(p.steps)];
}

export function checkAccessKind(v: string): AccessKind {
  if (!(ACCESS_KINDS as readonly string[]).includes(v)) {
    throw new LhError('LH_ERR_NOT_FOUND', `no access analysis "${v.slice(0, 40)}"; there are ${ACCESS_KINDS.join(', ')}`);
  }
  return v as AccessKind;
}

export class AccessAnswers {
  private nextId = 1;
  private readonly running = new Map<number, AccessProgress & { t0: number }>();

  constructor(private readonly analytics: () => AccessAnalytics) {}

  /** The workflow analyses running now for a tenant. */
  progress(tenant: string): AccessProgress[] {
    const now = performance.now();
    return [...this.running.values()]
      .filter((r) => r.tenant === tenant)
      .map(({ t0, ...r }) => ({ ...r, elapsed_ms: Math.round(now - t0) }));
  }

  /** The answer's JSON text. */
  async answer(kind: AccessKind, sel: AccessSelection, p: AccessParams): Promise<string> {
    const a = this.analytics();
    switch (kind) {
      case 'summary': {
        const { source, summary } = await a.summary(sel);
        const { first_ts, last_ts, ...rest } = summary;
        return json({
          ...totals(rest),
          clients: summary.clients,
          first_ts: first_ts === null ? null : formatMicros(first_ts),
          last_ts: last_ts === null ? null : formatMicros(last_ts),
          sample_rate: 1,
          source,
        });
      }
      case 'hourly': {
        const { source, items } = await a.hourly(sel);
        return json({ items: items.map(({ hour, ...t }) => ({ hour: formatMicros(hour), ...totals(t) })), sample_rate: 1, source });
      }
      case 'urls': {
        const limit = intParam('limit', p.limit, 50, 1, 10_000);
        const { source, items } = await a.urls(sel, limit);
        return json({
          // The URL aggregates do not tell ELB errors from the target's: those fields are left out.
          items: items.map(({ method, pattern, elb_errors: _e, target_errors: _t, ...t }) => ({ method, pattern, count: t.requests, ...t })),
          sample_rate: 1,
          source,
        });
      }
      case 'errors': {
        const limit = intParam('limit', p.limit, 50, 1, 10_000);
        const { source, items } = await a.errors(sel, limit);
        return json({ items, sample_rate: 1, source });
      }
      case 'sessions':
      case 'flows':
      case 'funnel':
        return this.workflow(kind, a, sel, p);
    }
  }

  private async workflow(kind: 'sessions' | 'flows' | 'funnel', a: AccessAnalytics, sel: AccessSelection, p: AccessParams): Promise<string> {
    const gapText = text(p.gap);
    const gapMicros = gapText === '' ? DEFAULT_GAP_US : parseDuration('gap', gapText);
    const steps = kind === 'funnel' ? funnelSteps(p.steps) : [];
    const limit = intParam('limit', p.limit, kind === 'flows' ? 50 : 20, 1, 100_000);
    const n = kind === 'flows' ? intParam('n', p.n, 3, 2, 8) : 0;
    const maxSessions = intParam('max_sessions', p.max_sessions, DEFAULT_MAX_SESSIONS, 0, 100_000_000);
    const explicitRate = rateParam(p.sample_rate);

    const entry = { id: this.nextId++, tenant: sel.tenant, kind, stage: 'estimating' as AccessProgress['stage'], sample_rate: null as number | null, started: new Date().toISOString(), elapsed_ms: 0, t0: performance.now() };
    this.running.set(entry.id, entry);
    try {
      let rate = explicitRate ?? 1;
      let estimate: number | null = null;
      if (explicitRate === null && maxSessions > 0) {
        estimate = await a.estimateSessions(sel, gapMicros);
        if (estimate > maxSessions) rate = Math.max(1e-6, Math.round((maxSessions / estimate) * 1e6) / 1e6);
      }
      entry.stage = 'sessionising';
      entry.sample_rate = rate;
      const opts: SessionOptions = { gapMicros, sampleRate: rate };
      const scale = (c: number) => (rate >= 1 ? c : Math.round(c / rate));
      const sampling = { sample_rate: rate, sampled: rate < 1, ...(estimate === null ? {} : { estimated_sessions: estimate }) };
      if (kind === 'sessions') {
        const s = await a.sessions(sel, opts, limit);
        return json({
          sessions: scale(s.sessions),
          sessions_analyzed: s.sessions,
          requests: scale(s.requests),
          gap_s: Number(gapMicros / 1_000_000n),
          entry_pages: s.entry_pages.map((e) => ({ pattern: e.pattern, count: scale(e.count) })),
          exit_pages: s.exit_pages.map((e) => ({ pattern: e.pattern, count: scale(e.count) })),
          length: s.length,
          duration_s: s.duration_s,
          ...sampling,
        });
      }
      if (kind === 'flows') {
        const f = await a.flows(sel, { ...opts, n, limit });
        return json({
          n,
          paths: f.paths.map((x) => ({ steps: x.steps, count: scale(x.count) })),
          transitions: f.transitions.map((t) => ({ ...t, count: scale(t.count) })),
          ...sampling,
        });
      }
      const f = await a.funnel(sel, { ...opts, steps });
      return json({
        sessions: scale(f.sessions),
        steps: steps.map((pattern, i) => {
          const reached = f.reached[i]!;
          const before = i === 0 ? f.sessions : f.reached[i - 1]!;
          return {
            pattern,
            sessions: scale(reached),
            conversion: f.sessions === 0 ? 0 : round4(reached / f.sessions),
            drop_off: scale(before - reached),
            drop_off_rate: before === 0 ? 0 : round4((before - reached) / before),
          };
        }),
        ...sampling,
      });
    } finally {
      this.running.delete(entry.id);
    }
  }
}

/** Totals as answers give them (ELB vs target errors included; `requests` stays the count). */
function totals(t: AccessTotals): AccessTotals {
  return {
    requests: t.requests,
    status_classes: t.status_classes,
    elb_errors: t.elb_errors,
    target_errors: t.target_errors,
    received_bytes: t.received_bytes,
    sent_bytes: t.sent_bytes,
    latency_ms: t.latency_ms,
  };
}

function funnelSteps(v: Param): string[] {
  const raw = text(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (raw.length < 2 || raw.length > 20) {
    throw new LhError('LH_ERR_BAD_PARAM', `steps must list 2 to 20 URL patterns, comma-separated (e.g. /,/products/{id},/cart), got ${raw.length}`, { param: 'steps' });
  }
  return raw.map((s) => {
    if (!s.startsWith('/')) throw new LhError('LH_ERR_BAD_PARAM', `steps: each is a path or URL pattern starting with "/", got ${JSON.stringify(s.slice(0, 60))}`, { param: 'steps' });
    // `/products/123` and `/products/{id}` name the same step.
    return urlPattern(s);
  });
}

function rateParam(v: Param): number | null {
  const s = text(v);
  if (s === '') return null;
  const r = Number(s);
  if (!(r > 0 && r <= 1)) throw new LhError('LH_ERR_BAD_PARAM', `sample_rate must be a number in (0, 1], got ${JSON.stringify(s)}`, { param: 'sample_rate' });
  return r;
}


function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}

function json(v: unknown): string {
  return JSON.stringify(v);
}
