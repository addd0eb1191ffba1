// Rows in the row format (row-format.ts) turned into PostgreSQL's COPY text format, byte for byte
// and without decoding a record: COPY is the fastest way into PostgreSQL, and both formats are
// tab-separated lines with `\N` for NULL. What differs is the escaping. Text columns carry JSON
// string escapes; COPY reads `\n`, `\t`, `\r`, `\b`, `\f` and `\\` the same way and any other
// backslashed character as itself (`\"`, `\/`), so only `\uXXXX` needs rewriting, into UTF-8
// bytes. The attrs column is raw JSON, whose backslashes COPY would read as escapes: they are
// doubled. PostgreSQL text cannot hold U+0000, which becomes U+FFFD (as a lone surrogate does).
// Sequence numbers are not in the rows: they are written in front of each line as it is sent,
// once the load knows them.

import { hex4, utf8Into } from '../../model/utf8.js';
import { ROW_COLUMNS } from '../row-format.js';

const TAB = 9;
const NL = 10;
const BACKSLASH = 92;
const U = 117;
const N_UPPER = 78;
/** Column index of attrs, the one raw JSON column. */
const ATTRS = ROW_COLUMNS.length - 1;
const DAY_MICROS = 86_400_000_000;
const HOUR_MICROS = 3_600_000_000;
const REPLACEMENT = [0xef, 0xbf, 0xbd];

/** Rows of one (tenant, UTC day): what the store's per-day counts are kept from. */
export interface DayRows {
  tenant: string;
  /** Days since the epoch. */
  day: number;
  rows: number;
  minTs: number;
  maxTs: number;
  /** Index of its last row among the rows, for its highest sequence number. */
  lastRow: number;
}

export interface CopyRows {
  /** The rows in COPY text format, without their sequence numbers. */
  body: Buffer;
  /** Where each row ends in `body` (just after its newline). */
  ends: Uint32Array;
  rows: number;
  days: DayRows[];
  /** Rows per tenant and UTC hour (hours since the epoch): what counts over time are read from. */
  hours: { tenant: string; hour: number; rows: number }[];
}

/**
 * Rewrites rows of the row format as COPY text lines (without seq), counting rows per tenant day.
 * Most rows hold no backslash at all and go across as they are, found and copied by native
 * searches; only a row with one is rewritten byte by byte.
 */
export function toCopyRows(input: Uint8Array): CopyRows {
  const src = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  // Escapes only shrink, but for a backslash in attrs, which is doubled: the input and one byte
  // per backslash is always enough.
  let backslashes = 0;
  for (let b = src.indexOf(BACKSLASH); b !== -1; b = src.indexOf(BACKSLASH, b + 1)) backslashes++;
  const out = Buffer.allocUnsafe(src.length + backslashes + 16);
  let ends = new Uint32Array(1024);
  let rows = 0;
  let o = 0;
  const byKey = new Map<string, DayRows>();
  let last: DayRows | null = null;
  const byHour = new Map<string, { tenant: string; hour: number; rows: number }>();
  let lastHour: { tenant: string; hour: number; rows: number } | null = null;
  let lastTenant: Buffer | null = null;
  const n = src.length;
  let pos = 0;
  /** The next backslash at or after pos (n: none), searched again only once passed. */
  let nextBackslash = -1;
  while (pos < n) {
    const nl = src.indexOf(NL, pos);
    if (nl === -1) throw new Error(`row ${rows + 1} has no newline`);
    const t1 = src.indexOf(TAB, pos);
    const t2 = t1 === -1 ? -1 : src.indexOf(TAB, t1 + 1);
    const t3 = t2 === -1 ? -1 : src.indexOf(TAB, t2 + 1);
    if (t3 === -1 || t3 > nl) throw new Error(`row ${rows + 1} has too few columns`);
    let ts = 0;
    const neg = src[pos] === 45;
    for (let k = neg ? pos + 1 : pos; k < t1; k++) ts = ts * 10 + (src[k]! - 48);
    if (neg) ts = -ts;
    if (nextBackslash < pos) nextBackslash = backslashFrom(src, pos);
    // NULL markers (a whole column `\N`) mean the same to COPY: only other backslashes need the rewrite.
    let plain = true;
    while (nextBackslash < nl) {
      const b = nextBackslash;
      if (src[b - 1] !== TAB || src[b + 1] !== N_UPPER || (src[b + 2] !== TAB && src[b + 2] !== NL)) {
        plain = false;
        break;
      }
      nextBackslash = backslashFrom(src, b + 1);
    }
    if (plain) {
      o += src.copy(out, o, pos, nl + 1);
    } else {
      o = rewriteRow(src, pos, nl, out, o, rows);
    }
    // Most rows share the previous row's tenant: compared as bytes, decoded only when it changes.
    if (lastTenant === null || lastTenant.length !== t3 - t2 - 1 || src.compare(lastTenant, 0, lastTenant.length, t2 + 1, t3) !== 0) {
      lastTenant = src.subarray(t2 + 1, t3);
      last = null;
    }
    const day = Math.floor(ts / DAY_MICROS);
    if (last === null || last.day !== day) {
      const tenant: string = decodeTenant(lastTenant);
      const key: string = `${day}\u0000${tenant}`;
      last = byKey.get(key) ?? null;
      if (last === null) {
        last = { tenant, day, rows: 0, minTs: ts, maxTs: ts, lastRow: 0 };
        byKey.set(key, last);
      }
    }
    const hour = Math.floor(ts / HOUR_MICROS);
    if (lastHour === null || lastHour.hour !== hour || lastHour.tenant !== last.tenant) {
      const key: string = `${hour}\u0000${last.tenant}`;
      lastHour = byHour.get(key) ?? null;
      if (lastHour === null) {
        lastHour = { tenant: last.tenant, hour, rows: 0 };
        byHour.set(key, lastHour);
      }
    }
    lastHour.rows++;
    last.rows++;
    if (ts < last.minTs) last.minTs = ts;
    if (ts > last.maxTs) last.maxTs = ts;
    last.lastRow = rows;
    if (rows === ends.length) {
      const grown = new Uint32Array(ends.length * 2);
      grown.set(ends);
      ends = grown;
    }
    ends[rows++] = o;
    pos = nl + 1;
  }
  return { body: out.subarray(0, o), ends: ends.subarray(0, rows), rows, days: [...byKey.values()], hours: [...byHour.values()] };
}

