// Volume over time, stacked by level: one histogram request with by=level (one scan of the
// matches), its per-level counts added up into groups (error and fatal, warn, info, debug and
// trace, no level). Dragging across the chart zooms the time range to the selection.

import uPlot from 'uplot';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, getJson, isAbort } from '../api';
import { Chart, axes, type ChartColors } from '../components/Chart';
import { ErrorMessage } from '../components/ErrorMessage';
import { count } from '../format';
import { cssColor } from '../theme';
import { isoOf, resolveTime, stepFor, type TimeRange } from '../time';
import type { HistogramAnswer, SearchAnswer } from '../types';

const GROUPS = [
  { label: 'error', levels: ['error', 'fatal'], color: '--level-error' },
  { label: 'warn', levels: ['warn'], color: '--level-warn' },
  { label: 'info', levels: ['info'], color: '--level-info' },
  { label: 'debug', levels: ['debug', 'trace'], color: '--level-debug' },
  { label: 'no level', levels: ['none'], color: '--level-none' },
] as const;

/** A level as the answer names it (`none`: no level) → its group's place in GROUPS. */
const GROUP_OF = new Map<string, number>(GROUPS.flatMap((g, i) => g.levels.map((l) => [l, i] as const)));

interface Volume {
  /** Bucket starts, seconds (uPlot's time unit). */
  xs: number[];
  /** Per group, the count of each bucket. */
  counts: number[][];
  total: number;
}

/** The bounds to chart: the range itself, or for an open end the oldest or newest match. */
async function bounds(q: string, range: TimeRange, signal: AbortSignal): Promise<[number, number] | null> {
  let from = resolveTime(range.from);
  let to = resolveTime(range.to);
  const edge = async (order: 'asc' | 'desc') => {
    const a = await getJson<SearchAnswer>('/api/v1/logs', { q, from: range.from, to: range.to, order, limit: 1 }, signal);
    const ts = a.items[0]?.ts;
    return ts === undefined ? null : Date.parse(ts);
  };
  if (from === null) from = await edge('asc');
  if (to === null) {
    const newest = await edge('desc');
    to = newest === null ? null : newest + 1;
  }
  if (from === null || to === null) return null;
  return [from, Math.max(to, from + 1000)];
}

export function Histogram({ q, range, run, onZoom }: { q: string; range: TimeRange; run: number; onZoom: (r: TimeRange) => void }) {
  const [volume, setVolume] = useState<Volume | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    setError(null);
    (async () => {
      const span = await bounds(q, range, abort.signal);
      if (span === null) return { xs: [], counts: GROUPS.map(() => []), total: 0 };
      const step = stepFor(span[1] - span[0]);
      // Bucket-aligned bounds: the answer's buckets are the chart's.
      const from = Math.floor(span[0] / step) * step;
      const to = Math.ceil(span[1] / step) * step;
      const answer = await getJson<HistogramAnswer>('/api/v1/logs/histogram', { q, from: isoOf(from), to: isoOf(to), step: `${step / 1000}s`, by: 'level' }, abort.signal);
      const xs: number[] = [];
      for (let t = from; t < to; t += step) xs.push(t / 1000);
      const index = new Map(xs.map((x, i) => [x, i]));
      let total = 0;
      const counts = GROUPS.map(() => new Array<number>(xs.length).fill(0));
      for (const b of answer.buckets) {
        const i = index.get(Math.round(Date.parse(b.ts) / 1000));
        total += b.count;
        if (i === undefined) continue;
        for (const [level, n] of Object.entries(b.levels ?? {})) counts[GROUP_OF.get(level) ?? GROUPS.length - 1]![i]! += n;
      }
      return { xs, counts, total };
    })()
      .then((v) => setVolume(v))
      .catch((e: unknown) => {
        if (isAbort(e)) return;
        setVolume(null);
        // The search beside it reports a bad query or a missing key already; anything else is the histogram's own.
        if (!(e instanceof ApiError && (e.status === 400 || e.status === 401 || e.status === 403))) setError(e);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
  }, [q, range.from, range.to, run]);

  const options = useMemo(
    () => (colors: ChartColors) => histogramOptions(colors, (fromMs, toMs) => onZoom({ from: isoOf(fromMs), to: isoOf(toMs) })),
    [onZoom],
  );

  const data = useMemo<uPlot.AlignedData>(() => {
    if (volume === null) return [[], ...GROUPS.map(() => [])];
    // Stacked: each group drawn at the sum of itself and the groups below it, the tallest first.
    const stacked: number[][] = [];
    let acc = new Array<number>(volume.xs.length).fill(0);
    for (const row of volume.counts) {
      acc = acc.map((v, i) => v + row[i]!);
      stacked.push(acc);
    }
    return [volume.xs, ...stacked.reverse()];
  }, [volume]);

  return (
    <section class="histogram" data-testid="histogram" aria-busy={loading}>
      <header>
        <span class="total" data-testid="histogram-total">
          {volume === null ? (loading ? 'Counting…' : '') : `${count(volume.total)} ${volume.total === 1 ? 'record' : 'records'}`}
        </span>
        <span class="legend">
          {GROUPS.map((g, i) => (
            <span key={g.label} class="legend-item">
              <i style={{ background: `var(${g.color})` }} />
              {g.label}
              {volume !== null && ` ${count(volume.counts[i]!.reduce((a, b) => a + b, 0))}`}
            </span>
          ))}
        </span>
        <span class="hint">drag to zoom</span>
      </header>
      <ErrorMessage error={error} />
      <Chart options={options} data={data} height={110} />
    </section>
  );
}

function histogramOptions(colors: ChartColors, zoom: (fromMs: number, toMs: number) => void): Omit<uPlot.Options, 'width' | 'height'> {
  const bars = uPlot.paths.bars!({ size: [0.9, 40], align: 1 });
  // Series are drawn tallest stack first (no level at the top), so each shorter one shows over it.
  const ordered = [...GROUPS].reverse();
  return {
    legend: { show: false },
    padding: [6, 8, 0, 0],
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: axes(colors, { size: 48, values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? count(t) : '')) }),
    series: [
      {},
      ...ordered.map((g) => ({ label: g.label, fill: cssColor(g.color), stroke: cssColor(g.color), width: 0, paths: bars, points: { show: false } })),
    ],
    hooks: {
      setSelect: [
        (u: uPlot) => {
          if (u.select.width < 3) return;
          const from = u.posToVal(u.select.left, 'x') * 1000;
          const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          if (to - from >= 1) zoom(Math.floor(from), Math.ceil(to));
        },
      ],
    },
  };
}
