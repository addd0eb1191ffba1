// What the token index knows about one loaded segment (a contiguous range of sequence numbers),
// block by block — BLOCK_ROWS rows each, one DuckDB vector, the finest range the engine reads
// cheaply: each block's time range, levels, tenants and numeric attribute ranges (kept in
// memory, a few hundred bytes a block), and a Bloom filter of its tokens (kept on disk). The
// planner asks which blocks of a segment *may* match a query; "no" must be certain (the block is
// skipped), "yes" may be wrong (the engine then finds nothing there).
//
// Tokens, each hashed with its kind (token-hash.ts):
//   WORD         a word (query/words.ts) of the message or of the attrs JSON text, lower-cased
//   WORD_PREFIX  the first four letters of such a word, for `timeo*`
//   COLUMN + i   the exact value of text column i (service, host, …), for `service:api`
//   ATTR         `path \0 value` of an attribute with a string, integer or boolean value
//   TENANT       the tenant
// Paths whose values the index does not hold exactly (a fraction, an exponent, an object, an
// array) are listed per block instead: an equality on such a path cannot rule the block out.
//
// The filters of a segment's blocks are split-block Bloom filters of one size, stored interleaved:
// the 32-byte filter block `i` of every block of the segment, one after another. A token picks
// one filter block `i`, so one read of (blocks × 32) bytes answers for every block at once — a
// few hundred small reads from the page cache per query, and no filter in the process's memory.

import fs from 'node:fs';

export const TOKEN_WORD = 1;
export const TOKEN_WORD_PREFIX = 2;
export const TOKEN_ATTR = 4;
export const TOKEN_TENANT = 6;
/** COLUMN tokens: this plus the column's place in INDEXED_COLUMNS. */
export const TOKEN_COLUMN = 0x10;

/** Text columns whose exact values are tokens, in the order of their kinds. */
export const INDEXED_COLUMNS = ['service', 'host', 'category', 'source', 'trace_id', 'span_id'] as const;
export type IndexedColumn = (typeof INDEXED_COLUMNS)[number];

/** How many characters of a word its WORD_PREFIX token holds. */
export const WORD_PREFIX_LENGTH = 4;

/** Rows per block: one DuckDB vector. */
export const BLOCK_ROWS = 2048;

/** Filter bits per distinct token of the fullest block: about 0.3 % of absent tokens look present. */
export const FILTER_BITS_PER_TOKEN = 14;

/** Most numeric attribute paths tracked per block; past it `numericOverflow` is set. */
export const MAX_NUMERIC_PATHS = 256;

/** Most inexact attribute paths listed per block. */
export const MAX_INEXACT_PATHS = 64;

/** Most tenants listed per block; past it the list is dropped and the filter answers. */
export const MAX_LISTED_TENANTS = 16;

/** Bit of a NULL level in `levels`; the six levels take bits 0–5 in LEVELS order. */
export const LEVEL_NULL_BIT = 6;

export interface NumericRange {
  min: number;
  max: number;
}

export interface BlockMeta {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  minTs: bigint;
  maxTs: bigint;
  /** Levels present: bit i for LEVELS[i], LEVEL_NULL_BIT for rows without one. */
  levels: number;
  /** Every tenant of the block, or null when there are more than MAX_LISTED_TENANTS. */
  tenants: string[] | null;
  /**
   * Per attribute path (`a.b`), the range of the values a numeric comparison can see: JSON numbers,
   * and ±Infinity when a string with a digit (which the engine may read as a number) is there.
   */
  numeric: Map<string, NumericRange>;
  /** More numeric paths than MAX_NUMERIC_PATHS: a path missing from `numeric` proves nothing. */
  numericOverflow: boolean;
  /**
   * Attribute paths with a value the filter does not hold exactly (fractions, exponents, objects,
   * arrays), or null when there are more than MAX_INEXACT_PATHS: then no equality on an attribute
   * rules the block out.
   */
  inexact: string[] | null;
  /** Distinct tokens of the block. */
  tokens: number;
}

/** Reads filter block `index` of every block of a segment (blocks × 8 words). */
export interface FilterSource {
  read(index: number, out: Uint32Array): void;
}

export interface SegmentSummary {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  blocks: BlockMeta[];
  /** 32-byte filter blocks per block filter. */
  filterSize: number;
  filter: FilterSource;
  /** The tenant of every row, when the segment holds one only (null otherwise). */
  soleTenant: string | null;
}

/** The tenant of every block, when they all hold the same one only. */
export function soleTenantOf(blocks: readonly BlockMeta[]): string | null {
  const first = blocks[0]?.tenants;
  if (!first || first.length !== 1) return null;
  return blocks.every((b) => b.tenants !== null && b.tenants.length === 1 && b.tenants[0] === first[0]) ? first[0]! : null;
}

const MAGIC = 'LHIDX3\n';

