// What the token index knows about one loaded segment (a contiguous range of sequence numbers):
// which tenants and levels it holds, a Bloom filter of its tokens, and the range of every numeric
// attribute. The planner asks a summary whether a query *may* match rows of the segment; "no"
// must be certain (the segment is skipped), "yes" may be wrong (the engine then finds nothing).
//
// Tokens, each hashed with its kind (token-hash.ts):
//   WORD         a word (query/words.ts) of the message or of the attrs JSON text, lower-cased
//   WORD_PREFIX  the first four characters of such a word, for `timeo*`
//   COLUMN + i   the exact value of text column i (service, host, …), for `service:api`
//   ATTR         `path \0 value` of an attribute with a string, integer or boolean value
//   ATTR_ANY     `path` of an attribute whose value the index does not hold exactly (a fraction,
//                an exponent, an object, an array): an equality on that path cannot be pruned
//   TENANT       the tenant

import { BlockBloom } from './block-bloom.js';

export const TOKEN_WORD = 1;
export const TOKEN_WORD_PREFIX = 2;
export const TOKEN_ATTR = 4;
export const TOKEN_ATTR_ANY = 5;
export const TOKEN_TENANT = 6;
/** COLUMN tokens: this plus the column's place in INDEXED_COLUMNS. */
export const TOKEN_COLUMN = 0x10;

/** Text columns whose exact values are tokens, in the order of their kinds. */
export const INDEXED_COLUMNS = ['service', 'host', 'category', 'source', 'trace_id', 'span_id'] as const;
export type IndexedColumn = (typeof INDEXED_COLUMNS)[number];

/** How many characters of a word its WORD_PREFIX token holds. */
export const WORD_PREFIX_LENGTH = 4;

/** Most numeric attribute paths tracked per segment; past it `numericOverflow` is set. */
export const MAX_NUMERIC_PATHS = 512;

/** Most tenants listed per segment; past it the list is dropped and the Bloom filter answers. */
export const MAX_LISTED_TENANTS = 64;

/** Bit of a NULL level in `levels`; the six levels take bits 0–5 in LEVELS order. */
export const LEVEL_NULL_BIT = 6;

export interface NumericRange {
  min: number;
  max: number;
}

export interface SegmentSummary {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  /** Levels present: bit i for LEVELS[i], LEVEL_NULL_BIT for rows without one. */
  levels: number;
  /** Every tenant of the segment, or null when there are more than MAX_LISTED_TENANTS. */
  tenants: string[] | null;
  bloom: BlockBloom;
  /** Distinct tokens the filter was sized for. */
  tokens: number;
  /**
   * Per attribute path (`a.b`), the range of the values a numeric comparison can see: JSON numbers,
   * and ±Infinity when a string with a digit (which the engine may read as a number) is there.
   */
  numeric: Map<string, NumericRange>;
  /** More numeric paths than MAX_NUMERIC_PATHS: a path missing from `numeric` proves nothing. */
  numericOverflow: boolean;
}

const MAGIC = 'LHIDX1\n';

/** The summary as a file: magic, a JSON header line, then the filter's words (little-endian). */
export function encodeSummary(s: SegmentSummary): Buffer {
  const header = JSON.stringify({
    firstSeq: s.firstSeq.toString(),
    lastSeq: s.lastSeq.toString(),
    rows: s.rows,
    levels: s.levels,
    tenants: s.tenants,
    tokens: s.tokens,
    words: s.bloom.words.length,
    numeric: [...s.numeric].map(([path, r]) => [path, finite(r.min), finite(r.max)]),
    numericOverflow: s.numericOverflow,
  });
  const head = Buffer.from(`${MAGIC}${header}\n`);
  // Words start on a 4-byte boundary so they can be viewed in place when read back.
  const pad = (4 - (head.length % 4)) % 4;
  const out = Buffer.alloc(head.length + pad + s.bloom.words.byteLength);
  head.copy(out, 0);
  Buffer.from(s.bloom.words.buffer, s.bloom.words.byteOffset, s.bloom.words.byteLength).copy(out, head.length + pad);
  return out;
}

/** The inverse of encodeSummary; throws on anything else (the caller rebuilds the summary). */
export function decodeSummary(buf: Buffer): SegmentSummary {
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) throw new Error('not a segment summary');
  const end = buf.indexOf(0x0a, MAGIC.length);
  if (end === -1) throw new Error('segment summary without a header');
  const h = JSON.parse(buf.subarray(MAGIC.length, end).toString()) as {
    firstSeq: string;
    lastSeq: string;
    rows: number;
    levels: number;
    tenants: string[] | null;
    tokens: number;
    words: number;
    numeric: [string, number | string, number | string][];
    numericOverflow: boolean;
  };
  let start = end + 1;
  while (start % 4 !== 0) start++;
  if (buf.length !== start + h.words * 4) throw new Error('segment summary is cut short');
  const words = new Uint32Array(h.words);
  Buffer.from(words.buffer).set(buf.subarray(start, start + h.words * 4));
  return {
    firstSeq: BigInt(h.firstSeq),
    lastSeq: BigInt(h.lastSeq),
    rows: h.rows,
    levels: h.levels,
    tenants: h.tenants,
    tokens: h.tokens,
    bloom: new BlockBloom(words),
    numeric: new Map(h.numeric.map(([p, min, max]) => [p, { min: infinite(min), max: infinite(max) }])),
    numericOverflow: h.numericOverflow,
  };
}

/** JSON has no infinities: they travel as strings. */
function finite(n: number): number | string {
  return Number.isFinite(n) ? n : String(n);
}

function infinite(v: number | string): number {
  return typeof v === 'number' ? v : Number(v);
}
