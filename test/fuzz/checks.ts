// What every parser fuzz test asserts about what a parser did: it threw nothing but its own coded
// errors, it came back (a watchdog thread kills the process with the input when it does not), every
// row it wrote is one the store takes and holds the record model's values, and a sample of its
// rows loads into a real DuckDB store through the ingest pipeline and reads back unchanged.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import { isLhError, type ErrorCode } from '../../src/errors.js';
import { LEVELS, type LogRecord } from '../../src/model/record.js';
import { MAX_MICROS, MIN_MICROS } from '../../src/model/timestamp.js';
import { Metrics } from '../../src/observability/metrics.js';
import { IngestPipeline } from '../../src/pipeline/ingest-pipeline.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { decodeRows, ROW_COLUMNS, type RowBatch } from '../../src/store/row-format.js';
import type { NormaliseContext } from '../../src/ingest/common/normalise.js';

class RowError extends Error {}

function fail(row: string, why: string): never {
  throw new RowError(`${why} in row ${JSON.stringify(row)}`);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INTEGER = /^-?\d+$/;
/** Text with nothing a JSON string would have to escape. */
const PLAIN_TEXT = /^[^"\\\u0000-\u001f]*$/;
const TEXT_COLUMNS = [5, 6, 7, 8, 9, 10, 11];

/**
 * A text column as the store reads it: `\N`, or the content of a JSON string (the loader unescapes
 * it as one) naming only real characters (DuckDB refuses lone surrogates).
 */
function checkText(row: string, col: string, name: string): void {
  if (col === '\\N') return;
  if (PLAIN_TEXT.test(col)) {
    if (LONE_SURROGATE.test(col)) fail(row, `${name} holds a lone surrogate`);
    return;
  }
  let v: unknown;
  try {
    v = JSON.parse(`"${col}"`);
  } catch {
    fail(row, `${name} is not the content of a JSON string`);
  }
  if (LONE_SURROGATE.test(v as string)) fail(row, `${name} holds a lone surrogate`);
}

/** Every string in a JSON value is well formed (DuckDB's JSON type refuses lone surrogates). */
function wellFormedValue(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return !LONE_SURROGATE.test(v);
  if (v === null || typeof v !== 'object' || depth > 200) return true;
  if (Array.isArray(v)) return v.every((x) => wellFormedValue(x, depth + 1));
  return Object.entries(v).every(([k, x]) => !LONE_SURROGATE.test(k) && wellFormedValue(x, depth + 1));
}

/**
 * Checks a batch row by row against the row format and the record model — UTF-8, 13 columns, ts
 * within the years 1–9999, the receive time and tenant of `ctx`, a known level or none, severity
 * 1–24 agreeing with the level, text columns the loader can unescape, attrs a JSON object of
 * well-formed strings, `count` and `longestRow` true — and returns the rows decoded.
 */
export function checkBatch(batch: RowBatch, ctx: NormaliseContext): LogRecord[] {
  const bytes = batch.bytes;
  if (!isUtf8(bytes)) throw new RowError('rows are not valid UTF-8');
  if (bytes.length === 0) {
    if (batch.count !== 0) throw new RowError(`count ${batch.count} for no bytes`);
    return [];
  }
  if (bytes[bytes.length - 1] !== 10) throw new RowError('last row does not end in a newline');
  const lines = bytes.toString('utf8').slice(0, -1).split('\n');
  if (lines.length !== batch.count) throw new RowError(`count ${batch.count} for ${lines.length} rows`);
  let longest = 0;
  const receivedAt = ctx.receivedAt.toString();
  for (const row of lines) {
    longest = Math.max(longest, Buffer.byteLength(row));
    const f = row.split('\t');
    if (f.length !== ROW_COLUMNS.length) fail(row, `${f.length} columns`);
    if (!INTEGER.test(f[0]!)) fail(row, 'ts is not an integer');
    const ts = BigInt(f[0]!);
    if (ts < MIN_MICROS || ts > MAX_MICROS) fail(row, `ts ${ts} is outside the years 1–9999`);
    if (f[1] !== receivedAt) fail(row, 'received_at is not the receive time');
    if (f[2] !== 'default') fail(row, 'tenant is not the request tenant');
    const level = f[3]!;
    if (level !== '\\N' && !(LEVELS as readonly string[]).includes(level)) fail(row, `level ${level} is not a level`);
    if (f[4] !== '\\N') {
      if (!INTEGER.test(f[4]!) || +f[4]! < 1 || +f[4]! > 24) fail(row, `severity ${f[4]} is not 1–24`);
      if (level !== LEVELS[Math.floor((+f[4]! - 1) / 4)]) fail(row, `severity ${f[4]} disagrees with level ${level}`);
    }
    for (const c of TEXT_COLUMNS) checkText(row, f[c]!, ROW_COLUMNS[c]!);
    let attrs: unknown;
    try {
      attrs = JSON.parse(f[12]!);
    } catch {
      fail(row, 'attrs is not JSON');
    }
    if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) fail(row, 'attrs is not a JSON object');
    if (!wellFormedValue(attrs)) fail(row, 'attrs holds a lone surrogate');
  }
  if (batch.longestRow !== longest) throw new RowError(`longestRow ${batch.longestRow}, longest row ${longest} bytes`);
  return decodeRows(batch);
}

/**
 * Runs `parse`; an exception is allowed only when it is an LhError with one of `codes` (the
 * parser's documented refusals), and anything else is rethrown for fast-check to report.
 */
export function cleanly<T>(codes: readonly ErrorCode[], parse: () => T): { ok: true; value: T } | { ok: false; code: ErrorCode } {
  try {
    return { ok: true, value: parse() };
  } catch (e) {
    if (isLhError(e) && codes.includes(e.code)) return { ok: false, code: e.code };
    throw e;
  }
}

/** JSON with bigints as strings: a cheap identity for records and answers. */
function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
}

