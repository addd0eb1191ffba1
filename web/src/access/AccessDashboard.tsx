// The access-log dashboard (SPEC §6): requests and status classes over time, latency
// percentiles, top URL patterns with their status mix and latency, error patterns, and the
// workflow analyses (sessions, flows, a funnel). Everything comes from
// /api/v1/analytics/access/*, filtered by the same `q` and time range, both kept in the URL.
// Access logs usually arrive by import, long after the fact, so the range starts as all time.

import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { ErrorMessage } from '../components/ErrorMessage';
import { QueryBar } from '../components/QueryBar';
import { TimeRangePicker } from '../components/TimeRangePicker';
import { Notes, Stat } from '../components/Stat';
import { bytes, count, millis, percent } from '../format';
import { currentLocation, navigate } from '../router';
import { useStore } from '../store';
import { formatTimestamp, type TimeRange } from '../time';
import type { AccessErrorPattern, AccessHour, AccessMeta, AccessSummary, AccessUrl } from '../types';
import { useJson } from '../use-json';
import { ErrorTable, UrlTable } from './tables';
import { TrafficCharts } from './TrafficCharts';
import { Workflows } from './Workflows';

const ALL_TIME: TimeRange = { from: '', to: '' };

export function AccessDashboard() {
  const loc = useStore(currentLocation);
  const p = loc.params;
  const q = p.get('q') ?? '';
  const range: TimeRange = { from: p.get('from') ?? ALL_TIME.from, to: p.get('to') ?? ALL_TIME.to };
  const gap = p.get('gap') ?? '30m';
  const funnel = p.get('funnel') ?? '';
  const [draft, setDraft] = useState(q);
  const [refresh, setRefresh] = useState(0);
  useEffect(() => setDraft(q), [q]);

  const go = (next: Partial<{ q: string; range: TimeRange; gap: string; funnel: string }>) => {
    const r = next.range ?? range;
    const before = location.pathname + location.search;
    navigate('access', {
      q: (next.q ?? q) || undefined,
      from: r.from,
      to: r.to,
      gap: (next.gap ?? gap) === '30m' ? undefined : (next.gap ?? gap),
      funnel: (next.funnel ?? funnel) || undefined,
    });
    if (location.pathname + location.search === before) setRefresh((n) => n + 1);
  };

  const base = { q, from: range.from, to: range.to };
  const summary = useJson<AccessSummary>('/api/v1/analytics/access/summary', base, refresh);
  const hasData = summary.data !== null && summary.data.requests > 0;
  const hourly = useJson<{ items: AccessHour[] }>(hasData ? '/api/v1/analytics/access/hourly' : null, base, refresh);
  const urls = useJson<{ items: AccessUrl[] } & AccessMeta>(hasData ? '/api/v1/analytics/access/urls' : null, { ...base, limit: 25 }, refresh);
  const errors = useJson<{ items: AccessErrorPattern[] } & AccessMeta>(hasData ? '/api/v1/analytics/access/errors' : null, { ...base, limit: 25 }, refresh);

  const s = summary.data;
  const queryError = summary.error instanceof ApiError && summary.error.status === 400 ? summary.error : null;

  return (
    <main class="access" data-testid="access-dashboard">
      <div class="toolbar">
        <QueryBar
          value={draft}
          onInput={setDraft}
          onSubmit={() => go({ q: draft.trim() })}
          placeholder="status:>=500 path:/api/* host:shop.example.com method:POST   (press / to focus)"
          errorPosition={queryError?.position}
          label="Filter on access fields"
        />
        <TimeRangePicker range={range} onChange={(r) => go({ range: r })} />
        <button type="button" onClick={() => setRefresh((n) => n + 1)} title="Ask again">
          Refresh
        </button>
      </div>
      <ErrorMessage error={summary.error} query={queryError?.position !== undefined ? q : undefined} />
      {s !== null && <Notes meta={s} />}
      {s !== null && !hasData && (
        <section class="empty-state" data-testid="access-empty">
          <h2>No access logs {q !== '' || range.from !== '' || range.to !== '' ? 'match this filter and range' : 'yet'}</h2>
          <p>
            Import AWS ALB, nginx or Apache logs with <code>loghaven import ./AWSLogs --url {location.origin}</code>, or send lines to{' '}
            <code>POST /api/v1/ingest?format=alb</code> (or <code>combined</code>, <code>common</code>).
          </p>
        </section>
      )}
      {s !== null && hasData && (
        <>
          <section class="cards" aria-label="Summary">
            <Stat name="requests" wide label="Requests" value={count(s.requests)} sub={s.first_ts !== null ? `${formatTimestamp(Date.parse(s.first_ts))} → ${formatTimestamp(Date.parse(s.last_ts!))}` : ''} />
            {(['2xx', '3xx', '4xx', '5xx'] as const).map((c) => (
              <Stat key={c} name={`status-${c}`} label={c} value={count(s.status_classes[c])} sub={percent(s.requests > 0 ? s.status_classes[c] / s.requests : null)} tone={c} />
            ))}
            <Stat name="elb-errors" label="ELB / target errors" value={`${count(s.elb_errors)} / ${count(s.target_errors)}`} />
            <Stat name="clients" label="Clients" value={count(s.clients)} />
            <Stat name="bytes" wide label="Received / sent" value={`${bytes(s.received_bytes)} / ${bytes(s.sent_bytes)}`} />
            <Stat
              wide
              name="latency"
              label="Latency p50 / p90 / p99"
              value={`${millis(s.latency_ms.p50)} / ${millis(s.latency_ms.p90)} / ${millis(s.latency_ms.p99)}`}
              sub={`avg ${millis(s.latency_ms.avg)} · max ${millis(s.latency_ms.max)}`}
            />
          </section>
          <ErrorMessage error={hourly.error} />
          {hourly.data !== null && <TrafficCharts hours={hourly.data.items} />}
          <section class="panel">
            <h2>Top URL patterns</h2>
            <ErrorMessage error={urls.error} />
            {urls.data !== null && <UrlTable items={urls.data.items} range={range} />}
          </section>
          <section class="panel">
            <h2>Error patterns</h2>
            <ErrorMessage error={errors.error} />
            {errors.data !== null && <ErrorTable items={errors.data.items} />}
          </section>
          <Workflows base={base} gap={gap} funnel={funnel} refresh={refresh} onGap={(g) => go({ gap: g })} onFunnel={(f) => go({ funnel: f })} />
        </>
      )}
    </main>
  );
}
