// Builds the SegmentSummary of a segment from its rows in the row format (row-format.ts): the
// spool file the segment was loaded from, read in chunks, cut into blocks of BLOCK_ROWS rows.
// Runs on the index worker thread, off the ingest path; it allocates no object per row.
//
// Everything here mirrors what the engine compares (query/sql.ts): words of lower(message) and
// lower(attrs JSON text), exact column values, json_extract_string of attribute paths, and
// TRY_CAST(… AS DOUBLE) for numeric comparisons. Where the index cannot tell for sure, it says
// "may match" (ATTR_ANY, infinite ranges), never "cannot match".

import { LEVELS } from '../../model/record.js';
import { bytesEqual } from '../../model/bytes.js';
import { hex4, utf8Into } from '../../model/utf8.js';
import { isWordByte } from '../../query/words.js';
import { HashSet64, filterSize } from './block-bloom.js';
import {
  BLOCK_ROWS,
  FILTER_BITS_PER_TOKEN,
  INDEXED_COLUMNS,
  LEVEL_NULL_BIT,
  MAX_LISTED_TENANTS,
  MAX_NUMERIC_PATHS,
  TOKEN_ATTR,
  MAX_INEXACT_PATHS,
  TOKEN_COLUMN,
  TOKEN_TENANT,
  TOKEN_WORD,
  TOKEN_WORD_PREFIX,
  WORD_PREFIX_LENGTH,
  type BlockMeta,
  type NumericRange,
  type SummaryHeader,
} from './segment-summary.js';
import { hashOut, hashToken } from './token-hash.js';

const TAB = 9;
const NL = 10;
const BACKSLASH = 92;
const QUOTE = 34;

/** Room in a segment's block filters over the tokens of its first block. */
const FILTER_HEADROOM = 1.1;

/** Row columns (row-format.ts order) and the index kind of each indexed text column. */
const COL_TENANT = 2;
const COL_LEVEL = 3;
const COL_MESSAGE = 9;
const COL_ATTRS = 12;
const COLUMN_KIND: (number | undefined)[] = [];
COLUMN_KIND[5] = TOKEN_COLUMN + INDEXED_COLUMNS.indexOf('service');
COLUMN_KIND[6] = TOKEN_COLUMN + INDEXED_COLUMNS.indexOf('host');
COLUMN_KIND[7] = TOKEN_COLUMN + INDEXED_COLUMNS.indexOf('category');
COLUMN_KIND[8] = TOKEN_COLUMN + INDEXED_COLUMNS.indexOf('source');
COLUMN_KIND[10] = TOKEN_COLUMN + INDEXED_COLUMNS.indexOf('trace_id');
COLUMN_KIND[11] = TOKEN_COLUMN + INDEXED_COLUMNS.indexOf('span_id');

const LEVEL_BYTES = LEVELS.map((l) => Buffer.from(l, 'latin1'));

/** The bit of the level in buf[s, e) (0 for none of LEVELS), without making a string. */
function levelBit(buf: Buffer, s: number, e: number): number {
  const n = e - s;
  outer: for (let l = 0; l < LEVEL_BYTES.length; l++) {
    const name = LEVEL_BYTES[l]!;
    if (name.length !== n) continue;
    for (let i = 0; i < n; i++) if (buf[s + i] !== name[i]) continue outer;
    return 1 << l;
  }
  return 0;
}

/** A path segment the query language can name (query/fields.ts): [A-Za-z0-9_@-]. */
function isSegmentByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x40 || b === 0x2d;
}

interface NumericEntry extends NumericRange {
  path: string;
}

/**
 * Per-path entries of one block, found from the path's bytes without making a string of them
 * (the string is made once, when a path is first seen).
 */
class PathTable<T extends { path: string }> {
  private readonly byHash = new Map<number, { bytes: Buffer; entry: T }[]>();
  size = 0;

  get(path: Buffer, len: number): T | undefined {
    hashToken(0, path, 0, len);
    const list = this.byHash.get(hashOut[0]! * 0x200000 + (hashOut[1]! & 0x1fffff));
    if (list === undefined) return undefined;
    for (const e of list) if (e.bytes.length === len && bytesEqual(e.bytes, 0, path, 0, len)) return e.entry;
    return undefined;
  }

