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

/**
 * Filter bits per distinct token of a segment's first block (segment-indexer.ts sizes the filters
 * with some room over it): about 0.3 % of absent tokens look present.
 */
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

/** A summary as the indexer builds it and its file holds it, block by block. */
export interface SummaryHeader {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  blocks: BlockMeta[];
  /** 32-byte filter blocks per block filter. */
  filterSize: number;
}

/** A summary as the planner holds it: its blocks in columns, its filter on disk. */
export interface SegmentSummary {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  blocks: BlockTable;
  /** 32-byte filter blocks per block filter. */
  filterSize: number;
  filter: FilterSource;
  /** The tenant of every row, when the segment holds one only (null otherwise). */
  soleTenant: string | null;
}

/** A block as a read names it (a ReadUnit of segment-catalog.ts). */
export interface BlockUnit {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  minTs: bigint;
  maxTs: bigint;
  tenants: readonly string[] | null;
}

/**
 * The blocks of a segment in columns: typed arrays, attribute paths named once per segment and
 * equal tenant lists shared — a few dozen bytes a block plus 20 per numeric path, where an object
 * per block took about a kilobyte (a store of a billion rows has half a million blocks, and the
 * planner holds every one).
 */
export class BlockTable {
  /** Rows before block i (count + 1 entries). */
  private readonly rowStart: Uint32Array;
  private readonly minTsOf: BigInt64Array;
  private readonly maxTsOf: BigInt64Array;
  private readonly levelsOf: Uint8Array;
  private readonly tenantsOf: (readonly string[] | null)[];
  /** Bit 0: more numeric paths than tracked; bit 1: too many inexact paths to list. */
  private readonly flags: Uint8Array;
  /** Attribute paths of the segment; a path's id is its place in insertion order. */
  private readonly pathIds = new Map<string, number>();
  /** Block i's numeric ranges: entries numericStart[i] .. numericStart[i + 1], by path id. */
  private readonly numericStart: Uint32Array;
  private readonly numericPath: Uint32Array;
  private readonly numericMin: Float64Array;
  private readonly numericMax: Float64Array;
  /** Block i's inexact paths: inexactPath[inexactStart[i] .. inexactStart[i + 1]]. */
  private readonly inexactStart: Uint32Array;
  private readonly inexactPath: Uint32Array;

  constructor(
    private readonly segmentFirstSeq: bigint,
    metas: readonly Omit<BlockMeta, 'firstSeq' | 'lastSeq'>[],
  ) {
    const n = metas.length;
    this.rowStart = new Uint32Array(n + 1);
    this.minTsOf = new BigInt64Array(n);
    this.maxTsOf = new BigInt64Array(n);
    this.levelsOf = new Uint8Array(n);
    this.tenantsOf = new Array<readonly string[] | null>(n);
    this.flags = new Uint8Array(n);
    this.numericStart = new Uint32Array(n + 1);
    this.inexactStart = new Uint32Array(n + 1);
    let numerics = 0;
    let inexacts = 0;
    for (const m of metas) {
      numerics += m.numeric.size;
      inexacts += m.inexact?.length ?? 0;
    }
    this.numericPath = new Uint32Array(numerics);
    this.numericMin = new Float64Array(numerics);
    this.numericMax = new Float64Array(numerics);
    this.inexactPath = new Uint32Array(inexacts);
    const tenantLists = new Map<string, readonly string[]>();
    let rows = 0;
    let ni = 0;
    let ii = 0;
    metas.forEach((m, i) => {
      rows += m.rows;
      this.rowStart[i + 1] = rows;
      this.minTsOf[i] = m.minTs;
      this.maxTsOf[i] = m.maxTs;
      this.levelsOf[i] = m.levels;
      if (m.tenants === null) this.tenantsOf[i] = null;
      else {
        const key = m.tenants.join('\u0000');
        let list = tenantLists.get(key);
        if (list === undefined) tenantLists.set(key, (list = Object.freeze([...m.tenants])));
        this.tenantsOf[i] = list;
      }
      this.flags[i] = (m.numericOverflow ? 1 : 0) | (m.inexact === null ? 2 : 0);
      // In path id order, so a lookup can stop early.
      const ranges = [...m.numeric].map(([path, r]) => [this.idOf(path), r.min, r.max] as const).sort((a, b) => a[0] - b[0]);
      for (const [id, min, max] of ranges) {
        this.numericPath[ni] = id;
        this.numericMin[ni] = min;
        this.numericMax[ni] = max;
        ni++;
      }
      this.numericStart[i + 1] = ni;
      for (const path of m.inexact ?? []) this.inexactPath[ii++] = this.idOf(path);
      this.inexactStart[i + 1] = ii;
    });
  }

  get count(): number {
    return this.levelsOf.length;
  }

