// Rows of a spool segment (row-format.ts) as the category files' lines: the record's JSON (the
// form recordToJson gives and exports write) and the file keys, with nothing decoded that does
// not need to be. Text columns already hold JSON string escapes without the quotes, so a column
// becomes a JSON string by quoting it; timestamps are formatted once per second they fall in.

import { NULL_FIELD as NULL, textValue } from '../store/row-format.js';
import type { FileRow } from '../store/store.js';

/** `YYYY-MM-DDTHH:MM:SS` of the last whole second formatted, one per timestamp column (rows come in time order). */
class SecondCache {
  second = Number.NaN;
  prefix = '';

  format(us: number): string {
    const second = Math.floor(us / 1_000_000);
    if (second !== this.second) {
      this.second = second;
      this.prefix = new Date(second * 1000).toISOString().slice(0, 19);
    }
    const frac = us - second * 1_000_000;
    return `${this.prefix}.${frac < 100_000 ? String(frac).padStart(6, '0') : frac}Z`;
  }
}

const TS = new SecondCache();
const RECEIVED = new SecondCache();

/** A timestamp column (integer µs) as RFC 3339 with µs; exact for the years 1677–2262 the store takes. */
function timestamp(text: string, cache: SecondCache): string {
  const us = Number(text);
  if (Number.isSafeInteger(us)) return cache.format(us);
  // Beyond 2^53 µs (past the year 2255): through BigInt, still exact.
  const big = BigInt(text);
  const second = big / 1_000_000n - (big % 1_000_000n < 0n ? 1n : 0n);
  const frac = big - second * 1_000_000n;
  return `${new Date(Number(second) * 1000).toISOString().slice(0, 19)}.${frac.toString().padStart(6, '0')}Z`;
}

const jsonText = (col: string) => (col === NULL ? 'null' : `"${col}"`);

/**
 * A segment's rows read a page at a time, in order, without scanning from the start each time.
 * Only a page's bytes are decoded at a time: a whole segment as one string (tens of MB) took the
 * event loop for most of 100 ms.
 */
export class SegmentRows {
  /** Where row `nextSeq` starts in the bytes. */
  private at = 0;
  private nextSeq: bigint;

  constructor(
    private readonly bytes: Buffer,
    readonly firstSeq: bigint,
  ) {
    this.nextSeq = firstSeq;
  }

  /** Up to `limit` rows from `seq` on (fewer at the end of the segment). */
  read(seq: bigint, limit: number): FileRow[] {
    if (seq < this.nextSeq) {
      this.at = 0;
      this.nextSeq = this.firstSeq;
    }
    const bytes = this.bytes;
    // Rows before `seq` skipped a line at a time, then the page's lines decoded at once.
    while (this.nextSeq < seq && this.at < bytes.length) {
      const nl = bytes.indexOf(10, this.at);
      this.at = nl === -1 ? bytes.length : nl + 1;
      this.nextSeq++;
    }
    let end = this.at;
    for (let n = 0; n < limit && end < bytes.length; n++) {
      const nl = bytes.indexOf(10, end);
      end = nl === -1 ? bytes.length : nl + 1;
    }
    const text = bytes.toString('utf8', this.at, end);
    this.at = end;
    const out: FileRow[] = [];
    let at = 0;
    while (at < text.length) {
      let stop = text.indexOf('\n', at);
      if (stop === -1) stop = text.length;
      out.push(rowLine(text, at, stop, this.nextSeq));
      at = stop + 1;
      this.nextSeq++;
    }
    return out;
  }
}

function rowLine(text: string, start: number, end: number, seq: bigint): FileRow {
  const c: string[] = [];
  let at = start;
  for (let i = 0; i < 12; i++) {
    const t = text.indexOf('\t', at);
    c.push(text.slice(at, t));
    at = t + 1;
  }
  const attrs = text.slice(at, end);
  const ts = timestamp(c[0]!, TS);
  const level = c[3]!;
  const json =
    `{"ts":"${ts}","received_at":"${timestamp(c[1]!, RECEIVED)}","tenant":${jsonText(c[2]!)}` +
    `,"level":${level === NULL ? 'null' : `"${level}"`},"severity":${c[4] === NULL ? 'null' : c[4]}` +
    `,"service":${jsonText(c[5]!)},"host":${jsonText(c[6]!)},"category":${jsonText(c[7]!)}` +
    `,"source":${jsonText(c[8]!)},"message":${jsonText(c[9]!)},"trace_id":${jsonText(c[10]!)}` +
    `,"span_id":${jsonText(c[11]!)},"attrs":${attrs}}`;
  return { seq, category: textValue(c[7]!), day: ts.slice(0, 10), level: level === NULL ? null : level, json };
}
