// npm run bench:parse — the ingest hot path alone, on one core: NDJSON bodies of the benchmark
// corpus turned into spool rows by the byte encoder (src/ingest/common/json-rows.ts), beside the
// same work done the usual way (JSON.parse, normaliseObject, a row per record) measured in the
// same run. Prints µs per line, medians of 5 rounds after a warm-up. It runs the compiled code in
// dist/, as the server does (the on-the-fly compiler used for benchmark scripts adds wrappers).

import { corpusLines } from './lib/corpus.js';
import { machine, fmt } from './lib/report.js';
import type * as NativeBody from '../src/ingest/native/native-body.js';
import type * as Normalise from '../src/ingest/common/normalise.js';
import type * as RowFormat from '../src/store/row-format.js';
import type * as Pool from '../src/pipeline/buffer-pool.js';

const dist = new URL('../dist/', import.meta.url);
const { parseNativeBody } = (await import(new URL('ingest/native/native-body.js', dist).href)) as typeof NativeBody;
const { normaliseObject } = (await import(new URL('ingest/common/normalise.js', dist).href)) as typeof Normalise;
const { RowBatchBuilder } = (await import(new URL('store/row-format.js', dist).href)) as typeof RowFormat;
const { BufferPool } = (await import(new URL('pipeline/buffer-pool.js', dist).href)) as typeof Pool;

const LINES = 200_000;
const BATCH = 1000;
const lines = corpusLines(LINES);
const bodies = Array.from({ length: LINES / BATCH }, (_, i) => Buffer.from(lines.slice(i * BATCH, (i + 1) * BATCH).join('\n') + '\n'));
const ctx = { tenant: 'default', receivedAt: 1_795_478_400_000_000n };
const pool = new BufferPool();

function encoder(): number {
  let rows = 0;
  for (const body of bodies) {
    const parsed = parseNativeBody(body, 'ndjson', ctx, pool);
    rows += parsed.batch.count;
    parsed.batch.release();
  }
  return rows;
}

function viaJsonParse(): number {
  let rows = 0;
  for (const body of bodies) {
    const out = new RowBatchBuilder(body.length + 1024);
    for (const line of body.toString('utf8').split('\n')) {
      if (line === '') continue;
      const r = normaliseObject(JSON.parse(line), ctx);
      if (r.ok) out.writeRecord(r.record);
    }
    rows += out.finish().count;
  }
  return rows;
}

function microsPerLine(fn: () => number): number {
  fn(); // warm-up: JIT
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const rows = fn();
    runs.push(((performance.now() - t) * 1000) / rows);
  }
  return runs.sort((a, b) => a - b)[2]!;
}

console.log(`loghaven parse benchmark — ${machine()}`);
console.log(`corpus: ${fmt(LINES)} NDJSON lines in ${BATCH}-line bodies, ${(bodies.reduce((n, b) => n + b.length, 0) / LINES).toFixed(0)} bytes/line`);
const fast = microsPerLine(encoder);
const base = microsPerLine(viaJsonParse);
console.log(`byte encoder: ${fast.toFixed(2)} µs/line (${fmt(1e6 / fast)} lines/s on one core)`);
console.log(`baseline JSON.parse + normaliseObject + row: ${base.toFixed(2)} µs/line (${fmt(1e6 / base)} lines/s); encoder ${(base / fast).toFixed(1)}× faster`);
