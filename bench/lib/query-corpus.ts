// The records of the query benchmark: an application fleet's logs over three days — ~50 services
// of Zipf-like popularity on ~200 hosts, a level mix dominated by info, messages drawn from a
// 3,000-word generated vocabulary (Zipf) and from templates with request ids, order numbers, user
// ids, durations and paths, 3–8 attributes with numbers and nested objects. A few things occur at
// known rates so that searches have answers of known size: the phrase "connection reset", the
// word "timeout" (and "timed out"), 5xx statuses, user ids, and one needle word in exactly ten
// records spread evenly through the corpus.
//
// Everything comes from a seeded generator, record by record, so 10 million records are never
// held in memory: NDJSON bodies are built a batch at a time, and the SQLite baseline reads the
// same records in the same order. The counts the searches should find are kept as the records
// are made (CorpusStats).

/** The word in exactly NEEDLE_RECORDS records of a corpus, and nowhere else. */
export const NEEDLE = 'quixotic7needle';
export const NEEDLE_RECORDS = 10;
/** Searched as a phrase; in about 0.3 % of the records. */
export const PHRASE = 'connection reset';
/** Searched as `timeo*`: the records with a word starting with it ("timeout"); "timed out" does not. */
export const PREFIX = 'timeo';
/** Searched as `user_id:12345`; user ids are uniform over 1..USER_IDS. */
export const USER_ID = 12_345;
export const USER_IDS = 100_000;

/** Levels and their shares (of 1000). */
const LEVEL_MIX: [string, number][] = [
  ['info', 740],
  ['debug', 120],
  ['warn', 80],
  ['error', 40],
  ['trace', 15],
  ['fatal', 5],
];

const SERVICE_NAMES = [
  'gateway', 'checkout', 'payments', 'auth', 'search', 'catalog', 'inventory', 'cart', 'orders', 'users',
  'billing', 'shipping', 'notifications', 'mailer', 'recommendations', 'pricing', 'reviews', 'media', 'cdn-edge', 'sessions',
  'fraud', 'ledger', 'invoices', 'tax', 'accounts', 'profile', 'geo', 'ratelimit', 'scheduler', 'importer',
  'exporter', 'reports', 'analytics', 'metrics-agg', 'audit', 'webhooks', 'graphql', 'admin', 'support', 'chat',
  'feeds', 'thumbnails', 'warehouse', 'returns', 'loyalty', 'coupons', 'partners', 'sso', 'kyc', 'batch-jobs',
];
export const SERVICES = SERVICE_NAMES.map((n) => `svc-${n}`);
const ZONES = ['euw1a', 'euw1b', 'euw1c', 'use1a', 'use1b', 'aps1a', 'aps1b', 'usw2a'];
export const HOSTS = Array.from({ length: 200 }, (_, i) => `ip-10-${ZONES[i % ZONES.length]}-${String(i).padStart(3, '0')}`);
const REGIONS = ['eu-west-1', 'eu-west-1', 'eu-west-1', 'us-east-1', 'us-east-1', 'ap-south-1', 'us-west-2', 'eu-central-1'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'];
const OK_STATUSES = [200, 200, 200, 200, 200, 200, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 404, 409, 422, 429];
const ERROR_STATUSES = [500, 502, 503, 503, 504];
const TABLES = ['orders', 'users', 'payments', 'sessions', 'carts', 'products', 'invoices', 'events'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'INR'];

/** A deterministic pseudo-random sequence in [0, 1) (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cumulative Zipf weights over n ranks with exponent s. */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** s;
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return cdf;
}

function sampleCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * ~3,000 pronounceable made-up words, the same for every seed. None contains, or could run
 * into, what the searches look for.
 */
function vocabulary(): string[] {
  const r = prng(7);
  const onsets = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'cl', 'dr', 'fl', 'gr', 'pl', 'pr', 'sk', 'st', 'tr', 'sh', 'ch'];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou'];
  const codas = ['', '', '', 'n', 'r', 's', 'l', 't', 'x', 'nd', 'rk', 'st'];
  const banned = /timeo|conn|reset|needle|quix/;
  const words = new Set<string>();
  while (words.size < 3000) {
    const syllables = r() < 0.35 ? 1 : r() < 0.85 ? 2 : 3;
    let w = '';
    for (let i = 0; i < syllables; i++) {
      w += onsets[Math.floor(r() * onsets.length)]! + vowels[Math.floor(r() * vowels.length)]!;
      if (i === syllables - 1 && r() < 0.5) w += codas[Math.floor(r() * codas.length)]!;
    }
    if (w.length >= 3 && !banned.test(w)) words.add(w);
  }
  return [...words];
}

