// Rows of a spool segment (row-format.ts) as the category files' lines: the record's JSON (the
// form recordToJson gives and exports write), rendered from the segment's bytes straight into the
// buffer of the row's file. Text columns already hold JSON string escapes without the quotes, so
// a column becomes a JSON string by quoting its bytes; timestamps are formatted once per second
// they fall in. Nothing is decoded into strings but the category and the day: decoding every row
// into strings and objects left the writer's thread collecting garbage a third of its time.

import type { LevelCopy } from './store-pages.js';

/** A file's buffer, filled up to `bytes`. */
export interface LineTarget {
  buf: Buffer;
  bytes: number;
}

/** Where rows are rendered: straight into the buffer of their file. */
export interface LineSink {
  /** The buffer of the day's file of a category column (as the row holds it), with room for `most` more bytes. */
  target(day: string, category: string, most: number): LineTarget;
  /** `length` bytes (a line, newline included) were written into `target` from its `bytes` on. */
  wrote(day: string, target: LineTarget, length: number, copy: LevelCopy): void;
}

const ascii = (s: string) => Buffer.from(s, 'latin1');
const TS = ascii('{"ts":"');
const RECEIVED_AT = ascii('","received_at":"');
const TENANT = ascii('","tenant":');
const ERROR = ascii('error');
const FATAL = ascii('fatal');
const WARN = ascii('warn');
const LEVEL = ascii(',"level":');
const SEVERITY = ascii(',"severity":');
const SERVICE = ascii(',"service":');
const HOST = ascii(',"host":');
const CATEGORY = ascii(',"category":');
const SOURCE = ascii(',"source":');
const MESSAGE = ascii(',"message":');
const TRACE_ID = ascii(',"trace_id":');
const SPAN_ID = ascii(',"span_id":');
const ATTRS = ascii(',"attrs":');
const NULL_JSON = ascii('null');

const TAB = 9;
const NL = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const N_UPPER = 78;
/** Columns before attrs, which runs to the end of the line. */
const TABBED_COLUMNS = 12;
/** Bytes a line adds to its row's at the most: keys, quotes, timestamps as text, nulls. */
const LINE_OVERHEAD = 256;
/** Columns shorter than this are copied a byte at a time (cheaper than a native copy's call). */
const NATIVE_COPY_BYTES = 64;

/** `YYYY-MM-DDTHH:MM:SS` of the last whole second formatted, one per timestamp column; rows mostly share their second with the row before. */
class SecondCache {
  second = Number.NaN;
  /** `YYYY-MM-DDTHH:MM:SS` of `second`. */
  readonly prefix = Buffer.alloc(19);
  /** `YYYY-MM-DD` of `second`. */
  day = '';
  private dayNumber = Number.NaN;

  /**
   * Makes `second` (since the epoch) the cached one. The date is formatted once per day; the time
   * of day is written as digits, so rows out of time order (a protocol grouping records by
   * resource or stream) cost no more than rows in it.
   */
  set(second: number): void {
    this.second = second;
    const dayNumber = Math.floor(second / 86_400);
    if (dayNumber !== this.dayNumber) {
      this.dayNumber = dayNumber;
      this.day = new Date(dayNumber * 86_400_000).toISOString().slice(0, 10);
      this.prefix.write(this.day, 0, 'latin1');
      this.prefix[10] = 84; // T
      this.prefix[13] = 58; // :
      this.prefix[16] = 58;
    }
    const inDay = second - dayNumber * 86_400;
    const hours = Math.floor(inDay / 3600);
    const minutes = Math.floor((inDay - hours * 3600) / 60);
    twoDigits(this.prefix, 11, hours);
    twoDigits(this.prefix, 14, minutes);
    twoDigits(this.prefix, 17, inDay - hours * 3600 - minutes * 60);
  }
}

function twoDigits(out: Buffer, at: number, n: number): void {
  const tens = Math.floor(n / 10);
  out[at] = 48 + tens;
  out[at + 1] = 48 + n - tens * 10;
}

/**
 * Reads a segment's bytes from file position `position` into `into` from `offset` on (as much as
 * fits); returns how many, 0 at the end.
 */
export type SegmentBytes = (into: Buffer, offset: number, position: number) => number;

/** Bytes of a segment held at once: the rows are read through a window, not the whole file. */
const WINDOW_BYTES = 1 << 20;

/** SegmentBytes of bytes already in memory. */
export function bytesOf(bytes: Buffer): SegmentBytes {
  return (into, offset, position) => (position >= bytes.length ? 0 : bytes.copy(into, offset, position));
}

/**
 * A segment's rows rendered a page at a time, in order, without scanning from the start each
 * time. The segment is read through a window of a megabyte (more only for a longer row): a whole
 * segment can be 30–160 MB.
 */