  /** Adds an entry for a path get() did not find. */
  add(path: Buffer, len: number, make: (path: string) => T): T {
    hashToken(0, path, 0, len);
    const key = hashOut[0]! * 0x200000 + (hashOut[1]! & 0x1fffff);
    const entry = make(path.toString('latin1', 0, len));
    const list = this.byHash.get(key);
    const item = { bytes: Buffer.from(path.subarray(0, len)), entry };
    if (list) list.push(item);
    else this.byHash.set(key, [item]);
    this.size++;
    return entry;
  }

  *values(): IterableIterator<T> {
    for (const list of this.byHash.values()) for (const e of list) yield e.entry;
  }

  clear(): void {
    this.byHash.clear();
    this.size = 0;
  }
}

/** What a summary holds besides its filter, and the filter's words (interleaved, block-bloom.ts). */
export interface BuiltSummary {
  summary: SummaryHeader;
  words: Uint32Array;
}

export class SegmentIndexer {
  /** Distinct token hashes of the block being read. */
  private readonly hashes = new HashSet64(1 << 14);
  /**
   * The filters of the segment's finished blocks, one after the other (block b's `size` filter
   * blocks start at word b × size × 8), interleaved into `filterWords` when the segment ends.
   * Both are kept from one segment to the next (the worker reuses its indexer), so indexing makes
   * no garbage in proportion to the rows.
   */
  private filters = new Uint32Array(1 << 16);
  private filterWords = new Uint32Array(1 << 16);
  /** Filter blocks per block filter: set by the segment's first block (0 until then). */
  private size = 0;
  /** Most distinct tokens in a block of this segment, and of the segment indexed before it. */
  private fullest = 0;
  private lastFullest = 0;
  private readonly metas: Omit<BlockMeta, 'firstSeq' | 'lastSeq'>[] = [];
  private rows = 0;
  /** The block being read. */
  private blockRows = 0;
  private minTs = 0n;
  private maxTs = 0n;
  private levels = 0;
  private readonly tenants = new Set<string>();
  private tenantsOverflow = false;
  private readonly numeric = new PathTable<NumericEntry>();
  private numericOverflow = false;
  /** Paths with values the filter does not hold exactly. */
  private readonly inexact = new PathTable<{ path: string }>();
  private inexactOverflow = false;
  /** A row cut by the end of a chunk, completed by the next. */
  private carry: Buffer | null = null;
  /** Scratch space: unescaped text, lower-cased words, the current attribute path and value. */
  private text = Buffer.alloc(1 << 16);
  private word = Buffer.alloc(1 << 12);
  private path = Buffer.alloc(1 << 12);
  private value = Buffer.alloc(1 << 16);

  /**
   * Takes the next bytes of the file; rows may be split anywhere between calls. Only a row cut by
   * the end of a chunk is copied (the worker reuses one read buffer for every chunk).
   */
  push(chunk: Buffer): void {
    let start = 0;
    if (this.carry !== null) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const row = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = null;
      this.nextRow(row, 0, row.length - 1);
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl === -1) break;
      this.nextRow(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.carry = Buffer.from(chunk.subarray(start));
  }

  private nextRow(buf: Buffer, start: number, end: number): void {
    if (this.blockRows === BLOCK_ROWS) this.closeBlock();
    this.row(buf, start, end);
  }

