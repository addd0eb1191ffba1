// Reading /metrics (the Prometheus text format) and the figures the server page derives from
// two readings: counter rates, and quantiles of a histogram's increase, interpolated within
// buckets as Prometheus' histogram_quantile does.

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export type Metrics = Map<string, Sample[]>;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Metrics {
  const out: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    if (m[2] !== undefined) {
      for (const l of m[2].matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    let list = out.get(m[1]!);
    if (list === undefined) out.set(m[1]!, (list = []));
    list.push({ labels, value });
  }
  return out;
}

type LabelFilter = Record<string, string>;

function matches(s: Sample, filter: LabelFilter): boolean {
  for (const [k, v] of Object.entries(filter)) if (s.labels[k] !== v) return false;
  return true;
}

/** The sum of a metric's samples (those with the given labels). */
export function total(m: Metrics, name: string, filter: LabelFilter = {}): number {
  let n = 0;
  for (const s of m.get(name) ?? []) if (matches(s, filter)) n += s.value;
  return n;
}

/** A metric summed by the values of one label. */
export function byLabel(m: Metrics, name: string, label: string, filter: LabelFilter = {}): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of m.get(name) ?? []) {
    if (!matches(s, filter)) continue;
    const key = s.labels[label] ?? '';
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** Per second between two readings, by label; a counter that went back (a restart) counts from zero. */
export function ratesByLabel(before: Metrics, after: Metrics, seconds: number, name: string, label: string): Map<string, number> {
  const a = byLabel(before, name, label);
  const out = new Map<string, number>();
  for (const [k, v] of byLabel(after, name, label)) {
    const prev = a.get(k) ?? 0;
    out.set(k, (v >= prev ? v - prev : v) / seconds);
  }
  return out;
}

export interface HistogramIncrease {
  count: number;
  sum: number;
  /** Cumulative counts by upper bound, ascending. */
  buckets: [number, number][];
}

/** What a histogram gained between two readings (before null: since the server started). */
export function histogramIncrease(before: Metrics | null, after: Metrics, name: string, filter: LabelFilter = {}): HistogramIncrease {
  const delta = (metric: string, f: LabelFilter) => total(after, metric, f) - (before === null ? 0 : total(before, metric, f));
  const bounds = new Set<string>();
  for (const s of after.get(`${name}_bucket`) ?? []) if (matches(s, filter) && s.labels.le !== undefined) bounds.add(s.labels.le);
  const buckets = [...bounds]
    .map((le): [number, number] => [le === '+Inf' ? Infinity : Number(le), delta(`${name}_bucket`, { ...filter, le })])
    .sort((x, y) => x[0] - y[0]);
  return { count: delta(`${name}_count`, filter), sum: delta(`${name}_sum`, filter), buckets };
}

/** The q-quantile of a histogram's observations, linear within its bucket; null without any. */
export function quantile(h: HistogramIncrease, q: number): number | null {
  const n = h.buckets.length > 0 ? h.buckets[h.buckets.length - 1]![1] : 0;
  if (n <= 0) return null;
  const rank = q * n;
  let lower = 0;
  let below = 0;
  for (const [upper, cumulative] of h.buckets) {
    if (cumulative >= rank) {
      // Past the last finite bound nothing is known but that it is above it.
      if (upper === Infinity) return lower;
      const inBucket = cumulative - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    lower = upper;
    below = cumulative;
  }
  return lower;
}
