// The one wire format between ingest and every store backend: a record is one line of
// tab-separated columns in ROW_COLUMNS order, which DuckDB loads with its native CSV reader.
// Text columns hold JSON string escapes without the surrounding quotes (so no value can contain a
// raw tab or newline, and a JSON string's raw content is already a valid column; the loader
// unescapes the rare value with a backslash), NULL is `\N` (never a valid JSON escape, so never
// confused with text), timestamps are integer µs, attrs is JSON text with no tab, CR or LF.
// Rows carry no sequence number: the store assigns those as it loads them, in load order.

import { writeUint } from '../model/bytes.js';
import { RECORD_FIELDS, type Level, type LogRecord } from '../model/record.js';

/** A row's columns: the record fields in their wire order. */
export const ROW_COLUMNS = RECORD_FIELDS;

export const NULL_FIELD = '\\N';

/** Complete rows, each ending in a newline. */
export interface RowBatch {
  bytes: Buffer;
  count: number;
  /** Bytes of the longest row, newline excluded. */
  longestRow: number;
  /** Hands the memory back for reuse once the rows are spooled (or refused); `bytes` is dead then. */
  release(): void;
}

/** Where a builder gets its buffers (a pool, so buffers are reused from one request to the next). */
export interface BufferSource {
  take(bytes: number): Buffer;
  give(buf: Buffer): void;
}

/** Fresh buffers every time, none kept: for callers without a pool. */
export const FRESH_BUFFERS: BufferSource = { take: (n) => Buffer.allocUnsafe(n), give: () => undefined };

const HEX = Buffer.from('0123456789abcdef');
const TAB = 9;
const NL = 10;
const BACKSLASH = 92;
const N_UPPER = 78;
const SPACE = 32;

const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A decoded string as the text of a column. A lone surrogate (half of a UTF-16 pair, which no
 * encoding can carry) becomes U+FFFD, as it would when written out as UTF-8.
 */
export function textField(s: string): string {
  const t = s.isWellFormed() ? s : s.replace(LONE_SURROGATE, '\uFFFD');
  return NEEDS_ESCAPE.test(t) ? JSON.stringify(t).slice(1, -1) : t;
}

/**
 * Accumulates rows in one growing buffer. Encoders on the hot path write bytes straight into
 * `buf` at `pos` (after `reserve`), one row at a time; everything else uses `writeRecord`.
 */
export class RowBatchBuilder {
  buf: Buffer;
  pos = 0;
  count = 0;
  private rowStart = 0;
  private longestRow = 0;

