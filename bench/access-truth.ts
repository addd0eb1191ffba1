// Ground truth for the access-analytics benchmark: every figure the API reports about a file of
// AWS ALB access-log lines, computed here from the text alone with a tokenizer of its own and
// nothing from src/, so that a mistake in the server is not repeated in the answer it is checked
// against. The definitions below are the API's contract.
//
//   node --import tsx bench/access-truth.ts FILE [--funnel /,/products,/cart] [--gap 30] [--ngram 3]

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';

export interface TruthOptions {
  /** Silence that ends a session, default 30. */
  gapMinutes?: number;
  /** URL patterns (or paths, normalised by the same rule) of a funnel. */
  funnel?: string[];
  /** Length of the page sequences counted in flows.paths, default 3. */
  ngram?: number;
}

export interface StatusClasses {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
}

/** Nearest-rank percentiles; null when there is nothing to rank. */
export interface Latency {
  min: number | null;
  avg: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface HourTruth {
  hour: string;
  requests: number;
  status_classes: StatusClasses;
  latency_ms: { p50: number | null; p90: number | null; p99: number | null };
  received_bytes: number;
  sent_bytes: number;
}

export interface UrlTruth {
  method: string;
  pattern: string;
  count: number;
  status_classes: StatusClasses;
  latency_ms: Latency;
  sent_bytes: number;
}

export interface ErrorTruth {
  status: number;
  error_reason: string | null;
  pattern: string | null;
  target: string | null;
  count: number;
}

export interface PatternCount {
  pattern: string;
  count: number;
}

export interface Spread {
  p50: number | null;
  p90: number | null;
  max: number | null;
}

export interface Truth {
  requests: number;
  rejected: number;
  status_classes: StatusClasses;
  received_bytes: number;
  sent_bytes: number;
  clients: number;
  latency_ms: Latency;
  hourly: HourTruth[];
  urls: UrlTruth[];
  errors: ErrorTruth[];
  sessions: { sessions: number; entry_pages: PatternCount[]; exit_pages: PatternCount[]; length: Spread; duration_s: Spread };
  flows: { transitions: { from: string; to: string; count: number; probability: number }[]; paths: { steps: string[]; count: number }[] };
  /** No steps when no funnel was asked for. */
  funnel: { steps: { pattern: string; sessions: number }[] };
}

// ---------------------------------------------------------------------------------------------
// Lines → fields.

/**
 * The fields of a line: bare runs of non-spaces, or `"…"` without its quotes. A quoted field ends
 * at a `"` followed by a space or the end of the line (a `"` inside a user agent does not end it).
 * Null when a quote is never closed: the line was cut off.
 */
function splitFields(line: string): string[] | null {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    if (line.charCodeAt(i) === 32) {
      i++;
      continue;
    }
    if (line.charCodeAt(i) === 34) {
      let j = i + 1;
      for (;;) {
        j = line.indexOf('"', j);
        if (j === -1) return null;
        if (j + 1 === n || line.charCodeAt(j + 1) === 32) break;
        j++;
      }
      out.push(line.slice(i + 1, j));
      i = j + 1;
    } else {
      let j = line.indexOf(' ', i);
      if (j === -1) j = n;
      out.push(line.slice(i, j));
      i = j;
    }
  }
  return out;
}

const TYPES = new Set(['http', 'https', 'h2', 'grpcs', 'ws', 'wss']);
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const INTEGER = /^-?\d+$/;
/** Fields up to and including the request line: fewer, and it is not an entry. */
const MIN_FIELDS = 13;

function isEntry(f: string[]): boolean {
  if (f.length < MIN_FIELDS || !TYPES.has(f[0]!) || !TIME.test(f[1]!)) return false;
  for (let k = 5; k <= 7; k++) if (f[k] !== '-' && !NUMBER.test(f[k]!)) return false;
  for (let k = 8; k <= 11; k++) if (f[k] !== '-' && !INTEGER.test(f[k]!)) return false;
  return true;
}

/** `ip:port` → ip, cut at the last colon (ALB writes IPv6 without brackets). */
function ipOf(hostPort: string): string {
  const colon = hostPort.lastIndexOf(':');
  return colon === -1 ? hostPort : hostPort.slice(0, colon);
}

