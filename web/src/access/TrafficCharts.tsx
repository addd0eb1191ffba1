// Requests by status class and latency percentiles over time, from the hourly aggregates. The
// hours with traffic can be months apart (an import of old logs), so requests are put into
// even buckets (an hour, or a day or a week over long spans) with the empty ones shown as zero;
// percentiles cannot be merged, so latency stays per hour, as points where there was traffic.

import uPlot from 'uplot';
import { useMemo } from 'preact/hooks';
import { Chart, Legend, axes, type ChartColors } from '../components/Chart';
import { count, millis } from '../format';
import { cssColor } from '../theme';
import type { AccessHour } from '../types';

const CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
const HOUR = 3600;
/** Most buckets drawn; a longer span takes days, then weeks. */
const MAX_BUCKETS = 400;

function bucketSeconds(spanS: number): number {
  for (const b of [HOUR, 6 * HOUR, 24 * HOUR, 7 * 24 * HOUR]) if (spanS / b <= MAX_BUCKETS) return b;
  return 30 * 24 * HOUR;
}

export function TrafficCharts({ hours }: { hours: AccessHour[] }) {
  const traffic = useMemo<uPlot.AlignedData>(() => {
    if (hours.length === 0) return [[], ...CLASSES.map(() => [])];
    const times = hours.map((h) => Date.parse(h.hour) / 1000);
    const first = Math.min(...times);
    const last = Math.max(...times);
    const size = bucketSeconds(last - first + HOUR);
    const start = Math.floor(first / size) * size;
    const n = Math.floor((last - start) / size) + 1;
    const xs = Array.from({ length: n }, (_, i) => start + i * size);
    const rows = CLASSES.map(() => new Array<number>(n).fill(0));
    hours.forEach((h, i) => {
      const b = Math.floor((times[i]! - start) / size);
      CLASSES.forEach((c, k) => (rows[k]![b]! += h.status_classes[c]));
    });
    // Stacked, the tallest (all classes) drawn first.
    const stacked: number[][] = [];
    let acc = new Array<number>(n).fill(0);
    for (const row of rows) {
      acc = acc.map((v, i) => v + row[i]!);
      stacked.push(acc);
    }
    return [xs, ...stacked.reverse()];
  }, [hours]);

  const latency = useMemo<uPlot.AlignedData>(() => {
    const sorted = [...hours].sort((a, b) => Date.parse(a.hour) - Date.parse(b.hour));
    const xs: number[] = [];
    const p: (number | null)[][] = [[], [], []];
    for (const h of sorted) {
      const x = Date.parse(h.hour) / 1000;
      // An hour without traffic breaks the line rather than joining its neighbours.
      const prev = xs[xs.length - 1];
      if (prev !== undefined && x - prev > HOUR) {
        xs.push(prev + HOUR);
        p.forEach((s) => s.push(null));
      }
      xs.push(x);
      p[0]!.push(h.latency_ms.p50);
      p[1]!.push(h.latency_ms.p90);
      p[2]!.push(h.latency_ms.p99);
    }
    return [xs, ...p];
  }, [hours]);

  // Both charts cover the same span, so they read side by side.
  const span = useMemo<[number, number] | null>(() => {
    const xs = traffic[0] as number[];
    if (xs.length === 0) return null;
    const step = xs.length > 1 ? xs[1]! - xs[0]! : HOUR;
    return [xs[0]!, xs[xs.length - 1]! + step];
  }, [traffic]);

  const trafficOptions = useMemo(() => (colors: ChartColors) => trafficChart(colors, span), [span]);
  const latencyOptions = useMemo(() => (colors: ChartColors) => latencyChart(colors, span), [span]);

  return (
    <div class="chart-row">
      <section class="panel" data-testid="access-traffic">
        <h2>Requests by status class</h2>
        <Legend items={CLASSES.map((c) => ({ label: c, color: `--status-${c}` }))} />
        <Chart options={trafficOptions} data={traffic} height={180} />
      </section>
      <section class="panel" data-testid="access-latency">
        <h2>Latency percentiles (per hour)</h2>
        <Legend
          items={[
            { label: 'p50', color: '--series-1' },
            { label: 'p90', color: '--series-2' },
            { label: 'p99', color: '--series-3' },
          ]}
        />
        <Chart options={latencyOptions} data={latency} height={180} />
      </section>
    </div>
  );
}

function trafficChart(colors: ChartColors, span: [number, number] | null): Omit<uPlot.Options, 'width' | 'height'> {
  const bars = uPlot.paths.bars!({ size: [0.9, 60], align: 1 });
  return {
    legend: { show: false },
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    scales: { x: { time: true, ...(span ? { range: () => span } : {}) }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: axes(colors, { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? count(t) : '')) }),
    series: [{}, ...[...CLASSES].reverse().map((c) => ({ label: c, fill: cssColor(`--status-${c}`), stroke: cssColor(`--status-${c}`), width: 0, paths: bars, points: { show: false } }))],
  };
}

function latencyChart(colors: ChartColors, span: [number, number] | null): Omit<uPlot.Options, 'width' | 'height'> {
  const line = (label: string, color: string) => ({ label, stroke: cssColor(color), width: 2, points: { show: true, size: 4 }, spanGaps: false });
  return {
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, ...(span ? { range: () => span } : {}) }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: axes(colors, { size: 64, values: (_u, ticks) => ticks.map((t) => millis(t)) }),
    series: [{}, line('p50', '--series-1'), line('p90', '--series-2'), line('p99', '--series-3')],
  };
}