  /**
   * The summary of every row pushed, numbered from firstSeq; lastSeq must agree with the rows.
   * Its words are this indexer's own buffer, valid until it finishes the next segment; after this
   * the indexer is empty and takes the rows of another segment.
   */
  finish(firstSeq: bigint, lastSeq: bigint): BuiltSummary {
    if (this.carry !== null && this.carry.length > 0) throw new Error('the last row of the segment has no newline');
    if (this.blockRows > 0) this.closeBlock();
    const blocks = this.metas.length;
    const size = Math.max(this.size, 1);
    const length = size * blocks * 8;
    if (this.filterWords.length < length) this.filterWords = new Uint32Array(length);
    const words = this.filterWords.subarray(0, length);
    const filters = this.filters;
    // Filter block i of block 0, of block 1, …, then filter block i + 1 (block-bloom.ts).
    for (let b = 0; b < blocks; b++) {
      for (let i = 0; i < size; i++) {
        const from = (b * size + i) * 8;
        const to = (i * blocks + b) * 8;
        for (let w = 0; w < 8; w++) words[to + w] = filters[from + w]!;
      }
    }
    let seq = firstSeq;
    const metas: BlockMeta[] = this.metas.map((m) => {
      const meta = { ...m, firstSeq: seq, lastSeq: seq + BigInt(m.rows) - 1n };
      seq += BigInt(m.rows);
      return meta;
    });
    const rows = this.rows;
    this.rows = 0;
    this.metas.length = 0;
    this.size = 0;
    this.lastFullest = this.fullest;
    this.fullest = 0;
    this.carry = null;
    if (seq - 1n !== lastSeq) throw new Error(`the rows end at ${seq - 1n}, the segment at ${lastSeq}`);
    return { summary: { firstSeq, lastSeq, rows, blocks: metas, filterSize: size }, words };
  }

  private closeBlock(): void {
    const tokens = this.hashes.size;
    // The filter size is set once per segment, by its first block with room to spare (or by the
    // fullest block of the segment before, if larger): blocks are BLOCK_ROWS rows of the same
    // stream, so they hold about as many distinct tokens. A block with more than that room only
    // sees more false positives, never a false negative.
    if (this.size === 0) this.size = filterSize(Math.ceil(Math.max(tokens * FILTER_HEADROOM, this.lastFullest)), FILTER_BITS_PER_TOKEN);
    if (tokens > this.fullest) this.fullest = tokens;
    const size = this.size;
    const at = this.metas.length * size * 8;
    if (this.filters.length < at + size * 8) {
      const grown = new Uint32Array(Math.max(at + size * 8, this.filters.length * 2));
      grown.set(this.filters.subarray(0, at));
      this.filters = grown;
    }
    this.filters.fill(0, at, at + size * 8);
    this.hashes.addAllToFilter(this.filters, at, size);
    const numeric = new Map<string, NumericRange>();
    for (const e of this.numeric.values()) numeric.set(e.path, { min: e.min, max: e.max });
    this.metas.push({
      rows: this.blockRows,
      minTs: this.minTs,
      maxTs: this.maxTs,
      levels: this.levels,
      tenants: this.tenantsOverflow ? null : [...this.tenants],
      numeric,
      numericOverflow: this.numericOverflow,
      inexact: this.inexactOverflow ? null : [...this.inexact.values()].map((e) => e.path),
      tokens,
    });
    this.hashes.clear();
    this.blockRows = 0;
    this.levels = 0;
    this.tenants.clear();
    this.tenantsOverflow = false;
    this.numeric.clear();
    this.numericOverflow = false;
    this.inexact.clear();
    this.inexactOverflow = false;
  }

  private add(kind: number, bytes: Uint8Array, start: number, end: number): void {
    hashToken(kind, bytes, start, end);
    this.hashes.add(hashOut[0]!, hashOut[1]!);
  }

  private row(buf: Buffer, start: number, end: number): void {
    this.rows++;
    const ts = timestampAt(buf, start);
    if (this.blockRows === 0 || ts < this.minTs) this.minTs = ts;
    if (this.blockRows === 0 || ts > this.maxTs) this.maxTs = ts;
    this.blockRows++;
    let col = 0;
    let s = start;
    for (let i = start; i <= end; i++) {
      if (i < end && buf[i] !== TAB) continue;
      this.column(col, buf, s, i);
      col++;
      s = i + 1;
    }
  }