  firstSeq(i: number): bigint {
    return this.segmentFirstSeq + BigInt(this.rowStart[i]!);
  }

  lastSeq(i: number): bigint {
    return this.segmentFirstSeq + BigInt(this.rowStart[i + 1]!) - 1n;
  }

  rows(i: number): number {
    return this.rowStart[i + 1]! - this.rowStart[i]!;
  }

  minTs(i: number): bigint {
    return this.minTsOf[i]!;
  }

  maxTs(i: number): bigint {
    return this.maxTsOf[i]!;
  }

  /** Levels present in block i: bit j for LEVELS[j], LEVEL_NULL_BIT for rows without one. */
  levels(i: number): number {
    return this.levelsOf[i]!;
  }

  /** Every tenant of block i, or null when there were too many to list. */
  tenants(i: number): readonly string[] | null {
    return this.tenantsOf[i]!;
  }

  /** Block i as a read names it. */
  unit(i: number): BlockUnit {
    return {
      firstSeq: this.firstSeq(i),
      lastSeq: this.lastSeq(i),
      rows: this.rows(i),
      minTs: this.minTsOf[i]!,
      maxTs: this.maxTsOf[i]!,
      tenants: this.tenantsOf[i]!,
    };
  }

  /**
   * The range of the numbers at `path` in block i; undefined when it has none there (which proves
   * nothing when `numericOverflow(i)`).
   */
  numeric(i: number, path: string): NumericRange | undefined {
    const id = this.pathIds.get(path);
    if (id === undefined) return undefined;
    for (let e = this.numericStart[i]!, end = this.numericStart[i + 1]!; e < end; e++) {
      const p = this.numericPath[e]!;
      if (p === id) return { min: this.numericMin[e]!, max: this.numericMax[e]! };
      if (p > id) break;
    }
    return undefined;
  }

  /** More numeric paths in block i than MAX_NUMERIC_PATHS. */
  numericOverflow(i: number): boolean {
    return (this.flags[i]! & 1) !== 0;
  }

  /**
   * Whether block i may hold a value at `path` that the filter does not hold exactly (or held
   * too many such paths to list): then an equality on the path cannot rule the block out.
   */
  inexact(i: number, path: string): boolean {
    if ((this.flags[i]! & 2) !== 0) return true;
    const id = this.pathIds.get(path);
    if (id === undefined) return false;
    for (let e = this.inexactStart[i]!, end = this.inexactStart[i + 1]!; e < end; e++) if (this.inexactPath[e] === id) return true;
    return false;
  }

  private idOf(path: string): number {
    let id = this.pathIds.get(path);
    if (id === undefined) this.pathIds.set(path, (id = this.pathIds.size));
    return id;
  }
}

/** The tenant of every block, when they all hold the same one only. */
export function soleTenantOf(blocks: BlockTable): string | null {
  const first = blocks.count > 0 ? blocks.tenants(0) : null;
  if (first === null || first.length !== 1) return null;
  // Equal lists are one object (BlockTable).
  for (let i = 1; i < blocks.count; i++) if (blocks.tenants(i) !== first) return null;
  return first[0]!;
}

const MAGIC = 'LHIDX3\n';

/**
 * Writes a summary file: magic, a JSON header line, padding to 4 bytes, then the filter words as
 * they are (not copied first).
 */
export function writeSummary(file: string, s: SummaryHeader, words: Uint32Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    writeAll(fd, encodeHeader(s));
    writeAll(fd, new Uint8Array(words.buffer, words.byteOffset, words.byteLength));
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at);
}

/** The header of a summary file, padded so the filter words that follow start 4-byte aligned. */
function encodeHeader(s: SummaryHeader): Buffer {
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
  return pad === 0 ? head : Buffer.concat([head, Buffer.alloc(pad)]);
}

interface HeaderJson {
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
  const h = JSON.parse(head.subarray(MAGIC.length, end).toString()) as HeaderJson;
  let offset = end + 1;
  while (offset % 4 !== 0) offset++;
  const blocks = h.blocks.length;
  if (size !== offset + h.filterSize * blocks * 32) throw new Error('segment summary is cut short');
  const firstSeq = BigInt(h.firstSeq);
  const table = new BlockTable(
    firstSeq,
    h.blocks.map((b) => ({
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
    })),
  );
  if (table.count > 0 && (table.firstSeq(0) !== firstSeq || table.lastSeq(blocks - 1) !== BigInt(h.lastSeq))) {
    throw new Error('segment summary blocks do not cover the segment');
  }
  return {
    firstSeq,
    lastSeq: BigInt(h.lastSeq),
    rows: h.rows,
    filterSize: h.filterSize,
    blocks: table,
    filter: new FileFilter(file, offset, blocks),
    soleTenant: soleTenantOf(table),
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
