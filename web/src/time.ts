// Time ranges as the API takes them (`now-1h`, RFC 3339, Unix times; empty for unbounded) and as
// people read them, plus the histogram step for a range. The server resolves `now` itself, so
// relative ranges are sent as written; they are resolved here only to size and label charts.

export interface TimeRange {
  from: string;
  to: string;
}

export interface Preset {
  label: string;
  from: string;
  to: string;
  key: string;
}

export const PRESETS: Preset[] = [
  { label: 'Last 5 minutes', from: 'now-5m', to: 'now', key: '1' },
  { label: 'Last 15 minutes', from: 'now-15m', to: 'now', key: '2' },
  { label: 'Last 1 hour', from: 'now-1h', to: 'now', key: '3' },
  { label: 'Last 6 hours', from: 'now-6h', to: 'now', key: '4' },
  { label: 'Last 24 hours', from: 'now-24h', to: 'now', key: '5' },
  { label: 'Last 7 days', from: 'now-7d', to: 'now', key: '6' },
  { label: 'Last 30 days', from: 'now-30d', to: 'now', key: '7' },
  { label: 'All time', from: '', to: '', key: '0' },
];

export const DEFAULT_RANGE: TimeRange = { from: 'now-1h', to: 'now' };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const RELATIVE = /^now(?:([+-])(\d{1,9})(ms|s|m|h|d|w))?$/;

/** Milliseconds since the epoch of a time the API accepts; null when empty or unreadable. */
export function resolveTime(text: string, now = Date.now()): number | null {
  const s = text.trim();
  if (s === '') return null;
  const rel = RELATIVE.exec(s);
  if (rel !== null) {
    if (rel[1] === undefined) return now;
    const delta = Number(rel[2]) * UNIT_MS[rel[3]!]!;
    return rel[1] === '-' ? now - delta : now + delta;
  }
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    // Unix time in s, ms, µs or ns, told apart by magnitude as the server does.
    const n = Number(s);
    const abs = Math.abs(n);
    if (abs < 1e11) return n * 1000;
    if (abs < 1e14) return n;
    if (abs < 1e17) return n / 1000;
    return n / 1e6;
  }
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
}

function isRelative(text: string): boolean {
  return RELATIVE.test(text.trim());
}

export function rangeLabel(r: TimeRange): string {
  const preset = PRESETS.find((p) => p.from === r.from && p.to === r.to);
  if (preset !== undefined) return preset.label;
  const side = (t: string, open: string) => (t === '' ? open : isRelative(t) ? t : formatTimestamp(resolveTime(t)));
  return `${side(r.from, 'the beginning')} → ${side(r.to, 'now')}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local time to the millisecond, the way log viewers show it: 2026-11-24 10:00:00.123. */
export function formatTimestamp(ms: number | null): string {
  if (ms === null) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** An instant for the URL and the API: RFC 3339 in UTC, to the millisecond. */
export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** Round steps (seconds), as the server's own choice; about `buckets` of them over the span. */
const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000];

export function stepFor(spanMs: number, buckets = 100): number {
  const s = STEPS_S.find((step) => spanMs / (step * 1000) <= buckets) ?? STEPS_S[STEPS_S.length - 1]!;
  return s * 1000;
}
