// The server page (SPEC §8, §10): ingest rate by protocol, queues and the spool backlog, the
// response cache, query latency, storage by tier, readiness and alerts. It reads /metrics,
// /api/v1/status and /ready every POLL_MS (and /api/v1/db/stats, which lists every day, less
// often); rates and recent latencies come from the difference between two readings.

import uPlot from 'uplot';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { apiUrl, credentials, getJson, getText, isAbort } from '../api';
import { Chart, Legend, axes, type ChartColors } from '../components/Chart';
import { ErrorMessage } from '../components/ErrorMessage';
import { Stat } from '../components/Stat';
import { bytes, count, millis, percent, rate, seconds } from '../format';
import { useStore } from '../store';
import { cssColor } from '../theme';
import { byLabel, histogramIncrease, parseMetrics, quantile, ratesByLabel, total, type Metrics } from './prometheus';

const POLL_MS = 2000;
const STATS_EVERY = 5;
/** Readings kept for the chart: five minutes. */
const HISTORY = 150;
/** Latency is judged over the last minute of readings. */
const LATENCY_WINDOW = 30;

interface ServerStatus {
  version: string;
  uptime_s: number;
  ready: boolean;
  store: { backend: string; rows: number; bytes: number };
  query_index: Record<string, number>;
  queries: { running: number; queued: number; max_concurrent: number; queue_size: number };
  cache: { enabled: false } | { enabled: true; backend: string; hit_ratio: number | null; lookups: number; failure: string | null };
  alerts: { name: string; message: string }[];
  ingest: { queue_records: number; queue_bytes: number; spool_backlog_bytes: number };
  memory: Record<string, number>;
}

interface Readiness {
  status: string;
  checks: Record<string, { ok: boolean; detail: string }>;
}

interface DbStats {
  hot: { backend: string; rows: number; days: number; tenants: number; first_day: string | null; last_day: string | null; bytes: number; bytes_per_row: number | null };
  archive: { days: number; incomplete: number; records: number; tar_bytes: number; parquet_bytes: number; jsonl_bytes: number };
  cold: { days: number; records: number };
  files: { days: number; bytes: number };
}

interface Reading {
  at: number;
  metrics: Metrics;
}

/** /ready answers 503 with its checks when not ready: both are an answer here. */
async function readiness(signal: AbortSignal): Promise<Readiness> {
  const res = await fetch(apiUrl('/ready'), { signal });
  return (await res.json()) as Readiness;
}