export class SegmentRows {
  /** The window: the segment's bytes from file position `windowAt` on, `windowEnd` of them. */
  private bytes: Buffer;
  private windowAt = 0;
  private windowEnd = 0;
  /** The window reaches the end of the segment. */
  private ended = false;
  /** Where row `nextSeq` starts in the window. */
  private at = 0;
  private nextSeq: bigint;
  /** Where the line is being rendered. */
  private out: Buffer = Buffer.alloc(0);
  private pos = 0;
  private readonly starts = new Int32Array(TABBED_COLUMNS + 1);
  private readonly ends = new Int32Array(TABBED_COLUMNS + 1);
  private readonly ts = new SecondCache();
  private readonly receivedAt = new SecondCache();
  /** The last category column decoded, and its bytes: rows of a segment mostly share a few. */
  private category = '';
  private categoryBytes = Buffer.alloc(256);
  private categoryLength = -1;

  /** `window`: where the segment is read (a caller's, reused from one segment to the next). */
  constructor(
    private readonly read: SegmentBytes,
    readonly firstSeq: bigint,
    window: Buffer = Buffer.allocUnsafe(WINDOW_BYTES),
  ) {
    this.nextSeq = firstSeq;
    this.bytes = window;
  }

  /** The rows (lines) in a segment, read through `scratch`. */
  static count(read: SegmentBytes, scratch: Buffer = Buffer.allocUnsafe(WINDOW_BYTES)): number {
    let n = 0;
    for (let position = 0; ; ) {
      const got = read(scratch, 0, position);
      if (got === 0) return n;
      position += got;
      const chunk = scratch.subarray(0, got);
      for (let at = chunk.indexOf(NL); at !== -1; at = chunk.indexOf(NL, at + 1)) n++;
    }
  }

  /**
   * Renders up to `limit` rows from `seq` on into `sink`; returns how many. Fewer at the end of
   * the segment, or before a row that is not a row of the format (the segment is not what it
   * says it is).
   */
  render(seq: bigint, limit: number, sink: LineSink): number {
    if (seq < this.nextSeq) this.rewind();
    // Rows before `seq` skipped a line at a time.
    while (this.nextSeq < seq) {
      const nl = this.lineEnd();
      if (nl === -1) break;
      this.at = nl + 1;
      this.nextSeq++;
    }
    let n = 0;
    while (n < limit) {
      const nl = this.lineEnd();
      if (nl === -1 || !this.renderRow(this.at, nl, sink)) break;
      this.at = nl + 1;
      this.nextSeq++;
      n++;
    }
    return n;
  }

  private rewind(): void {
    this.windowAt = 0;
    this.windowEnd = 0;
    this.ended = false;
    this.at = 0;
    this.nextSeq = this.firstSeq;
  }

  /**
   * Where the row at `at` ends in the window (its newline, or the segment's end), the window moved
   * on as needed to hold it whole; -1 when no row is left.
   */
  private lineEnd(): number {
    for (;;) {
      const nl = this.at < this.windowEnd ? this.bytes.indexOf(NL, this.at) : -1;
      if (nl !== -1 && nl < this.windowEnd) return nl;
      if (this.ended) return this.at < this.windowEnd ? this.windowEnd : -1;
      // The row runs past the window: what is left of the window moves to its start, and the
      // rest is read after it (into a window twice the size when the row fills this one).
      const left = this.windowEnd - this.at;
      if (left === this.bytes.length) {
        const wider = Buffer.allocUnsafe(2 * this.bytes.length);
        this.bytes.copy(wider, 0, this.at, this.windowEnd);
        this.bytes = wider;
      } else if (this.at > 0) this.bytes.copy(this.bytes, 0, this.at, this.windowEnd);
      this.windowAt += this.at;
      this.at = 0;
      this.windowEnd = left;
      while (this.windowEnd < this.bytes.length) {
        const got = this.read(this.bytes, this.windowEnd, this.windowAt + this.windowEnd);
        if (got === 0) {
          this.ended = true;
          break;
        }
        this.windowEnd += got;
      }
    }
  }