/** The next backslash at or after `from`, or the end. */
function backslashFrom(src: Buffer, from: number): number {
  const b = src.indexOf(BACKSLASH, from);
  return b === -1 ? src.length : b;
}

/** One row [start, nl] holding a backslash, rewritten byte by byte into `out` at `o`; the new end. */
function rewriteRow(src: Buffer, start: number, nl: number, out: Buffer, o: number, row: number): number {
  let col = 0;
  let i = start;
  while (i <= nl) {
    const c = src[i]!;
    if (c === TAB || c === NL) {
      out[o++] = c;
      if (c === TAB) col++;
      else if (col !== ATTRS) throw new Error(`row ${row + 1} has ${col + 1} columns, expected ${ROW_COLUMNS.length}`);
      i++;
      continue;
    }
    if (c !== BACKSLASH) {
      out[o++] = c;
      i++;
      continue;
    }
    if (col === ATTRS) {
      out[o++] = BACKSLASH;
      out[o++] = BACKSLASH;
      i++;
      continue;
    }
    const next = src[i + 1];
    if (next !== U) {
      // `\N` (NULL), `\\`, `\n`, `\t`, `\r`, `\b`, `\f` mean the same to COPY; `\"`, `\/` are the character.
      out[o++] = BACKSLASH;
      out[o++] = next!;
      i += 2;
      continue;
    }
    let cp = hex4(src, i + 2);
    i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff && src[i] === BACKSLASH && src[i + 1] === U) {
      const low = hex4(src, i + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i += 6;
      }
    }
    o = writeCodePoint(out, o, cp);
  }
  return o;
}

/** One code point as COPY text: a control character escaped, U+0000 and lone surrogates as U+FFFD. */
function writeCodePoint(out: Buffer, o: number, cp: number): number {
  if (cp === 0 || cp < 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
    for (const b of REPLACEMENT) out[o++] = b;
    return o;
  }
  if (cp < 0x20 || cp === BACKSLASH || cp === 0x7f) {
    // \xHH: COPY's hex escape, so no raw tab, newline or backslash reaches it.
    out[o++] = BACKSLASH;
    out[o++] = 120;
    out[o++] = HEX[cp >> 4]!;
    out[o++] = HEX[cp & 15]!;
    return o;
  }
  return utf8Into(out, o, cp);
}

const HEX = Buffer.from('0123456789abcdef');

/** The tenant column's text (JSON escapes undone). */
function decodeTenant(raw: Buffer): string {
  const s = raw.toString('utf8');
  return s.includes('\\') ? (JSON.parse(`"${s}"`) as string) : s;
}

/**
 * The COPY lines of rows [from, to) of `rows`, each with its sequence number in front
 * (`first` + its index), as one buffer.
 */
export function numberedChunk(rows: CopyRows, from: number, to: number, first: bigint): Buffer {
  const start = from === 0 ? 0 : rows.ends[from - 1]!;
  const end = rows.ends[to - 1]!;
  const base = Number(first);
  // Digits of the largest number, a tab, per row.
  const width = String(base + to).length + 1;
  const out = Buffer.allocUnsafe(end - start + (to - from) * width);
  let o = 0;
  let at = start;
  for (let r = from; r < to; r++) {
    o += out.write(String(base + r), o, 'latin1');
    out[o++] = TAB;
    const e = rows.ends[r]!;
    o += rows.body.copy(out, o, at, e);
    at = e;
  }
  return out.subarray(0, o);
}