/** The summary as a file: magic, a JSON header line, padding to 4 bytes, then the filter words. */
export function encodeSummary(s: Omit<SegmentSummary, 'filter' | 'soleTenant'>, words: Uint32Array): Buffer {
  const header = JSON.stringify({
    firstSeq: s.firstSeq.toString(),
    lastSeq: s.lastSeq.toString(),
    rows: s.rows,
    filterSize: s.filterSize,
    blocks: s.blocks.map((b) => ({
      firstSeq: b.firstSeq.toString(),
      lastSeq: b.lastSeq.toString(),
      rows: b.rows,
      minTs: b.minTs.toString(),
      maxTs: b.maxTs.toString(),
      levels: b.levels,
      tenants: b.tenants,
      numeric: [...b.numeric].map(([path, r]) => [path, finite(r.min), finite(r.max)]),
      numericOverflow: b.numericOverflow,
      inexact: b.inexact,
      tokens: b.tokens,
    })),
  });
  const head = Buffer.from(`${MAGIC}${header}\n`);
  const pad = (4 - (head.length % 4)) % 4;
  const out = Buffer.alloc(head.length + pad + words.byteLength);
  head.copy(out, 0);
  Buffer.from(words.buffer, words.byteOffset, words.byteLength).copy(out, head.length + pad);
  return out;
}

interface Header {
  firstSeq: string;
  lastSeq: string;
  rows: number;
  filterSize: number;
  blocks: {
    firstSeq: string;
    lastSeq: string;
    rows: number;
    minTs: string;
    maxTs: string;
    levels: number;
    tenants: string[] | null;
    numeric: [string, number | string, number | string][];
    numericOverflow: boolean;
    inexact: string[] | null;
    tokens: number;
  }[];
}

/** Largest header read at once; a header is about 1 KB per block. */
const HEADER_READ = 1 << 20;

/**
 * Reads a summary file's header; its filter stays on disk, read block by block when probed.
 * Throws on anything else (the caller rebuilds the summary).
 */
export function readSummary(file: string): SegmentSummary {
  const fd = fs.openSync(file, 'r');
  let size: number;
  let head: Buffer;
  try {
    size = fs.fstatSync(fd).size;
    head = Buffer.alloc(Math.min(size, HEADER_READ));
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (head.subarray(0, MAGIC.length).toString() !== MAGIC) throw new Error('not a segment summary');
  const end = head.indexOf(0x0a, MAGIC.length);
  if (end === -1) throw new Error('segment summary header too long or cut short');
  const h = JSON.parse(head.subarray(MAGIC.length, end).toString()) as Header;
  let offset = end + 1;
  while (offset % 4 !== 0) offset++;
  const blocks = h.blocks.length;
  if (size !== offset + h.filterSize * blocks * 32) throw new Error('segment summary is cut short');
  const metas: BlockMeta[] = h.blocks.map((b) => ({
      firstSeq: BigInt(b.firstSeq),
      lastSeq: BigInt(b.lastSeq),
      rows: b.rows,
      minTs: BigInt(b.minTs),
      maxTs: BigInt(b.maxTs),
      levels: b.levels,
      tenants: b.tenants,
      numeric: new Map(b.numeric.map(([p, min, max]) => [p, { min: infinite(min), max: infinite(max) }])),
      numericOverflow: b.numericOverflow,
      inexact: b.inexact,
      tokens: b.tokens,
    }));
  return {
    firstSeq: BigInt(h.firstSeq),
    lastSeq: BigInt(h.lastSeq),
    rows: h.rows,
    filterSize: h.filterSize,
    blocks: metas,
    filter: new FileFilter(file, offset, blocks),
    soleTenant: soleTenantOf(metas),
  };
}

/** Open summary files, least recently used first; a long-lived fd per file would exhaust ulimit -n. */
const openFiles = new Map<string, number>();
const MAX_OPEN_FILES = 64;

function fdOf(file: string): number {
  const fd = openFiles.get(file);
  if (fd !== undefined) {
    openFiles.delete(file);
    openFiles.set(file, fd);
    return fd;
  }
  if (openFiles.size >= MAX_OPEN_FILES) {
    const [oldFile, oldFd] = openFiles.entries().next().value as [string, number];
    openFiles.delete(oldFile);
    fs.closeSync(oldFd);
  }
  const opened = fs.openSync(file, 'r');
  openFiles.set(file, opened);
  return opened;
}

/** Forgets a summary file (deleted or replaced). */
export function closeSummaryFile(file: string): void {
  const fd = openFiles.get(file);
  if (fd === undefined) return;
  openFiles.delete(file);
  fs.closeSync(fd);
}

class FileFilter implements FilterSource {
  constructor(
    private readonly file: string,
    private readonly offset: number,
    private readonly blocks: number,
  ) {}

  read(index: number, out: Uint32Array): void {
    const bytes = this.blocks * 32;
    const view = Buffer.from(out.buffer, out.byteOffset, bytes);
    const n = fs.readSync(fdOf(this.file), view, 0, bytes, this.offset + index * bytes);
    if (n !== bytes) throw new Error(`${this.file}: filter cut short`);
  }
}

/** A filter held in memory (what the indexer just built). */
export class MemoryFilter implements FilterSource {
  constructor(
    private readonly words: Uint32Array,
    private readonly blocks: number,
  ) {}

  read(index: number, out: Uint32Array): void {
    const n = this.blocks * 8;
    out.set(this.words.subarray(index * n, index * n + n));
  }
}

/** JSON has no infinities: they travel as strings. */
function finite(n: number): number | string {
  return Number.isFinite(n) ? n : String(n);
}

function infinite(v: number | string): number {
  return typeof v === 'number' ? v : Number(v);
}