/** The request line's method and path, or null when it has none (`- - -`). */
function methodAndPath(request: string): { method: string; path: string } | null {
  const first = request.indexOf(' ');
  if (first <= 0) return null;
  // METHOD URL PROTOCOL: the URL is what lies between the first and the last space, so it may hold
  // spaces itself. With a single space there is no protocol and the URL runs to the end.
  const last = request.lastIndexOf(' ');
  const method = request.slice(0, first);
  const url = last === first ? request.slice(first + 1) : request.slice(first + 1, last);
  if (method === '-' || url === '-' || url === '') return null;
  return { method, path: pathOf(url) };
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** The URL without scheme://host[:port] and without ?query. */
function pathOf(url: string): string {
  let rest = url;
  const scheme = SCHEME.exec(rest);
  if (scheme !== null) {
    rest = rest.slice(scheme[0].length);
    const cut = rest.search(/[/?]/);
    rest = cut === -1 ? '' : rest.slice(cut);
  }
  const q = rest.indexOf('?');
  return q === -1 ? rest : rest.slice(0, q);
}

// ---------------------------------------------------------------------------------------------
// Paths → patterns.

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HEX = /^[0-9a-fA-F]{8,}$/;
const TOKEN = /^[A-Za-z0-9_=-]{8,}$/;

/** Whether a path segment is an identifier: replaced by `{id}` in patterns. */
function isId(seg: string): boolean {
  let digits = 0;
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  // Every kind of id but a UUID has a digit, so most words are settled here.
  if (digits === 0) return seg.length === 36 && UUID.test(seg);
  if (digits === seg.length || UUID.test(seg) || HEX.test(seg)) return true;
  return TOKEN.test(seg) && (digits >= 2 || (/[a-z]/.test(seg) && /[A-Z]/.test(seg)));
}

/** The path with each identifier segment replaced by `{id}`; `/` for an empty path. */
function patternOf(path: string): string {
  if (path === '' || path === '/') return '/';
  let out = '';
  for (let from = 0; ; ) {
    const slash = path.indexOf('/', from);
    const seg = slash === -1 ? path.slice(from) : path.slice(from, slash);
    out += seg !== '' && isId(seg) ? '{id}' : seg;
    if (slash === -1) return out;
    out += '/';
    from = slash + 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Accumulators.

/** A growing array of doubles: a line's latency costs 8 bytes, not an array slot and a boxed number. */
class Doubles {
  private buf = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  get(i: number): number {
    return this.buf[i]!;
  }
  sorted(): Float64Array {
    return this.buf.slice(0, this.length).sort();
  }
}

class Ints {
  private buf = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  get(i: number): number {
    return this.buf[i]!;
  }
}

/** Nearest rank: the value at index ceil(q·n) − 1 of the ascending values (q in percent, so the rank is exact). */
function rank(sorted: ArrayLike<number>, percent: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  return sorted[Math.max(0, Math.ceil((percent * n) / 100) - 1)]!;
}

function latencyOf(values: Doubles): Latency {
  const s = values.sorted();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i]!;
  const n = s.length;
  return { min: n ? s[0]! : null, avg: n ? sum / n : null, p50: rank(s, 50), p90: rank(s, 90), p95: rank(s, 95), p99: rank(s, 99), max: n ? s[n - 1]! : null };
}

function spreadOf(values: Doubles): Spread {
  const s = values.sorted();
  return { p50: rank(s, 50), p90: rank(s, 90), max: s.length ? s[s.length - 1]! : null };
}

const classes = (): StatusClasses => ({ '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 });
const CLASS_OF = [null, null, '2xx', '3xx', '4xx', '5xx'] as const;

function countClass(into: StatusClasses, status: number): void {
  const c = CLASS_OF[Math.floor(status / 100)];
  if (c) into[c]++;
}

interface HourAcc {
  requests: number;
  classes: StatusClasses;
  latency: Doubles;
  received: number;
  sent: number;
}

interface UrlAcc {
  method: string;
  pattern: string;
  count: number;
  classes: StatusClasses;
  latency: Doubles;
  sent: number;
}

const MICROS_PER_HOUR = 3_600_000_000;

/** The fold over lines: `add` each, then `finish`. */
class TruthBuilder {
  private requests = 0;
  private rejected = 0;
  private readonly classes = classes();
  private received = 0;
  private sent = 0;
  private readonly clients = new Set<string>();
  private readonly latency = new Doubles();
  private readonly hours = new Map<number, HourAcc>();
  /** method → pattern → figures */
  private readonly urls = new Map<string, Map<string, UrlAcc>>();
  private readonly errors = new Map<string, ErrorTruth>();
  // Sessions: per line with a pattern, its client key, time and pattern, as indices into these.
  private readonly keyIds = new Map<string, number>();
  private readonly patternIds = new Map<string, number>();
  private readonly patterns: string[] = [];
  private readonly lineKey = new Ints();
  private readonly lineTime = new Doubles();
  private readonly linePattern = new Ints();
  // The epoch µs of the last second parsed: timestamps of neighbouring lines share it.
  private lastSecond = '';
  private lastSecondUs = 0;

  add(line: string): void {
    if (line.trim() === '') return; // a blank line (as after the file's last newline) is no entry
    const f = splitFields(line);
    if (f === null || !isEntry(f)) {
      this.rejected++;
      return;
    }
    this.requests++;
    const time = this.micros(f[1]!);
    const status = f[8] === '-' ? null : Number(f[8]);
    const received = f[10] === '-' ? 0 : Number(f[10]);
    const sent = f[11] === '-' ? 0 : Number(f[11]);
    if (status !== null) countClass(this.classes, status);
    this.received += received;
    this.sent += sent;
    const ip = ipOf(f[3]!);
    if (ip !== '-' && !this.clients.has(ip)) this.clients.add(own(ip));

    // Latency only where ALB measured all three parts (-1: it could not dispatch, or no answer).
    // The decimal sum, rounded to the microsecond: 0.001 + 0.048 + 0.037 is 86 ms, not 85.99999999999999.
    const a = f[5]!;
    const b = f[6]!;
    const c = f[7]!;
    let ms: number | null = null;
    if (a !== '-' && b !== '-' && c !== '-' && a[0] !== '-' && b[0] !== '-' && c[0] !== '-') {
      ms = Math.round((Number(a) + Number(b) + Number(c)) * 1e6) / 1e3;
      this.latency.push(ms);
    }

    const hourKey = Math.floor(time / MICROS_PER_HOUR);
    let hour = this.hours.get(hourKey);
    if (hour === undefined) this.hours.set(hourKey, (hour = { requests: 0, classes: classes(), latency: new Doubles(), received: 0, sent: 0 }));
    hour.requests++;
    if (status !== null) countClass(hour.classes, status);
    if (ms !== null) hour.latency.push(ms);
    hour.received += received;
    hour.sent += sent;

    const req = methodAndPath(f[12]!);
    const pattern = req === null ? null : patternOf(req.path);
    if (req !== null && pattern !== null) {
      let byPattern = this.urls.get(req.method);
      if (byPattern === undefined) this.urls.set(own(req.method), (byPattern = new Map()));
      let url = byPattern.get(pattern);
      if (url === undefined) byPattern.set(own(pattern), (url = { method: own(req.method), pattern: own(pattern), count: 0, classes: classes(), latency: new Doubles(), sent: 0 }));
      url.count++;
      if (status !== null) countClass(url.classes, status);
      if (ms !== null) url.latency.push(ms);
      url.sent += sent;

      // The client: its connection when logged, else its address and user agent.
      const conn = f[29];
      const clientKey = conn !== undefined && conn !== '-' ? conn : `${ip}\u0000${f[13] ?? ''}`;
      let k = this.keyIds.get(clientKey);
      if (k === undefined) this.keyIds.set(own(clientKey), (k = this.keyIds.size));
      let p = this.patternIds.get(pattern);
      if (p === undefined) {
        const copy = own(pattern);
        this.patternIds.set(copy, (p = this.patterns.length));
        this.patterns.push(copy);
      }
      this.lineKey.push(k);
      this.lineTime.push(time);
      this.linePattern.push(p);
    }

    if (status !== null && status >= 400) {
      const reason = f[24] === undefined || f[24] === '-' ? null : f[24];
      const target = f[4] === '-' ? null : f[4]!;
      const key = JSON.stringify([status, reason, pattern, target]);

      const e = this.errors.get(key);
      if (e === undefined) this.errors.set(key, { status, error_reason: reason === null ? null : own(reason), pattern: pattern === null ? null : own(pattern), target: target === null ? null : own(target), count: 1 });
      else e.count++;
    }
  }

  /** µs since the epoch of an ISO 8601 UTC time (fractions past the microsecond are dropped). */
  private micros(iso: string): number {
    const second = iso.slice(0, 19);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.lastSecondUs = Date.parse(`${second}Z`) * 1000;
    }
    const frac = iso.length > 20 ? iso.slice(20, -1) : '';
    return this.lastSecondUs + (frac === '' ? 0 : Number(frac.slice(0, 6).padEnd(6, '0')));
  }

  finish(opts: TruthOptions = {}): Truth {
    const hourly = [...this.hours.entries()]
      .sort((x, y) => x[0] - y[0])
      .map(([h, acc]): HourTruth => {
        const s = acc.latency.sorted();
        return {
          hour: new Date(h * (MICROS_PER_HOUR / 1000)).toISOString(),
          requests: acc.requests,
          status_classes: acc.classes,
          latency_ms: { p50: rank(s, 50), p90: rank(s, 90), p99: rank(s, 99) },
          received_bytes: acc.received,
          sent_bytes: acc.sent,
        };
      });
    const urls = [...this.urls.values()]
      .flatMap((byPattern) => [...byPattern.values()])
      .sort((x, y) => y.count - x.count || cmp(x.method, y.method) || cmp(x.pattern, y.pattern))
      .map((u): UrlTruth => ({ method: u.method, pattern: u.pattern, count: u.count, status_classes: u.classes, latency_ms: latencyOf(u.latency), sent_bytes: u.sent }));
    const errors = [...this.errors.values()].sort(
      (x, y) => y.count - x.count || x.status - y.status || cmp(x.error_reason ?? '', y.error_reason ?? '') || cmp(x.pattern ?? '', y.pattern ?? '') || cmp(x.target ?? '', y.target ?? ''),
    );
    const { sessions, flows, funnel } = this.sessions(opts);
    return {
      requests: this.requests,
      rejected: this.rejected,
      status_classes: this.classes,
      received_bytes: this.received,
      sent_bytes: this.sent,
      clients: this.clients.size,
      latency_ms: latencyOf(this.latency),
      hourly,
      urls,
      errors,
      sessions,
      flows,
      funnel,
    };
  }

  /** Sessions, flows and the funnel: each client's lines in time order, cut where it was silent too long. */
  private sessions(opts: TruthOptions): Pick<Truth, 'sessions' | 'flows' | 'funnel'> {
    const gapUs = (opts.gapMinutes ?? 30) * 60_000_000;
    const n = opts.ngram ?? 3;
    const P = this.patterns.length;
    const lines = this.lineKey.length;

    // Group the lines by client key (a counting sort keeps file order within a key).
    const keys = this.keyIds.size;
    const start = new Int32Array(keys + 1);
    for (let i = 0; i < lines; i++) start[this.lineKey.get(i) + 1]!++;
    for (let k = 0; k < keys; k++) start[k + 1]! += start[k]!;
    const fill = start.slice(0, keys);
    const order = new Int32Array(lines);
    for (let i = 0; i < lines; i++) order[fill[this.lineKey.get(i)]!++] = i;

    const lengths = new Doubles();
    const durations = new Doubles();
    const entries = new Float64Array(P);
    const exits = new Float64Array(P);
    const transitions = new Map<number, number>();
    const outOf = new Float64Array(P);
    const grams = new Map<string, number>();
    const steps = (opts.funnel ?? []).map((s) => patternOf(pathOf(s)));
    const stepIds = steps.map((s) => this.patternIds.get(s) ?? -1);
    const reached = new Float64Array(steps.length);

    const session = (ids: Int32Array, from: number, to: number) => {
      const first = this.linePattern.get(ids[from]!);
      const last = this.linePattern.get(ids[to - 1]!);
      lengths.push(to - from);
      durations.push((this.lineTime.get(ids[to - 1]!) - this.lineTime.get(ids[from]!)) / 1e6);
      entries[first]!++;
      exits[last]!++;
      let step = 0;
      for (let i = from; i < to; i++) {
        const p = this.linePattern.get(ids[i]!);
        if (step < stepIds.length && p === stepIds[step]) step++;
        if (i > from) {
          const q = this.linePattern.get(ids[i - 1]!);
          transitions.set(q * P + p, (transitions.get(q * P + p) ?? 0) + 1);
          outOf[q]!++;
        }
        if (i - from + 1 >= n) {
          let key = '';
          for (let j = i - n + 1; j <= i; j++) key += `${this.linePattern.get(ids[j]!)},`;
          grams.set(key, (grams.get(key) ?? 0) + 1);
        }
      }
      for (let s = 0; s < step; s++) reached[s]!++;
    };

    for (let k = 0; k < keys; k++) {
      let ids = order.subarray(start[k]!, start[k + 1]!);
      // Lines of a key are usually in time order already; sort (stably) only those that are not.
      let inOrder = true;
      for (let i = 1; i < ids.length && inOrder; i++) inOrder = this.lineTime.get(ids[i - 1]!) <= this.lineTime.get(ids[i]!);
      if (!inOrder) ids = Int32Array.from([...ids].sort((x, y) => this.lineTime.get(x) - this.lineTime.get(y) || x - y));
      let from = 0;
      for (let i = 1; i < ids.length; i++) {
        if (this.lineTime.get(ids[i]!) - this.lineTime.get(ids[i - 1]!) > gapUs) {
          session(ids, from, i);
          from = i;
        }
      }
      if (ids.length > 0) session(ids, from, ids.length);
    }

    const pageCounts = (counts: Float64Array): PatternCount[] =>
      [...counts]
        .map((count, p) => ({ pattern: this.patterns[p]!, count }))
        .filter((e) => e.count > 0)
        .sort((x, y) => y.count - x.count || cmp(x.pattern, y.pattern));
    return {
      sessions: { sessions: lengths.length, entry_pages: pageCounts(entries), exit_pages: pageCounts(exits), length: spreadOf(lengths), duration_s: spreadOf(durations) },
      flows: {
        transitions: [...transitions.entries()]
          .map(([key, count]) => {
            const from = Math.floor(key / P);
            return { from: this.patterns[from]!, to: this.patterns[key % P]!, count, probability: count / outOf[from]! };
          })
          .sort((x, y) => y.count - x.count || cmp(x.from, y.from) || cmp(x.to, y.to)),
        paths: [...grams.entries()]
          .map(([key, count]) => ({ steps: key.slice(0, -1).split(',').map((p) => this.patterns[Number(p)]!), count }))
          .sort((x, y) => y.count - x.count || cmp(x.steps.join('\u0000'), y.steps.join('\u0000'))),
      },
      funnel: { steps: steps.map((pattern, i) => ({ pattern, sessions: reached[i]! })) },
    };
  }
}

/**
 * A copy of `s` for keeping. A string cut from a line may be a view into the whole chunk of the
 * file the line came from, and keeping it (as a map key) would keep that megabyte alive.
 */
function own(s: string): string {
  return Buffer.from(s).toString();
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function groundTruth(lines: Iterable<string>, opts?: TruthOptions): Truth {
  const t = new TruthBuilder();
  for (const line of lines) t.add(line.endsWith('\r') ? line.slice(0, -1) : line);
  return t.finish(opts);
}

/** The truth of a file, plain or gzip (told by its first bytes), read as a stream. */
export async function groundTruthOfFile(path: string, opts?: TruthOptions): Promise<Truth> {
  const head = Buffer.alloc(2);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream: Readable = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  const t = new TruthBuilder();
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + decoder.write(chunk as Buffer);
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      t.add(text.charCodeAt(nl - 1) === 13 ? text.slice(from, nl - 1) : text.slice(from, nl));
      from = nl + 1;
    }
    rest = text.slice(from);
  }
  rest += decoder.end();
  t.add(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
  return t.finish(opts);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { funnel: { type: 'string' }, gap: { type: 'string', default: '30' }, ngram: { type: 'string', default: '3' } },
  });
  if (positionals.length !== 1) throw new Error('usage: access-truth.ts FILE [--funnel /a,/b] [--gap MINUTES] [--ngram N]');
  const truth = await groundTruthOfFile(positionals[0]!, { funnel: values.funnel?.split(','), gapMinutes: Number(values.gap), ngram: Number(values.ngram) });
  console.log(JSON.stringify(truth, null, 1));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