  /** One row, bytes [start, end) without the newline; false when it has too few columns. */
  private renderRow(start: number, end: number, sink: LineSink): boolean {
    const b = this.bytes;
    const starts = this.starts;
    const ends = this.ends;
    let p = start;
    for (let i = 0; i < TABBED_COLUMNS; i++) {
      let t = p;
      while (t < end && b[t] !== TAB) t++;
      if (t === end) return false;
      starts[i] = p;
      ends[i] = t;
      p = t + 1;
    }
    starts[TABBED_COLUMNS] = p;
    ends[TABBED_COLUMNS] = end;
    const tsFraction = this.clock(0, this.ts);
    const receivedFraction = this.clock(1, this.receivedAt);
    const target = sink.target(this.ts.day, this.categoryColumn(), end - start + LINE_OVERHEAD);
    this.out = target.buf;
    this.pos = target.bytes;
    this.put(TS);
    this.put(this.ts.prefix);
    this.fraction(tsFraction);
    this.put(RECEIVED_AT);
    this.put(this.receivedAt.prefix);
    this.fraction(receivedFraction);
    this.put(TENANT);
    this.text(2);
    this.put(LEVEL);
    this.text(3);
    this.put(SEVERITY);
    if (this.isNull(4)) this.put(NULL_JSON);
    else this.copy(4);
    this.put(SERVICE);
    this.text(5);
    this.put(HOST);
    this.text(6);
    this.put(CATEGORY);
    this.text(7);
    this.put(SOURCE);
    this.text(8);
    this.put(MESSAGE);
    this.text(9);
    this.put(TRACE_ID);
    this.text(10);
    this.put(SPAN_ID);
    this.text(11);
    this.put(ATTRS);
    this.copy(12);
    this.out[this.pos++] = 125; // }
    this.out[this.pos++] = NL;
    sink.wrote(this.ts.day, target, this.pos - target.bytes, this.levelCopy());
    return true;
  }

  /** The category column as text, decoded only when it differs from the last row's. */
  private categoryColumn(): string {
    const s = this.starts[7]!;
    const n = this.ends[7]! - s;
    const b = this.bytes;
    let same = n === this.categoryLength;
    for (let i = 0; same && i < n; i++) same = b[s + i] === this.categoryBytes[i];
    if (same) return this.category;
    this.category = b.toString('utf8', s, s + n);
    if (this.categoryBytes.length < n) this.categoryBytes = Buffer.alloc(2 * n);
    b.copy(this.categoryBytes, 0, s, s + n);
    this.categoryLength = n;
    return this.category;
  }

  /** levelCopy of the level column, read from its bytes. */
  private levelCopy(): LevelCopy {
    if (this.is(3, ERROR) || this.is(3, FATAL)) return 'e';
    return this.is(3, WARN) ? 'w' : '-';
  }

  private is(col: number, text: Buffer): boolean {
    const s = this.starts[col]!;
    if (this.ends[col]! - s !== text.length) return false;
    for (let i = 0; i < text.length; i++) if (this.bytes[s + i] !== text[i]) return false;
    return true;
  }

  private isNull(col: number): boolean {
    const s = this.starts[col]!;
    return this.ends[col]! - s === 2 && this.bytes[s] === BACKSLASH && this.bytes[s + 1] === N_UPPER;
  }

  /** A text column as a JSON string (its bytes quoted), or null. */
  private text(col: number): void {
    if (this.isNull(col)) {
      this.put(NULL_JSON);
      return;
    }
    this.out[this.pos++] = QUOTE;
    this.copy(col);
    this.out[this.pos++] = QUOTE;
  }

  private copy(col: number): void {
    const s = this.starts[col]!;
    const e = this.ends[col]!;
    if (e - s >= NATIVE_COPY_BYTES) {
      this.bytes.copy(this.out, this.pos, s, e);
      this.pos += e - s;
      return;
    }
    const b = this.bytes;
    const out = this.out;
    let p = this.pos;
    for (let i = s; i < e; i++) out[p++] = b[i]!;
    this.pos = p;
  }

  private put(piece: Buffer): void {
    const out = this.out;
    let p = this.pos;
    for (let i = 0; i < piece.length; i++) out[p++] = piece[i]!;
    this.pos = p;
  }

  /**
   * A timestamp column (integer µs): sets `cache` to its second (formatted once per second) and
   * returns the µs within it; exact for the years 1677–2262 the store takes.
   */
  private clock(col: number, cache: SecondCache): number {
    const b = this.bytes;
    const s = this.starts[col]!;
    const e = this.ends[col]!;
    let i = s;
    const negative = b[i] === 45;
    if (negative) i++;
    let us = 0;
    for (; i < e; i++) us = us * 10 + (b[i]! - 48);
    if (negative) us = -us;
    if (!Number.isSafeInteger(us)) {
      // Beyond 2^53 µs (past the year 2255): through BigInt, still exact.
      const big = BigInt(b.toString('latin1', s, e));
      const second = big / 1_000_000n - (big % 1_000_000n < 0n ? 1n : 0n);
      if (Number(second) !== cache.second) cache.set(Number(second));
      return Number(big - second * 1_000_000n);
    }
    const second = Math.floor(us / 1_000_000);
    if (second !== cache.second) cache.set(second);
    return us - second * 1_000_000;
  }

  /** `.ffffffZ`: the µs within the second, six digits. */
  private fraction(us: number): void {
    const out = this.out;
    out[this.pos] = 46; // .
    let x = us;
    for (let p = this.pos + 6; p > this.pos; p--) {
      const q = Math.floor(x / 10);
      out[p] = 48 + (x - q * 10);
      x = q;
    }
    out[this.pos + 7] = 90; // Z
    this.pos += 8;
  }
}