  private column(col: number, buf: Buffer, s: number, e: number): void {
    const isNull = e - s === 2 && buf[s] === BACKSLASH && buf[s + 1] === 78;
    if (col === COL_LEVEL) {
      this.levels |= isNull ? 1 << LEVEL_NULL_BIT : levelBit(buf, s, e);
      return;
    }
    if (isNull) return;
    if (col === COL_ATTRS) {
      this.words(buf, s, e);
      this.attrs(buf, s, e);
      return;
    }
    const kind = COLUMN_KIND[col];
    if (kind === undefined && col !== COL_TENANT && col !== COL_MESSAGE) return;
    const n = this.unescape(buf, s, e);
    const text = this.text;
    if (col === COL_MESSAGE) this.words(text, 0, n);
    else if (col === COL_TENANT) {
      this.add(TOKEN_TENANT, text, 0, n);
      if (!this.tenantsOverflow) {
        this.tenants.add(text.toString('utf8', 0, n));
        if (this.tenants.size > MAX_LISTED_TENANTS) this.tenantsOverflow = true;
      }
    } else this.add(kind!, text, 0, n);
  }

  /** A text column's JSON string escapes decoded into this.text; returns the length. */
  private unescape(buf: Buffer, s: number, e: number): number {
    if (e - s > this.text.length) this.text = Buffer.alloc(Math.max(e - s, this.text.length * 2));
    if (!hasByte(buf, BACKSLASH, s, e)) {
      return copyBytes(buf, s, e, this.text, 0);
    }
    return decodeJsonString(buf, s, e, this.text);
  }

  /**
   * The words of UTF-8 text as the engine's lower() sees them. Words of ASCII characters are
   * lower-cased byte by byte; a word with other characters only matters to the index when the
   * engine lower-cases it to ASCII (K KELVIN SIGN → k, İ → i), since the planner never looks up
   * a word that is not ASCII. Prefix tokens take the first four characters when they are ASCII.
   */
  private words(buf: Uint8Array, s: number, e: number): void {
    let i = s;
    while (i < e) {
      while (i < e && !isWordByte(buf[i]!)) i++;
      if (i >= e) break;
      const start = i;
      let ascii = true;
      while (i < e && isWordByte(buf[i]!)) {
        if (buf[i]! >= 0x80) ascii = false;
        i++;
      }
      if (ascii) this.asciiWord(buf, start, i);
      else this.unicodeWord(buf, start, i);
    }
  }

  private asciiWord(buf: Uint8Array, s: number, e: number): void {
    const n = e - s;
    if (n > this.word.length) this.word = Buffer.alloc(n * 2);
    const w = this.word;
    for (let j = 0; j < n; j++) {
      const c = buf[s + j]!;
      w[j] = c >= 0x41 && c <= 0x5a ? c + 32 : c;
    }
    this.add(TOKEN_WORD, w, 0, n);
    if (n >= WORD_PREFIX_LENGTH && isLetters(w, WORD_PREFIX_LENGTH)) this.add(TOKEN_WORD_PREFIX, w, 0, WORD_PREFIX_LENGTH);
  }

  private unicodeWord(buf: Uint8Array, s: number, e: number): void {
    const n = e - s;
    if (n > this.word.length) this.word = Buffer.alloc(n * 2);
    const w = this.word;
    let len = 0;
    let chars = 0;
    let asciiChars = 0; // leading characters that are ASCII once lower-cased
    let allAscii = true;
    let i = s;
    while (i < e) {
      const c = buf[i]!;
      let cp: number;
      let size: number;
      if (c < 0x80) [cp, size] = [c, 1];
      else if (c < 0xe0) [cp, size] = [((c & 0x1f) << 6) | (buf[i + 1]! & 0x3f), 2];
      else if (c < 0xf0) [cp, size] = [((c & 0x0f) << 12) | ((buf[i + 1]! & 0x3f) << 6) | (buf[i + 2]! & 0x3f), 3];
      else [cp, size] = [0x10000, 4];
      const lower = cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp === 0x212a ? 0x6b : cp === 0x130 ? 0x69 : cp;
      if (lower < 0x80) {
        w[len++] = lower;
        if (asciiChars === chars) asciiChars++;
      } else {
        allAscii = false;
        for (let k = 0; k < size; k++) w[len++] = buf[i + k]!;
      }
      chars++;
      i += size;
    }
    if (allAscii) this.add(TOKEN_WORD, w, 0, len);
    if (asciiChars >= WORD_PREFIX_LENGTH && isLetters(w, WORD_PREFIX_LENGTH)) this.add(TOKEN_WORD_PREFIX, w, 0, WORD_PREFIX_LENGTH);
  }