const VOCAB = vocabulary();
const VOCAB_CDF = zipfCdf(VOCAB.length, 1.05);
const SERVICE_CDF = zipfCdf(SERVICES.length, 1.0);
const LEVEL_CDF = (() => {
  const total = LEVEL_MIX.reduce((n, [, w]) => n + w, 0);
  let sum = 0;
  return Float64Array.from(LEVEL_MIX, ([, w]) => (sum += w) / total);
})();

/** One generated record: the fields loghaven maps to columns, and the rest as a JSON object text. */
export interface CorpusRecord {
  tsMs: number;
  level: string;
  service: string;
  host: string;
  msg: string;
  /** `{"http":{…},"req":{…},"user_id":…}`: every other field of the record, as written. */
  attrs: string;
  /** Parts of the attrs the stats and the SQLite baseline need without parsing. */
  httpStatus: number | null;
  userId: number;
}

let isoMinuteStart = NaN;
let isoMinutePrefix = '';

/** toISOString, with the minute's text reused while timestamps stay in one minute. */
function isoTime(ms: number): string {
  const inMinute = ms - isoMinuteStart;
  if (!(inMinute >= 0 && inMinute < 60_000)) {
    isoMinuteStart = Math.floor(ms / 60_000) * 60_000;
    isoMinutePrefix = new Date(isoMinuteStart).toISOString().slice(0, 17);
    return isoTime(ms);
  }
  const sec = Math.floor(inMinute / 1000);
  const milli = inMinute - sec * 1000;
  return `${isoMinutePrefix}${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** The NDJSON line of a record: the named fields first, then the attrs members at the top level. */
export function recordLine(r: CorpusRecord): string {
  return `{"ts":"${isoTime(r.tsMs)}","level":"${r.level}","service":"${r.service}","host":"${r.host}","msg":"${r.msg}",${r.attrs.slice(1)}`;
}

const HOUR_MS = 3_600_000;
const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const MIN_LINE_BYTES = 180;
const MAX_LINE_BYTES = 320;
/** Records with an http attribute (method, status, path). */
const HTTP_SHARE = 0.75;

/** What a set of records holds, as the searches and aggregations of the benchmark see it. */
export class CorpusStats {
  rows = 0;
  bytes = 0;
  minLineBytes = Infinity;
  maxLineBytes = 0;
  levels: Record<string, number> = {};
  services: Record<string, number> = {};
  /** Services of the level:error records. */
  errorServices: Record<string, number> = {};
  /** Records per hour since the Unix epoch (floor(ts / 1 h)). */
  hours: Record<string, number> = {};
  needle = 0;
  /** Records whose message or attrs text holds PHRASE / a word starting with PREFIX (lower case). */
  phrase = 0;
  prefix = 0;
  /** attrs.http.status >= 500 */
  status5xx = 0;
  /** user_id = USER_ID */
  user = 0;

  add(r: CorpusRecord, lineBytes: number): void {
    this.rows++;
    this.bytes += lineBytes + 1;
    if (lineBytes < this.minLineBytes) this.minLineBytes = lineBytes;
    if (lineBytes > this.maxLineBytes) this.maxLineBytes = lineBytes;
    this.levels[r.level] = (this.levels[r.level] ?? 0) + 1;
    this.services[r.service] = (this.services[r.service] ?? 0) + 1;
    if (r.level === 'error') this.errorServices[r.service] = (this.errorServices[r.service] ?? 0) + 1;
    const h = Math.floor(r.tsMs / HOUR_MS);
    if (h === this.hour) this.hourCount++;
    else {
      this.flushHour();
      this.hour = h;
      this.hourCount = 1;
    }
    // The attrs never hold these (their keys and values are chosen so), and messages only hold
    // them as whole words: a substring test and a word test agree.
    // Messages are lower case but for HTTP methods and currency codes.
    const msg = r.msg;
    if (msg.includes(NEEDLE)) this.needle++;
    if (msg.includes(PHRASE)) this.phrase++;
    if (msg.includes(PREFIX)) this.prefix++;
    if (r.httpStatus !== null && r.httpStatus >= 500) this.status5xx++;
    if (r.userId === USER_ID) this.user++;
  }

  /** Records of the current hour are counted apart and added to `hours` when the hour changes. */
  private hour = NaN;
  private hourCount = 0;

  private flushHour(): void {
    if (this.hourCount === 0) return;
    this.hours[String(this.hour)] = (this.hours[String(this.hour)] ?? 0) + this.hourCount;
    this.hourCount = 0;
  }

  /** Plain data, for a JSON file (and merge). */
  toJSON(): Record<string, unknown> {
    this.flushHour();
    const { hour: _h, hourCount: _c, ...data } = this;
    return data;
  }

  merge(o: CorpusStats): void {
    this.flushHour();
    o.flushHour();
    this.rows += o.rows;
    this.bytes += o.bytes;
    this.minLineBytes = Math.min(this.minLineBytes, o.minLineBytes);
    this.maxLineBytes = Math.max(this.maxLineBytes, o.maxLineBytes);
    for (const k of ['levels', 'services', 'errorServices', 'hours'] as const) {
      for (const [key, n] of Object.entries(o[k])) this[k][key] = (this[k][key] ?? 0) + n;
    }
    this.needle += o.needle;
    this.phrase += o.phrase;
    this.prefix += o.prefix;
    this.status5xx += o.status5xx;
    this.user += o.user;
  }

  static fromJSON(j: unknown): CorpusStats {
    const s = Object.assign(new CorpusStats(), j as Partial<CorpusStats>);
    // JSON has no Infinity: an empty set wrote null.
    s.minLineBytes ??= Infinity;
    return s;
  }
}

export interface QueryCorpusOptions {
  /** Records in the corpus; Infinity for a live stream (timestamps "now", no needle). */
  total: number;
  /** The corpus spans the three days ending here (ms, rounded to the minute by the caller). */
  endMs: number;
  seed?: number;
  spanMs?: number;
}

/** The corpus end time for a run started now: the current minute. */
export function corpusEnd(now = Date.now()): number {
  return Math.floor(now / 60_000) * 60_000;
}

export const CORPUS_SPAN_MS = 3 * 24 * HOUR_MS;

/** The records of one corpus, in order: `next()` makes the next one. */
export class QueryCorpus {
  private i = 0;
  private readonly r: () => number;
  private readonly live: boolean;
  private readonly startMs: number;
  private readonly stepMs: number;
  private nextNeedle: number;
  private needles = 0;

  constructor(private readonly o: QueryCorpusOptions) {
    this.r = prng(o.seed ?? 1);
    this.live = !Number.isFinite(o.total);
    const span = o.spanMs ?? CORPUS_SPAN_MS;
    this.startMs = o.endMs - span;
    this.stepMs = this.live ? 0 : span / o.total;
    this.nextNeedle = this.needleAt(0);
  }

  /** Records made so far. */
  get made(): number {
    return this.i;
  }

  /** The needle is in records floor((k + 0.5) · total / 10), k = 0..9. */
  private needleAt(k: number): number {
    if (this.live || k >= NEEDLE_RECORDS) return -1;
    return Math.floor(((k + 0.5) * this.o.total) / NEEDLE_RECORDS);
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }

  private pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.r() * a.length)]!;
  }

  private word(): string {
    return VOCAB[sampleCdf(VOCAB_CDF, this.r())]!;
  }

  private words(n: number): string {
    let s = this.word();
    for (let i = 1; i < n; i++) s += ' ' + this.word();
    return s;
  }

  /** `chars` (even) random hex digits. */
  private hex(chars: number): string {
    let s = '';
    for (let k = 0; k < chars; k += 2) s += HEX_PAIRS[Math.floor(this.r() * 256)]!;
    return s;
  }

  /** A duration in ms: mostly tens of ms, a long tail. */
  private duration(): number {
    return Math.round(Math.exp(this.r() * 4 + this.r() * 4));
  }

  private path(userId: number): string {
    const u = this.r();
    if (u < 0.3) return `/api/v1/users/${userId}`;
    if (u < 0.5) return `/api/v1/orders/${this.int(100_000, 999_999)}`;
    if (u < 0.6) return '/api/v1/cart/items';
    if (u < 0.7) return `/api/v2/search?q=${this.word()}`;
    if (u < 0.78) return `/api/v1/products/${this.int(1, 50_000)}/reviews`;
    if (u < 0.85) return '/health';
    if (u < 0.92) return `/static/js/app.${this.hex(8)}.js`;
    return `/api/v1/payments/${this.hex(12)}`;
  }

  next(): CorpusRecord {
    const i = this.i++;
    const r = this.r;
    const tsMs = this.live
      ? Date.now()
      : Math.min(this.o.endMs, Math.round(this.startMs + (i + 0.5) * this.stepMs + (r() - 0.5) * 6000));
    const svcIdx = sampleCdf(SERVICE_CDF, r());
    const service = SERVICES[svcIdx]!;
    // Each service runs on a handful of hosts; the popular ones on more.
    const host = HOSTS[(svcIdx * 7 + Math.floor(r() * (svcIdx < 5 ? 24 : 6))) % HOSTS.length]!;
    let level = LEVEL_MIX[sampleCdf(LEVEL_CDF, r())]![0];
    const userId = 1 + Math.floor(r() * USER_IDS);
    const reqId = this.hex(16);
    const hasHttp = r() < HTTP_SHARE;
    const method = this.pick(METHODS);
    const status = r() < 0.015 / HTTP_SHARE ? this.pick(ERROR_STATUSES) : this.pick(OK_STATUSES);
    const path = this.path(userId);
    const dur = this.duration();

    let msg: string;
    const special = r();
    if (i === this.nextNeedle) {
      msg = `${this.words(2)} ${NEEDLE} ${this.words(3)} request ${reqId}`;
      this.nextNeedle = this.needleAt(++this.needles);
    } else if (special < 0.003) {
      level = r() < 0.5 ? 'error' : 'warn';
      msg = this.pick([
        `${PHRASE} by peer while reading ${path} (request ${reqId})`,
        `upstream ${PHRASE} after ${this.int(0, 65536)} bytes from ${this.pick(SERVICES)}`,
        `read tcp 10.0.${this.int(0, 255)}.${this.int(1, 254)}:${this.int(1024, 65535)}: ${PHRASE} by peer`,
      ]);
    } else if (special < 0.0065) {
      level = r() < 0.6 ? 'error' : 'warn';
      msg = this.pick([
        `upstream timeout after ${dur}ms calling ${this.pick(SERVICES)} ${path}`,
        `timeout waiting for ${this.word()} lock on ${this.pick(TABLES)} (${dur}ms)`,
        `${this.words(2)} timeout: gave up after ${this.int(1, 5)} retries`,
      ]);
    } else if (special < 0.008) {
      level = r() < 0.5 ? 'error' : 'warn';
      msg = `request ${reqId} to ${this.pick(SERVICES)} timed out after ${dur}ms`;
    } else {
      const t = r();
      if (t < 0.22) msg = `${method} ${path} ${status} ${dur}ms`;
      else if (t < 0.32) msg = `request ${reqId} completed in ${dur}ms`;
      else if (t < 0.37) msg = `order #${this.int(10_000_000, 99_999_999)} created for user ${userId}`;
      else if (t < 0.45) msg = `user ${userId} ${this.words(3)}`;
      else if (t < 0.58) msg = this.words(3 + Math.floor(r() * 5));
      else if (t < 0.67) msg = `${this.words(3)} for ${path}: ${this.words(2)}`;
      else if (t < 0.72) msg = `processed ${this.int(1, 5000)} ${this.word()} records in ${dur}ms`;
      else if (t < 0.78) msg = `cache ${r() < 0.8 ? 'hit' : 'miss'} for ${this.word()}:${this.int(1, 99_999)}`;
      else if (t < 0.83) msg = `job ${this.word()}-${this.hex(8)} ${this.pick(['started', 'finished', 'failed', 'retried'])} after ${dur}ms`;
      else if (t < 0.91) msg = `${this.words(2)} request_id=${reqId} user_id=${userId} ${this.words(3)}`;
      else if (t < 0.95)
        msg = `payment ${this.hex(12)} ${r() < 0.9 ? 'authorised' : 'declined'} amount=${this.int(1, 2000)}.${String(this.int(0, 99)).padStart(2, '0')} currency=${this.pick(CURRENCIES)}`;
      else msg = `db query on ${this.pick(TABLES)} returned ${this.int(0, 10_000)} rows in ${dur}ms`;
    }

    // Latency: lognormal-ish up to 498 ms; 499 and 500 (the cap) are the rare slow requests.
    const latency = r() < 0.004 ? 499 + Math.floor(r() * 2) : Math.min(498, Math.round(Math.exp(2.6 + r() * 1.4 + r() * 1.4)));
    let attrs = `{"req":{"latency_ms":${latency}},"user_id":${userId},"region":"${this.pick(REGIONS)}"`;
    // Optional attributes, each kept only while the line stays within MAX_LINE_BYTES; at most 8 in all.
    const optional: string[] = [];
    if (hasHttp) optional.push(`,"http":{"method":"${method}","status":${status},"path":"${path}"}`);
    if (r() < 0.3) optional.push(`,"request_id":"${reqId}"`);
    if (r() < 0.35) optional.push(`,"bytes":${Math.floor(r() * r() * 200_000)}`);
    if (r() < 0.15) optional.push(`,"retry":${this.int(0, 3)}`);
    if (r() < 0.15) optional.push(`,"db":{"table":"${this.pick(TABLES)}","rows":${this.int(0, 5000)}}`);
    if (r() < 0.2) optional.push(`,"cache":"${r() < 0.8 ? 'hit' : 'miss'}"`);
    // The line is {"ts":"<24>","level":"…","service":"…","host":"…","msg":"…",<attrs without its brace>}.
    let lineBytes = 76 + level.length + service.length + host.length + msg.length + attrs.length;
    let httpStatus: number | null = null;
    for (let k = 0; k < optional.length && k < 5; k++) {
      const a = optional[k]!;
      if (lineBytes + a.length > MAX_LINE_BYTES) continue;
      attrs += a;
      lineBytes += a.length;
      if (k === 0 && hasHttp) httpStatus = status;
    }
    // Short records get the pod they ran in.
    if (lineBytes < MIN_LINE_BYTES) attrs += `,"k8s":{"pod":"${service}-${this.hex(10)}-${this.hex(6)}","namespace":"prod"}`;
    attrs += '}';
    return { tsMs, level, service, host, msg, attrs, httpStatus, userId };
  }

  /** The next `n` records (fewer at the end of the corpus) as one NDJSON body, counted in `stats`. */
  batch(n: number, stats?: CorpusStats): { body: Buffer; count: number } {
    const count = Math.min(n, this.o.total - this.i);
    // Lines are ASCII and at most MAX_LINE_BYTES (k8s padding only makes short ones longer).
    const body = Buffer.allocUnsafe(count * (MAX_LINE_BYTES + 1));
    let at = 0;
    for (let k = 0; k < count; k++) {
      const rec = this.next();
      const line = recordLine(rec);
      stats?.add(rec, line.length);
      at += body.write(line, at, 'latin1');
      body[at++] = 10;
    }
    return { body: body.subarray(0, at), count };
  }
}

export interface QueryBatch {
  body: Buffer;
  count: number;
}

/**
 * The corpus as NDJSON bodies: `batchSize` records each (or as many as `batchSize(k)` says for
 * batch k), made when asked for. Every record is counted in `stats` when given.
 */
export function* queryCorpusBatches(
  total: number,
  batchSize: number | ((batch: number) => number),
  o: { endMs?: number; seed?: number; stats?: CorpusStats } = {},
): Generator<QueryBatch> {
  const corpus = new QueryCorpus({ total, endMs: o.endMs ?? corpusEnd(), seed: o.seed });
  for (let k = 0; corpus.made < total; k++) {
    yield corpus.batch(typeof batchSize === 'number' ? batchSize : batchSize(k), o.stats);
  }
}
