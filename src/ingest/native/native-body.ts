// Parses the native ingest body (SPEC §2): one JSON object, a JSON array of objects, or NDJSON,
// straight from its bytes into spool rows. Each line (or array element) is judged on its own:
// valid ones become rows, invalid ones are reported with their 1-based line number (element
// number in an array) and never cost the rest of the body.

import { isUtf8 } from 'node:buffer';
import { RowBatchBuilder, type BufferSource, type RowBatch } from '../../store/row-format.js';
import { JsonObjectScanner, jsonKindName } from '../common/json-scanner.js';
import { JsonRowEncoder } from '../common/json-rows.js';
import type { NormaliseContext } from '../common/normalise.js';

export interface LineError {
  line: number;
  error: string;
}

export interface ParsedBody {
  batch: RowBatch;
  rejected: number;
  /** The first MAX_REPORTED_ERRORS errors; `rejected` counts them all. */
  errors: LineError[];
}

/** Enough to find every problem in a typical body without an unbounded response. */
export const MAX_REPORTED_ERRORS = 1000;

export type BodyShape = 'json' | 'ndjson';

const skipWs = JsonObjectScanner.skipWhitespace;

class BodyParse {
  readonly encoder: JsonRowEncoder;
  rejected = 0;
  errors: LineError[] = [];

  constructor(
    readonly body: Buffer,
    ctx: NormaliseContext,
    buffers: BufferSource | undefined,
  ) {
    // Rows are about as long as their lines; a little headroom saves a copy.
    this.encoder = new JsonRowEncoder(new RowBatchBuilder(body.length + (body.length >> 3) + 1024, buffers), ctx);
  }

  reject(line: number, error: string): void {
    this.rejected++;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push({ line, error });
  }

  /** Forgets everything encoded so far (a body that turned out to have another shape). */
  reset(): void {
    this.encoder.out.rollback(0, 0);
    this.rejected = 0;
    this.errors = [];
  }

  result(): ParsedBody {
    return { batch: this.encoder.out.finish(), rejected: this.rejected, errors: this.errors };
  }
}

/** Parses a body into rows; `buffers` supplies the memory the rows are built in. */
export function parseNativeBody(body: Buffer, shape: BodyShape, ctx: NormaliseContext, buffers?: BufferSource): ParsedBody {
  // Rows must be valid UTF-8 for the store; invalid sequences become U+FFFD, as a decoder would.
  const buf = isUtf8(body) ? body : Buffer.from(body.toString('utf8'));
  const p = new BodyParse(buf, ctx, buffers);
  let start = 0;
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3; // BOM
  if (shape === 'json') {
    // A JSON body is one object or an array; if it is neither it may still be NDJSON sent with
    // a JSON content type, which many shippers do.
    const first = skipWs(buf, start, buf.length);
    if (buf[first] === 91 /* [ */ && parseArray(p, first)) return p.result();
    if (buf[first] === 123 /* { */) {
      const after = p.encoder.encodeObject(buf, first, buf.length, true);
      if (after >= 0) {
        if (p.encoder.rejected) p.reject(lineAt(buf, start, first), p.encoder.error);
        return p.result();
      }
    }
    p.reset();
  }
  parseLines(p, start);
  return p.result();
}

function parseLines(p: BodyParse, from: number): void {
  const buf = p.body;
  const len = buf.length;
  const enc = p.encoder;
  let start = from;
  let line = 0;
  while (start <= len) {
    let end = buf.indexOf(10, start);
    if (end === -1) end = len;
    line++;
    let stop = end;
    if (stop > start && buf[stop - 1] === 13) stop--; // CRLF
    if (skipWs(buf, start, stop) < stop) {
      enc.encodeObject(buf, start, stop, true);
      if (enc.rejected) p.reject(line, enc.error);
    }
    start = end + 1;
  }
}

/** The 1-based line of byte `pos` counted from `from` (an object may follow blank lines). */
function lineAt(buf: Buffer, from: number, pos: number): number {
  let line = 1;
  for (let nl = buf.indexOf(10, from); nl !== -1 && nl < pos; nl = buf.indexOf(10, nl + 1)) line++;
  return line;
}

/** A JSON array of objects; false when the body is not one (it is then read as NDJSON). */
function parseArray(p: BodyParse, open: number): boolean {
  const buf = p.body;
  const len = buf.length;
  const enc = p.encoder;
  const scanner = new JsonObjectScanner();
  let pos = skipWs(buf, open + 1, len);
  if (buf[pos] === 93 /* ] */) return skipWs(buf, pos + 1, len) === len;
  for (let element = 1; ; element++) {
    pos = skipWs(buf, pos, len);
    if (buf[pos] === 123) {
      pos = enc.encodeObject(buf, pos, len, false);
      if (pos < 0) break;
      if (enc.rejected) p.reject(element, enc.error);
    } else {
      const at = pos;
      pos = scanner.skipValue(buf, pos, len);
      if (pos < 0) break;
      p.reject(element, `expected a JSON object, got ${jsonKindName(buf[at]!)}`);
    }
    pos = skipWs(buf, pos, len);
    if (buf[pos] === 44 /* , */) {
      pos++;
      continue;
    }
    if (buf[pos] === 93 && skipWs(buf, pos + 1, len) === len) return true;
    break;
  }
  p.reset();
  return false;
}