  /**
   * Walks the attrs object (valid JSON, as the store accepted it): for every leaf reachable by a
   * query path, an ATTR token of its value or an ATTR_ANY token of its path, and numeric ranges.
   */
  private attrs(buf: Buffer, s: number, e: number): void {
    const walker = new JsonWalker(buf, s, e, this);
    walker.walk();
  }

  /** Called by the walker for each value at a nameable path (this.path[0, pathLen)). */
  leaf(kind: 'string' | 'number' | 'literal' | 'container', buf: Buffer, vs: number, ve: number, pathLen: number): void {
    const path = this.path;
    if (kind === 'container') {
      this.inexactPath(pathLen);
      return;
    }
    let vlen: number;
    if (kind === 'string') {
      if (ve - vs > this.value.length) this.value = Buffer.alloc((ve - vs) * 2);
      vlen = hasByte(buf, BACKSLASH, vs, ve) ? decodeJsonString(buf, vs, ve, this.value) : copyBytes(buf, vs, ve, this.value, 0);
      let digit = false;
      for (let i = 0; i < vlen; i++) {
        const c = this.value[i]!;
        if (c >= 0x30 && c <= 0x39) {
          digit = true;
          break;
        }
      }
      if (digit) this.numericValue(pathLen, -Infinity, Infinity);
    } else {
      if (ve - vs > this.value.length) this.value = Buffer.alloc((ve - vs) * 2);
      vlen = copyBytes(buf, vs, ve, this.value, 0);
      if (kind === 'number') {
        const n = numberAt(buf, vs, ve);
        this.numericValue(pathLen, n, n);
        if (!isCanonicalInteger(buf, vs, ve)) {
          // The engine renders 5e2 as "500.0" and -0 as "0": equality on it is not the raw text.
          this.inexactPath(pathLen);
          return;
        }
      }
    }
    // path \0 value, hashed as one token.
    const total = pathLen + 1 + vlen;
    if (total > this.path.length) this.growPath(total);
    this.path[pathLen] = 0;
    copyBytes(this.value, 0, vlen, this.path, pathLen + 1);
    this.add(TOKEN_ATTR, this.path, 0, total);
  }

  /** Room for `n` bytes of path (and value) in this.path, keeping what is there. */
  growPath(n: number): void {
    const next = Buffer.alloc(Math.max(n, this.path.length * 2));
    this.path.copy(next);
    this.path = next;
  }

  pathBuffer(): Buffer {
    return this.path;
  }

  /** Lists the path (this.path[0, pathLen)) as one whose values equality cannot rule out. */
  private inexactPath(pathLen: number): void {
    if (this.inexactOverflow || this.inexact.get(this.path, pathLen) !== undefined) return;
    if (this.inexact.size >= MAX_INEXACT_PATHS) {
      this.inexactOverflow = true;
      return;
    }
    this.inexact.add(this.path, pathLen, (path) => ({ path }));
  }

  private numericValue(pathLen: number, min: number, max: number): void {
    const had = this.numeric.get(this.path, pathLen);
    if (had) {
      if (min < had.min) had.min = min;
      if (max > had.max) had.max = max;
      return;
    }
    if (this.numeric.size >= MAX_NUMERIC_PATHS) {
      this.numericOverflow = true;
      return;
    }
    this.numeric.add(this.path, pathLen, (path) => ({ path, min, max }));
  }
}

/**
 * Whether the first `n` bytes are lower-case ASCII letters: only such starts get a prefix token
 * (`timeo*`). Ids and numbers (`a3f9…`, `1234…`) would add one nearly unique token each.
 */
function isLetters(w: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (w[i]! < 0x61 || w[i]! > 0x7a) return false;
  return true;
}