/** expect(actual).toEqual(expected), paying for vitest's deep comparison and diff only on a mismatch. */
export function expectSame<T>(actual: T, expected: T): void {
  if (canon(actual) !== canon(expected)) expect(actual).toEqual(expected);
}

/** Copies `body` into the middle of a larger buffer of junk: a parser must read nothing outside it. */
export function amidJunk(body: Uint8Array, junk: number): Buffer {
  const big = Buffer.alloc(body.length + 64, junk);
  Buffer.from(body).copy(big, 32);
  return big.subarray(32, 32 + body.length);
}

// ---- hangs ----

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const state = new Int32Array(workerData.sab, 0, 4); // generation, busy, length, stop
const input = new Uint8Array(workerData.sab, 16);
const nap = new Int32Array(new SharedArrayBuffer(4));
let seen = -1;
let since = Date.now();
while (Atomics.load(state, 3) === 0) {
  Atomics.wait(nap, 0, 0, 250);
  const generation = Atomics.load(state, 0);
  if (generation !== seen || Atomics.load(state, 1) === 0) {
    seen = generation;
    since = Date.now();
    continue;
  }
  if (Date.now() - since < workerData.limitMs) continue;
  const bytes = Buffer.from(input.subarray(0, Atomics.load(state, 2)));
  const file = require('node:path').join(require('node:os').tmpdir(), 'loghaven-fuzz-hang-' + process.pid + '.bin');
  fs.writeFileSync(file, bytes);
  fs.writeSync(2, '\\n' + workerData.label + ': no answer after ' + workerData.limitMs + ' ms; input (' + bytes.length + ' bytes) in ' + file + ', base64 ' + bytes.toString('base64') + '\\n');
  process.kill(process.pid, 'SIGKILL');
}
`;

/**
 * Guards synchronous parser calls against hangs: a thread of its own watches a counter the guarded
 * call bumps, and when one call takes longer than `limitMs` it writes that call's input to stderr
 * and a file, and kills the process (a synchronous loop cannot be interrupted from inside).
 */
export class HangWatchdog {
  private readonly sab = new SharedArrayBuffer(16 + 256 * 1024);
  private readonly state = new Int32Array(this.sab, 0, 4);
  private readonly input = new Uint8Array(this.sab, 16);
  private readonly worker: Worker;

  constructor(label: string, limitMs = 10_000) {
    this.worker = new Worker(WATCHDOG, { eval: true, workerData: { sab: this.sab, label, limitMs } });
    this.worker.unref();
  }

  guard<T>(input: Uint8Array, call: () => T): T {
    const n = Math.min(input.length, this.input.length);
    this.input.set(input.subarray(0, n));
    Atomics.store(this.state, 2, n);
    Atomics.add(this.state, 0, 1);
    Atomics.store(this.state, 1, 1);
    try {
      return call();
    } finally {
      Atomics.store(this.state, 1, 0);
    }
  }

  async stop(): Promise<void> {
    Atomics.store(this.state, 3, 1);
    await this.worker.terminate();
  }
}

// ---- the store ----

/**
 * Rows kept from a fuzz run for the store: every `every`-th batch with rows, up to `maxBytes` in
 * all. The bytes are copied (a parser's buffers may be reused) and the records decoded beside them.
 */
export class BatchSample {
  readonly batches: Buffer[] = [];
  readonly records: LogRecord[] = [];
  private seen = 0;
  private bytes = 0;

  constructor(
    private readonly every = 20,
    private readonly maxBytes = 4 * 2 ** 20,
  ) {}

  offer(batch: RowBatch, records: LogRecord[]): void {
    if (batch.count === 0 || this.seen++ % this.every !== 0 || this.bytes + batch.bytes.length > this.maxBytes) return;
    this.batches.push(Buffer.from(batch.bytes));
    this.records.push(...records);
    this.bytes += batch.bytes.length;
  }
}

/**
 * The fields a store must give back as they went in (seq aside). @duckdb/node-api decodes VARCHARs
 * with a default `new TextDecoder()`, which takes a leading U+FEFF for a byte order mark and drops
 * it (lib/vectors/dataAccessors.js); the stored value keeps it (SQL `length()` counts it), so with
 * `asRead` that one character goes from the text columns of what was loaded before comparing.
 */
function stored(r: LogRecord, asRead = false): string {
  const t = (s: string | null) => (asRead && s !== null && s.charCodeAt(0) === 0xfeff ? s.slice(1) : s);
  return JSON.stringify([
    r.ts.toString(),
    r.receivedAt.toString(),
    r.tenant,
    r.level,
    r.severity,
    t(r.service),
    t(r.host),
    t(r.category),
    t(r.source),
    t(r.message),
    t(r.traceId),
    t(r.spanId),
    JSON.parse(r.attrs),
  ]);
}

/**
 * Submits the sampled batches to an ingest pipeline over a DuckDB store in a temp dir (spool
 * segments and loads, as the server does), waits until they are loaded, and checks that no load
 * failed, the row count matches, and every row reads back with the values it went in with.
 */
export async function loadIntoStore(sample: BatchSample): Promise<{ rows: number; batches: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-fuzz-'));
  const store = await DuckDbStore.open({ file: path.join(dir, 'db.duckdb'), threads: 1, memoryLimit: '256MB' });
  try {
    await store.migrate();
    const pipeline = await IngestPipeline.open(
      store,
      {
        spoolDir: path.join(dir, 'spool'),
        durability: 'none',
        fsyncIntervalMs: 50,
        queueMaxBytes: 64 * 2 ** 20,
        spoolMaxBytes: 64 * 2 ** 20,
        maxBatchRows: 10_000,
        flushIntervalMs: 0,
        maxRowBytes: 2 ** 20,
        segmentRows: 2000,
        segmentMaxBytes: 2 ** 20,
        loadIntervalMs: 60_000,
      },
      new Metrics(),
      { info: () => undefined, error: () => undefined },
    );
    try {
      await Promise.all(
        sample.batches.map((bytes) => {
          const count = bytes.reduce((n, b) => n + (b === 10 ? 1 : 0), 0);
          return pipeline.submit({ bytes, count, longestRow: 0, release: () => undefined }, bytes.length);
        }),
      );
      await pipeline.visible('loaded');
      if (pipeline.loadError !== null) throw new Error(`the store refused a load: ${pipeline.loadError}`);
      const stats = await store.stats();
      if (stats.rows !== sample.records.length) throw new Error(`${stats.rows} rows in the store, ${sample.records.length} submitted`);
      const page = await store.queryPage({ tenant: 'default', limit: sample.records.length + 1, order: 'asc' });
      const got = page.items.map((r) => stored(r)).sort();
      const want = sample.records.map((r) => stored(r, true)).sort();
      const firstDiff = got.findIndex((g, i) => g !== want[i]);
      if (got.length !== want.length || firstDiff !== -1) {
        throw new Error(`rows read back differ from rows loaded: got ${got[firstDiff]}, want ${want[firstDiff]}`);
      }
    } finally {
      await pipeline.drain();
    }
    return { rows: sample.records.length, batches: sample.batches.length };
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