  constructor(
    initialBytes = 64 * 1024,
    private readonly source: BufferSource = FRESH_BUFFERS,
  ) {
    this.buf = source.take(Math.max(1024, initialBytes));
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = this.source.take(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.source.give(this.buf);
    this.buf = next;
  }

  /** Writes a non-negative safe integer's decimal digits. */
  int(n: number): void {
    this.pos = writeUint(this.buf, this.pos, n);
  }

  /**
   * The integer in `src[0]`, negative too: timestamps reach here through a Float64Array so that
   * the hot path never boxes a double to pass it along.
   */
  intFrom(src: Float64Array): void {
    let n = src[0]!;
    if (n < 0) {
      this.buf[this.pos++] = 45;
      n = -n;
    }
    this.int(n);
  }

  /** An integer of any size (timestamps may be negative or beyond 2^53). */
  bigint(n: bigint): void {
    if (n >= 0n && n <= MAX_SAFE_BIGINT) this.int(Number(n));
    else this.ascii(n.toString());
  }

  /** A short string known to be ASCII with nothing to escape (level names, digits). */
  ascii(s: string): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Bytes copied as they are. */
  copy(src: Uint8Array, start: number, end: number): void {
    const buf = this.buf;
    let p = this.pos;
    if (end - start > 512) {
      // Long runs are worth the view object that a native copy needs.
      buf.set(src.subarray(start, end), p);
      p += end - start;
    } else {
      for (let i = start; i < end; i++) buf[p++] = src[i]!;
    }
    this.pos = p;
  }

  /** JSON text copied with tabs, CRs and LFs (insignificant whitespace there) turned into spaces. */
  copyJsonBlanking(src: Uint8Array, start: number, end: number): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      buf[p++] = c === TAB || c === NL || c === 13 ? SPACE : c;
    }
    this.pos = p;
  }

  /**
   * UTF-8 text (valid, as checked by the caller) as a text column: the quote, the backslash and
   * control characters escaped as JSON.stringify escapes them, everything else as it is (so the
   * bytes are those of `textField` on the decoded string). Makes its own room.
   */
  escaped(src: Uint8Array, start: number, end: number): void {
    this.reserve((end - start) * 6);
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (c >= 32 && c !== 34 && c !== 92) {
        buf[p++] = c;
        continue;
      }
      buf[p++] = BACKSLASH;
      switch (c) {
        case 34:
        case 92:
          buf[p++] = c;
          break;
        case 8:
          buf[p++] = 98; // b
          break;
        case 9:
          buf[p++] = 116; // t
          break;
        case 10:
          buf[p++] = 110; // n
          break;
        case 12:
          buf[p++] = 102; // f
          break;
        case 13:
          buf[p++] = 114; // r
          break;
        default:
          buf[p++] = 117; // u00XX
          buf[p++] = 48;
          buf[p++] = 48;
          buf[p++] = HEX[c >>> 4]!;
          buf[p++] = HEX[c & 15]!;
      }
    }
    this.pos = p;
  }

  /** A column separator. */
  tab(): void {
    this.buf[this.pos++] = TAB;
  }

  /** The NULL marker. */
  nul(): void {
    this.buf[this.pos++] = BACKSLASH;
    this.buf[this.pos++] = N_UPPER;
  }

  /** A JavaScript string as a text column (escaped, UTF-8), or NULL; makes its own room. */
  text(s: string | null): void {
    if (s === null) {
      this.reserve(2);
      return this.nul();
    }
    const t = textField(s);
    this.reserve(t.length * 3);
    this.pos += this.buf.write(t, this.pos, 'utf8');
  }

  /** A tab, then a text column. */
  private column(s: string | null): void {
    this.reserve(1);
    this.tab();
    this.text(s);
  }

  /** Ends the current row. */
  endRow(): void {
    if (this.pos - this.rowStart > this.longestRow) this.longestRow = this.pos - this.rowStart;
    this.buf[this.pos++] = NL;
    this.rowStart = this.pos;
    this.count++;
  }

  /** One whole row from a record (the path of protocols that decode into objects). */
  writeRecord(r: LogRecord): void {
    // Room for everything but the strings (two timestamps, separators, level, severity); each
    // string makes its own.
    this.reserve(96);
    this.bigint(r.ts);
    this.tab();
    this.bigint(r.receivedAt);
    this.tab();
    this.text(r.tenant);
    this.reserve(16);
    this.tab();
    if (r.level === null) this.nul();
    else this.ascii(r.level);
    this.tab();
    if (r.severity === null) this.nul();
    else this.int(r.severity);
    this.column(r.service);
    this.column(r.host);
    this.column(r.category);
    this.column(r.source);
    this.column(r.message);
    this.column(r.traceId);
    this.column(r.spanId);
    const attrs = attrsText(r.attrs);
    this.reserve(attrs.length * 3 + 2);
    this.tab();
    this.pos += this.buf.write(attrs, this.pos, 'utf8');
    this.endRow();
  }

  /** Forgets everything after the first `count` rows, which end at `pos`. */
  rollback(pos: number, count: number): void {
    this.pos = pos;
    this.rowStart = pos;
    this.count = count;
  }

  /** The rows written so far; the builder must not be used afterwards. */
  finish(): RowBatch {
    const buf = this.buf;
    const source = this.source;
    let released = false;
    return {
      bytes: buf.subarray(0, this.pos),
      count: this.count,
      longestRow: this.longestRow,
      release() {
        if (released) return;
        released = true;
        source.give(buf);
      },
    };
  }
}

/** JSON text (already valid) as the attrs column: tabs, CRs and LFs can only be whitespace. */
function attrsText(json: string): string {
  if (json.indexOf('\t') === -1 && json.indexOf('\r') === -1 && json.indexOf('\n') === -1) return json;
  return json.replace(/[\t\r\n]/g, ' ');
}

/** A text column's value, its JSON string escapes undone; null for `\N` (the inverse of `text`). */
export function textValue(column: string): string | null {
  if (column === NULL_FIELD) return null;
  return column.includes('\\') ? (JSON.parse(`"${column}"`) as string) : column;
}

/** Rows from records (tests, small batches). */
export function rowsOf(records: LogRecord[]): RowBatch {
  const b = new RowBatchBuilder();
  for (const r of records) b.writeRecord(r);
  return b.finish();
}

/** The inverse of the encoding: one row's text back into a record (tests and tools). */
export function decodeRow(line: string): LogRecord {
  const f = line.split('\t');
  if (f.length !== ROW_COLUMNS.length) throw new Error(`row has ${f.length} columns, expected ${ROW_COLUMNS.length}`);
  const text = textValue;
  return {
    ts: BigInt(f[0]!),
    receivedAt: BigInt(f[1]!),
    tenant: text(f[2]!) ?? '',
    level: f[3] === NULL_FIELD ? null : (f[3] as Level),
    severity: f[4] === NULL_FIELD ? null : Number(f[4]),
    service: text(f[5]!),
    host: text(f[6]!),
    category: text(f[7]!),
    source: text(f[8]!),
    message: text(f[9]!),
    traceId: text(f[10]!),
    spanId: text(f[11]!),
    attrs: f[12]!,
  };
}

/** Every row of a batch, decoded. */
export function decodeRows(batch: RowBatch): LogRecord[] {
  const text = batch.bytes.toString('utf8');
  if (text === '') return [];
  return text.slice(0, -1).split('\n').map(decodeRow);
}