/** The integer at the start of a row (its ts, µs): a double while exact, a bigint beyond. */
function timestampAt(buf: Buffer, start: number): bigint {
  let i = start;
  const neg = buf[i] === 45;
  if (neg) i++;
  let v = 0;
  for (let c = buf[i]!; c >= 48 && c <= 57; c = buf[++i]!) v = v * 10 + (c - 48);
  if (v <= Number.MAX_SAFE_INTEGER) return BigInt(neg ? -v : v);
  return BigInt(buf.toString('latin1', start, i));
}

/** Whether buf[s, e) holds the byte `b`. */
function hasByte(buf: Buffer, b: number, s: number, e: number): boolean {
  if (e - s > 256) return buf.subarray(s, e).indexOf(b) !== -1;
  for (let i = s; i < e; i++) if (buf[i] === b) return true;
  return false;
}

/**
 * Copies src[s, e) to dst at `at`; returns the length. Short runs (most values and keys) are
 * copied here: Buffer#copy of a part of a buffer makes a view object each call.
 */
function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, at: number): number {
  const n = e - s;
  if (n > 64) dst.set(src.subarray(s, e), at);
  else for (let i = 0; i < n; i++) dst[at + i] = src[s + i]!;
  return n;
}

/** The JSON number in buf[s, e) as the engine's TRY_CAST to DOUBLE reads it. */
function numberAt(buf: Buffer, s: number, e: number): number {
  // Plain integers of up to 15 digits (exact in a double) without making a string.
  let i = s;
  const neg = buf[i] === 45;
  if (neg) i++;
  if (e - i <= 15 && i < e) {
    let v = 0;
    for (; i < e; i++) {
      const c = buf[i]!;
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
    }
    if (i === e) return neg ? -v : v;
  }
  return Number(buf.toString('latin1', s, e));
}

/** -?(0|[1-9][0-9]{0,17}) but not -0: an integer the engine renders exactly as written. */
function isCanonicalInteger(buf: Buffer, s: number, e: number): boolean {
  let i = s;
  if (buf[i] === 45) i++;
  const digits = e - i;
  if (digits < 1 || digits > 18) return false;
  if (buf[i] === 0x30) return digits === 1 && i === s;
  for (let j = i; j < e; j++) if (buf[j]! < 0x30 || buf[j]! > 0x39) return false;
  return true;
}

/**
 * A pass over one JSON object (valid) that keeps the path of the current value in the indexer's
 * path buffer (`a.b.c`) and reports every value at a path the query language can name.
 */
