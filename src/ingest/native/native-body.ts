// Parses the native ingest body (SPEC §2): one JSON object, a JSON array of objects, or NDJSON.
// Each line (or array element) is judged on its own: valid ones become rows, invalid ones are
// reported with their 1-based line number and never cost the rest of the body.

import type { RecordBatch } from '../../store/store.js';
import { emptyBatch, pushRecord } from '../../store/store.js';
import { normaliseLine, normaliseObject, type NormaliseContext } from '../common/normalise.js';

export interface LineError {
  line: number;
  error: string;
}

export interface ParsedBody {
  batch: RecordBatch;
  rejected: number;
  /** The first MAX_REPORTED_ERRORS errors; `rejected` counts them all. */
  errors: LineError[];
}

/** Enough to find every problem in a typical body without an unbounded response. */
export const MAX_REPORTED_ERRORS = 1000;

export type BodyShape = 'json' | 'ndjson';

export function parseNativeBody(text: string, shape: BodyShape, ctx: NormaliseContext): ParsedBody {
  const out: ParsedBody = { batch: emptyBatch(), rejected: 0, errors: [] };
  if (shape === 'json') {
    // A JSON body is one object or an array; if it is neither it may still be NDJSON sent with
    // a JSON content type, which many shippers do.
    let whole: unknown;
    let parsed = false;
    try {
      whole = JSON.parse(text);
      parsed = true;
    } catch {
      // fall through to NDJSON
    }
    if (parsed) {
      if (Array.isArray(whole)) {
        whole.forEach((v, i) => addValue(out, v, i + 1, ctx));
      } else {
        addValue(out, whole, 1, ctx);
      }
      return out;
    }
  }
  parseLines(text, out, ctx);
  return out;
}

function parseLines(text: string, out: ParsedBody, ctx: NormaliseContext): void {
  let start = 0;
  let line = 0;
  const len = text.length;
  while (start <= len) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = len;
    line++;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--; // CRLF
    if (stop > start) {
      const r = normaliseLine(text, start, stop, ctx);
      if (r.ok) pushRecord(out.batch, r.record);
      else if (!isBlank(text, start, stop)) reject(out, line, r.error);
    }
    start = end + 1;
  }
}

function addValue(out: ParsedBody, value: unknown, line: number, ctx: NormaliseContext): void {
  const r = normaliseObject(value, ctx);
  if (r.ok) pushRecord(out.batch, r.record);
  else reject(out, line, r.error);
}

function reject(out: ParsedBody, line: number, error: string): void {
  out.rejected++;
  if (out.errors.length < MAX_REPORTED_ERRORS) out.errors.push({ line, error });
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