export function ServerPage() {
  const creds = useStore(credentials);
  const [readings, setReadings] = useState<Reading[]>([]);
  const [status, setStatus] = useState<ServerStatus | null>(null);
  const [ready, setReady] = useState<Readiness | null>(null);
  const [stats, setStats] = useState<DbStats | null>(null);
  const [statsError, setStatsError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const tick = useRef(0);

  useEffect(() => {
    let abort = new AbortController();
    let timer = 0;
    const poll = async () => {
      abort = new AbortController();
      const signal = abort.signal;
      try {
        const withStats = tick.current++ % STATS_EVERY === 0;
        const [text, st, rd, db] = await Promise.all([
          getText('/metrics', {}, signal),
          getJson<ServerStatus>('/api/v1/status', {}, signal),
          readiness(signal),
          // The tiers are a panel of their own: their failure leaves the rest of the page.
          withStats
            ? getJson<DbStats>('/api/v1/db/stats', {}, signal).then(
                (d) => {
                  setStatsError(null);
                  return d;
                },
                (e: unknown) => {
                  if (!isAbort(e)) setStatsError(e);
                  return null;
                },
              )
            : Promise.resolve(null),
        ]);
        const reading = { at: performance.now(), metrics: parseMetrics(text) };
        setReadings((r) => [...r.slice(-(HISTORY - 1)), reading]);
        setStatus(st);
        setReady(rd);
        if (db !== null) setStats(db);
        setError(null);
      } catch (e) {
        if (isAbort(e)) return;
        setError(e);
      }
      timer = window.setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [creds]);

  const last = readings[readings.length - 1];
  const prev = readings[readings.length - 2];
  const dt = last !== undefined && prev !== undefined ? (last.at - prev.at) / 1000 : 0;
  const lineRates = last !== undefined && prev !== undefined ? ratesByLabel(prev.metrics, last.metrics, dt, 'loghaven_ingest_lines_total', 'protocol') : null;
  const byteRates = last !== undefined && prev !== undefined ? ratesByLabel(prev.metrics, last.metrics, dt, 'loghaven_ingest_bytes_total', 'protocol') : null;
  const totalRate = lineRates === null ? null : [...lineRates.values()].reduce((a, b) => a + b, 0);
  const protocols = last === undefined ? [] : [...byLabel(last.metrics, 'loghaven_ingest_lines_total', 'protocol').keys()].sort();

  return (
    <main class="server" data-testid="server-page">
      <ErrorMessage error={error} />
      {status !== null && (
        <section class="cards" aria-label="Server">
          <Stat name="version" label="Version" value={status.version} sub={`up ${seconds(status.uptime_s)}`} />
          <Stat name="ready" label="Readiness" value={ready?.status ?? (status.ready ? 'ready' : 'not ready')} tone={ready === null || ready.status === 'ready' ? 'ok' : ready.status === 'degraded' ? 'warn' : 'bad'} />
          <Stat name="ingest-rate" label="Ingest rate" value={totalRate === null ? 'measuring…' : `${rate(totalRate)} lines`} sub={byteRates === null ? '' : `${bytes([...byteRates.values()].reduce((a, b) => a + b, 0))}/s`} />
          <Stat name="rows" label="Rows stored" value={count(status.store.rows)} sub={`${status.store.backend}, ${bytes(status.store.bytes)}`} />
          <Stat name="memory" label="Resident memory" value={bytes(status.memory.rss_bytes)} sub={`heap ${bytes(status.memory.heap_used_bytes)}`} />
        </section>
      )}
      <Alerts status={status} ready={ready} />
      <IngestChart readings={readings} protocols={protocols} />
      {last !== undefined && status !== null && (
        <div class="grid-2">
          <section class="panel" data-testid="server-ingest">
            <h2>Ingest by protocol</h2>
            <table class="data">
              <thead>
                <tr>
                  <th>Protocol</th>
                  <th class="num">Lines/s</th>
                  <th class="num">Bytes/s</th>
                  <th class="num">Lines since start</th>
                  <th class="num">Rejected</th>
                  <th class="num">Refused requests</th>
                </tr>
              </thead>
              <tbody>
                {protocols.length === 0 && (
                  <tr>
                    <td colSpan={6} class="empty">
                      Nothing ingested since the server started.
                    </td>
                  </tr>
                )}
                {protocols.map((p) => (
                  <tr key={p}>
                    <td>{p}</td>
                    <td class="num">{rate(lineRates?.get(p) ?? null)}</td>
                    <td class="num">{byteRates === null ? '–' : `${bytes(byteRates.get(p) ?? 0)}/s`}</td>
                    <td class="num">{count(total(last.metrics, 'loghaven_ingest_lines_total', { protocol: p }))}</td>
                    <td class="num">{count(total(last.metrics, 'loghaven_ingest_rejected_total', { protocol: p }))}</td>
                    <td class="num">{count(total(last.metrics, 'loghaven_ingest_refused_requests_total', { protocol: p }))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section class="panel" data-testid="server-queues">
            <h2>Queues</h2>
            <dl class="facts">
              <dt>Ingest queue</dt>
              <dd>
                {count(status.ingest.queue_records)} records, {bytes(status.ingest.queue_bytes)}
              </dd>
              <dt>Spool backlog (acknowledged, not loaded)</dt>
              <dd data-testid="spool-backlog">{bytes(status.ingest.spool_backlog_bytes)}</dd>
              <dt>Queries running / waiting</dt>
              <dd>
                {count(status.queries.running)} of {count(status.queries.max_concurrent)} / {count(status.queries.queued)} of {count(status.queries.queue_size)}
              </dd>
              <dt>Index</dt>
              <dd>
                {count(status.query_index.indexed_segments)} of {count(status.query_index.segments)} segments indexed
                {status.query_index.pending_segments ? `, ${count(status.query_index.pending_segments)} pending` : ''}
              </dd>
              <dt>Live tails</dt>
              <dd>{count(total(last.metrics, 'loghaven_tail_subscribers'))}</dd>
            </dl>
          </section>
          <CachePanel status={status} readings={readings} />
          <LatencyPanel readings={readings} />
        </div>
      )}
      <StoragePanel stats={stats} error={statsError} />
    </main>
  );
}

function Alerts({ status, ready }: { status: ServerStatus | null; ready: Readiness | null }) {
  if (status === null) return null;
  const failing = ready === null ? [] : Object.entries(ready.checks).filter(([, c]) => !c.ok);
  return (
    <section class="panel" data-testid="server-alerts">
      <h2>Alerts</h2>
      {status.alerts.length === 0 && failing.length === 0 ? (
        <p class="ok">No alerts; every readiness check passes.</p>
      ) : (
        <ul class="alerts">
          {status.alerts.map((a) => (
            <li key={a.name} class="alert">
              <strong>{a.name}</strong> {a.message}
            </li>
          ))}
          {failing.map(([name, c]) => (
            <li key={name} class="alert">
              <strong>{name}</strong> {c.detail}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function IngestChart({ readings, protocols }: { readings: Reading[]; protocols: string[] }) {
  const data = useMemo<uPlot.AlignedData>(() => {
    const xs: number[] = [];
    const series = protocols.map(() => [] as number[]);
    const now = Date.now();
    const nowPerf = performance.now();
    for (let i = 1; i < readings.length; i++) {
      const a = readings[i - 1]!;
      const b = readings[i]!;
      const rates = ratesByLabel(a.metrics, b.metrics, (b.at - a.at) / 1000, 'loghaven_ingest_lines_total', 'protocol');
      xs.push((now - (nowPerf - b.at)) / 1000);
      protocols.forEach((p, k) => series[k]!.push(rates.get(p) ?? 0));
    }
    return [xs, ...series];
  }, [readings, protocols]);
  const key = protocols.join(',');
  const options = useMemo(
    () => (colors: ChartColors) => ({
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      // The last five minutes, however few readings there are yet.
      scales: {
        x: {
          time: true,
          range: (_u: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax => {
            const end = max ?? Date.now() / 1000;
            return [end - (HISTORY * POLL_MS) / 1000, end];
          },
        },
        y: { range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, Math.max(1, max * 1.1)] },
      },
      axes: axes(colors, { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => rate(t)) }),
      series: [{}, ...protocols.map((p, i) => ({ label: p, stroke: cssColor(`--series-${(i % 6) + 1}`), width: 2, points: { show: false } }))],
    }),
    [key],
  );
  return (
    <section class="panel" data-testid="server-ingest-chart">
      <h2>Ingest rate by protocol (lines/s, last 5 minutes)</h2>
      <Legend items={protocols.map((p, i) => ({ label: p, color: `--series-${(i % 6) + 1}` }))} />
      <Chart options={options} data={data} height={160} />
    </section>
  );
}

function CachePanel({ status, readings }: { status: ServerStatus; readings: Reading[] }) {
  const last = readings[readings.length - 1]!;
  const first = readings[Math.max(0, readings.length - 1 - LATENCY_WINDOW)]!;
  const results = (m: Metrics) => byLabel(m, 'loghaven_cache_requests_total', 'result');
  const now = results(last.metrics);
  const then = results(first.metrics);
  const recent = (k: string) => (now.get(k) ?? 0) - (first === last ? 0 : (then.get(k) ?? 0));
  const hits = recent('hit');
  const misses = recent('miss');
  return (
    <section class="panel" data-testid="server-cache">
      <h2>Response cache</h2>
      {!status.cache.enabled ? (
        <p class="empty">The response cache is off.</p>
      ) : (
        <dl class="facts">
          <dt>Hit ratio since start</dt>
          <dd data-testid="cache-hit-ratio">
            {percent(status.cache.hit_ratio)} of {count(status.cache.lookups)} lookups
          </dd>
          <dt>Hit ratio, last minute</dt>
          <dd>{hits + misses > 0 ? `${percent(hits / (hits + misses))} of ${count(hits + misses)}` : 'no lookups'}</dd>
          <dt>Backend</dt>
          <dd>
            {status.cache.backend}
            {status.cache.failure !== null && ` — failing: ${status.cache.failure}`}
          </dd>
          <dt>Held</dt>
          <dd>{bytes(total(last.metrics, 'loghaven_cache_bytes'))}</dd>
        </dl>
      )}
    </section>
  );
}

function LatencyPanel({ readings }: { readings: Reading[] }) {
  const last = readings[readings.length - 1]!;
  const first = readings.length > 1 ? readings[Math.max(0, readings.length - 1 - LATENCY_WINDOW)]! : null;
  const routes = [...byLabel(last.metrics, 'loghaven_query_duration_seconds_count', 'route').keys()].sort();
  return (
    <section class="panel" data-testid="server-latency">
      <h2>Query latency</h2>
      {routes.length === 0 ? (
        <p class="empty">No queries since the server started.</p>
      ) : (
        <table class="data">
          <thead>
            <tr>
              <th>Route</th>
              <th class="num">Queries (last minute)</th>
              <th class="num">avg</th>
              <th class="num">p50</th>
              <th class="num">p95</th>
              <th class="num">p99</th>
            </tr>
          </thead>
          <tbody>
            {routes.map((route) => {
              // The last minute when there were queries in it, else everything since the start.
              let h = histogramIncrease(first?.metrics ?? null, last.metrics, 'loghaven_query_duration_seconds', { route });
              let since = '';
              if (h.count <= 0) {
                h = histogramIncrease(null, last.metrics, 'loghaven_query_duration_seconds', { route });
                since = ' (since start)';
              }
              const ms = (v: number | null) => millis(v === null ? null : v * 1000);
              return (
                <tr key={route}>
                  <td>{route}</td>
                  <td class="num">
                    {count(h.count)}
                    {since}
                  </td>
                  <td class="num">{ms(h.count > 0 ? h.sum / h.count : null)}</td>
                  <td class="num">{ms(quantile(h, 0.5))}</td>
                  <td class="num">{ms(quantile(h, 0.95))}</td>
                  <td class="num">{ms(quantile(h, 0.99))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function StoragePanel({ stats, error }: { stats: DbStats | null; error: unknown }) {
  if (stats === null) return error === null ? null : <ErrorMessage error={error} />;
  const { hot, archive, cold, files } = stats;
  return (
    <section class="panel" data-testid="server-storage">
      <h2>Storage by tier</h2>
      <ErrorMessage error={error} />
      <table class="data">
        <thead>
          <tr>
            <th>Tier</th>
            <th class="num">Days</th>
            <th class="num">Records</th>
            <th class="num">Bytes</th>
            <th>Notes</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td>Hot ({hot.backend})</td>
            <td class="num">{count(hot.days)}</td>
            <td class="num">{count(hot.rows)}</td>
            <td class="num">{bytes(hot.bytes)}</td>
            <td>
              {hot.first_day !== null ? `${hot.first_day} → ${hot.last_day}` : 'empty'}
              {hot.bytes_per_row !== null && `, ${hot.bytes_per_row} bytes/row`}
            </td>
          </tr>
          <tr>
            <td>Archives</td>
            <td class="num">{count(archive.days)}</td>
            <td class="num">{count(archive.records)}</td>
            <td class="num">{bytes(archive.tar_bytes + archive.parquet_bytes)}</td>
            <td>
              tar.gz {bytes(archive.tar_bytes)}, Parquet {bytes(archive.parquet_bytes)}
              {archive.incomplete > 0 && `, ${count(archive.incomplete)} incomplete`}
            </td>
          </tr>
          <tr>
            <td>Cold (archives only)</td>
            <td class="num">{count(cold.days)}</td>
            <td class="num">{count(cold.records)}</td>
            <td class="num">–</td>
            <td>read from the archives' Parquet files</td>
          </tr>
          <tr>
            <td>Category files</td>
            <td class="num">{count(files.days)}</td>
            <td class="num">–</td>
            <td class="num">{bytes(files.bytes)}</td>
            <td>DATA/files/</td>
          </tr>
        </tbody>
      </table>
    </section>
  );
}