class JsonWalker {
  private i: number;

  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly end: number,
    private readonly sink: SegmentIndexer,
  ) {
    this.i = start;
  }

  walk(): void {
    this.ws();
    if (this.buf[this.i] !== 0x7b) return;
    // Iterative: a stack of containers, each with the path length to restore and whether values
    // inside are nameable (false inside arrays and under keys with other characters).
    const stack: { array: boolean; pathLen: number; nameable: boolean }[] = [];
    this.i++;
    stack.push({ array: false, pathLen: 0, nameable: true });
    let expectKey = true;
    while (stack.length > 0 && this.i < this.end) {
      this.ws();
      const top = stack[stack.length - 1]!;
      const c = this.buf[this.i]!;
      if (c === 0x2c) {
        this.i++;
        expectKey = !top.array;
        continue;
      }
      if (c === 0x7d || c === 0x5d) {
        this.i++;
        stack.pop();
        expectKey = false;
        continue;
      }
      let pathLen = top.pathLen;
      let nameable = top.nameable && !top.array;
      if (!top.array) {
        if (!expectKey) {
          // Defensive: malformed input; stop rather than misreport.
          return;
        }
        // "key":
        const ks = this.i + 1;
        const ke = this.stringEnd(ks);
        this.i = ke + 1;
        this.ws();
        this.i++; // colon
        this.ws();
        if (nameable) {
          const keyLen = this.keyInto(ks, ke, pathLen);
          if (keyLen < 0) nameable = false;
          else pathLen = keyLen;
        }
      }
      expectKey = false;
      const v = this.buf[this.i]!;
      if (v === 0x7b || v === 0x5b) {
        if (nameable && pathLen > 0) this.sink.leaf('container', this.buf, 0, 0, pathLen);
        this.i++;
        stack.push({ array: v === 0x5b, pathLen, nameable });
        expectKey = v === 0x7b;
        continue;
      }
      if (v === QUOTE) {
        const vs = this.i + 1;
        const ve = this.stringEnd(vs);
        this.i = ve + 1;
        if (nameable && pathLen > 0) this.sink.leaf('string', this.buf, vs, ve, pathLen);
        continue;
      }
      const vs = this.i;
      while (this.i < this.end) {
        const d = this.buf[this.i]!;
        if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === TAB || d === NL || d === 13) break;
        this.i++;
      }
      if (nameable && pathLen > 0) {
        const first = this.buf[vs]!;
        if (first === 0x74 || first === 0x66) this.sink.leaf('literal', this.buf, vs, this.i, pathLen);
        else if (first !== 0x6e) this.sink.leaf('number', this.buf, vs, this.i, pathLen);
      }
    }
  }

  /**
   * Appends the key (unescaped) to the path at `pathLen` (after a '.' unless first); returns the
   * new path length, or -1 when the key has characters a query path cannot hold.
   */
  private keyInto(ks: number, ke: number, pathLen: number): number {
    let path = this.sink.pathBuffer();
    let key: Buffer = this.buf;
    let s = ks;
    let e = ke;
    if (hasByte(this.buf, BACKSLASH, ks, ke)) {
      key = Buffer.alloc(ke - ks);
      e = decodeJsonString(this.buf, ks, ke, key);
      s = 0;
    }
    if (e === s) return -1;
    for (let j = s; j < e; j++) if (!isSegmentByte(key[j]!)) return -1;
    const need = pathLen + 1 + (e - s);
    if (need + 1 > path.length) {
      this.sink.growPath(need + 1);
      path = this.sink.pathBuffer();
    }
    let at = pathLen;
    if (pathLen > 0) path[at++] = 0x2e;
    copyBytes(key, s, e, path, at);
    return at + (e - s);
  }

  /** The offset of the closing quote of the string whose content starts at `s`. */
  private stringEnd(s: number): number {
    let i = s;
    for (;;) {
      const q = this.buf.indexOf(QUOTE, i);
      if (q === -1 || q >= this.end) return this.end;
      // Count the backslashes before it: an odd number escapes it.
      let b = q - 1;
      while (b >= s && this.buf[b] === BACKSLASH) b--;
      if ((q - 1 - b) % 2 === 0) return q;
      i = q + 1;
    }
  }

  private ws(): void {
    while (this.i < this.end) {
      const c = this.buf[this.i]!;
      if (c !== 0x20 && c !== TAB && c !== NL && c !== 13) return;
      this.i++;
    }
  }
}

/**
 * Decodes the JSON string content buf[s, e) (escapes included, no quotes) as UTF-8 into `out`;
 * returns the length. A lone surrogate becomes U+FFFD, as it does when the engine stores it.
 */
export function decodeJsonString(buf: Uint8Array, s: number, e: number, out: Uint8Array): number {
  let o = 0;
  let i = s;
  while (i < e) {
    const c = buf[i]!;
    if (c !== BACKSLASH) {
      out[o++] = c;
      i++;
      continue;
    }
    const x = buf[i + 1]!;
    i += 2;
    switch (x) {
      case 0x6e: out[o++] = 10; break; // n
      case 0x74: out[o++] = 9; break; // t
      case 0x72: out[o++] = 13; break; // r
      case 0x62: out[o++] = 8; break; // b
      case 0x66: out[o++] = 12; break; // f
      case 0x75: {
        let cp = hex4(buf, i);
        i += 4;
        if (cp < 0) cp = 0xfffd;
        if (cp >= 0xd800 && cp <= 0xdbff && buf[i] === BACKSLASH && buf[i + 1] === 0x75) {
          const lo = hex4(buf, i + 2);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
          }
        }
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
        o = utf8Into(out, o, cp);
        break;
      }
      default:
        out[o++] = x; // \" \\ \/
    }
  }
  return o;
}
