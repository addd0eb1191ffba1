// Turns a query into a test of segments: which blocks of a segment may hold matching rows (false:
// none, so the engine skips the segment; null: every one). A block is ruled out only when no row
// of it can match. The test is built once per query (its tokens hashed once) and then asked of
// every candidate segment; each token costs one small read of the segment's filter file. A
// segment without a summary yet (not indexed) is read whole, unless its time range rules it out.

import { normaliseLevel } from '../../model/level.js';
import { LEVELS } from '../../model/record.js';
import { parseTimestamp } from '../../model/timestamp.js';
import type { MatchOp, QueryNode } from '../../query/ast.js';
import { isNumericComparison } from '../../query/sql.js';
import { indexWord, wordsOf } from '../../query/words.js';
import { filterIndex, matchBlocks } from './block-bloom.js';
import {
  INDEXED_COLUMNS,
  TOKEN_ATTR,
  TOKEN_COLUMN,
  TOKEN_TENANT,
  TOKEN_WORD,
  TOKEN_WORD_PREFIX,
  WORD_PREFIX_LENGTH,
  type BlockTable,
  type SegmentSummary,
} from './segment-summary.js';
import { hashOut, hashTokenString } from './token-hash.js';

/** What the planner knows of a segment: always its extent, and its summary once indexed. */
export interface SegmentInfo {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  minTs: bigint;
  maxTs: bigint;
  summary: SegmentSummary | null;
}

/** Blocks that may match (1) or not (0), one per block of the summary; null: every block. */
export type BlockSet = Uint8Array | null;

/** false: no row of the segment matches; otherwise the blocks that may. */
export type SegmentTest = (s: SegmentInfo) => BlockSet | false;

/** A test of one indexed summary. */
type SummaryTest = (s: SegmentSummary) => BlockSet;

const ALL: SummaryTest = () => null;

/** A token hashed once: [hi, lo]. */
function token(kind: number, text: string): [number, number] {
  hashTokenString(kind, text);
  return [hashOut[0]!, hashOut[1]!];
}

/** Scratch space for filter reads: 64 blocks of 8 words covers a whole row group. */
let piece = new Uint32Array(64 * 8);

/** The blocks whose filter may hold the token. */
function probe(s: SegmentSummary, [hi, lo]: [number, number]): Uint8Array {
  const blocks = s.blocks.count;
  if (piece.length < blocks * 8) piece = new Uint32Array(blocks * 8);
  const out = new Uint8Array(blocks);
  try {
    s.filter.read(filterIndex(hi, s.filterSize), piece);
  } catch {
    // An unreadable filter (deleted, damaged) rules nothing out.
    out.fill(1);
    return out;
  }
  matchBlocks(piece, blocks, lo, out);
  return out;
}

/** Blocks i for which `pred(blocks, i)` holds. */
function perBlock(s: SegmentSummary, pred: (t: BlockTable, i: number) => boolean): Uint8Array {
  const t = s.blocks;
  const out = new Uint8Array(t.count);
  for (let i = 0; i < out.length; i++) out[i] = pred(t, i) ? 1 : 0;
  return out;
}

function and(a: BlockSet, b: BlockSet): BlockSet {
  if (a === null) return b;
  if (b === null) return a;
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! & b[i]!;
  return out;
}

function or(a: BlockSet, b: BlockSet): BlockSet {
  if (a === null || b === null) return null;
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! | b[i]!;
  return out;
}

function none(set: BlockSet): boolean {
  return set !== null && set.every((v) => v === 0);
}

/** Every token present. */
function allTokens(tokens: [number, number][]): SummaryTest {
  if (tokens.length === 0) return ALL;
  return (s) => {
    let set: BlockSet = null;
    for (const t of tokens) {
      set = and(set, probe(s, t));
      if (none(set)) return set;
    }
    return set;
  };
}

/** The test of a tenant and an optional query. */
export function segmentTest(tenant: string, query: QueryNode | undefined): SegmentTest {
  const tenantOnly = tenantTest(tenant);
  const q = query === undefined ? ALL : nodeTest(query);
  return (seg) => {
    const s = seg.summary;
    if (s === null) return query === undefined ? null : unindexedTest(query)(seg) ? null : false;
    let set = tenantOnly(s);
    if (none(set)) return false;
    if (q !== ALL) set = and(set, q(s));
    return none(set) ? false : set;
  };
}

/**
 * Blocks that may hold rows of `tenant`. The usual case, one tenant in the whole segment, answers
 * at once; otherwise listed tenants answer without a read, and blocks with too many ask the filter.
 */
function tenantTest(tenant: string): SummaryTest {
  const tenantToken = token(TOKEN_TENANT, tenant);
  return (s) => (s.soleTenant !== null ? (s.soleTenant === tenant ? null : new Uint8Array(s.blocks.count)) : tenantBlocks(s, tenant, tenantToken));
}

function tenantBlocks(s: SegmentSummary, tenant: string, tenantToken: [number, number]): Uint8Array {
  let unlisted = false;
  const listed = perBlock(s, (t, i) => {
    const tenants = t.tenants(i);
    if (tenants === null) unlisted = true;
    return tenants === null || tenants.includes(tenant);
  });
  return unlisted ? and(listed, or(perBlock(s, (t, i) => t.tenants(i) !== null), probe(s, tenantToken)))! : listed;
}

/** What an unindexed segment's extent can rule out: only its time range. */
function unindexedTest(query: QueryNode): (s: SegmentInfo) => boolean {
  return (s) => extentMayMatch(query, s);
}

function extentMayMatch(n: QueryNode, s: { minTs: bigint; maxTs: bigint }): boolean {
  switch (n.kind) {
    case 'and':
      return n.children.every((c) => extentMayMatch(c, s));
    case 'or':
      return n.children.some((c) => extentMayMatch(c, s));
    case 'match':
      if (n.field.kind === 'column' && n.field.name === 'ts') return timeMayMatch(n.op, n.value, s);
      return true;
    default:
      return true;
  }
}

function timeMayMatch(op: MatchOp, value: string, s: { minTs: bigint; maxTs: bigint }): boolean {
  const us = parseTimestamp(value);
  return us === null || rangeMayMatch(op, s.minTs, s.maxTs, us);
}

/** Whether some value in [min, max] may stand in relation `op` to v. */
function rangeMayMatch<T extends number | bigint>(op: MatchOp, min: T, max: T, v: T): boolean {
  switch (op) {
    case 'eq':
      return min <= v && v <= max;
    case 'gt':
      return max > v;
    case 'gte':
      return max >= v;
    case 'lt':
      return min < v;
    case 'lte':
      return min <= v;
    default:
      return true;
  }
}

function nodeTest(n: QueryNode): SummaryTest {
  switch (n.kind) {
    case 'and': {
      const parts = n.children.map(nodeTest).filter((t) => t !== ALL);
      if (parts.length === 0) return ALL;
      return (s) => {
        let set: BlockSet = null;
        for (const t of parts) {
          set = and(set, t(s));
          if (none(set)) return set;
        }
        return set;
      };
    }
    case 'or': {
      const parts = n.children.map(nodeTest);
      if (parts.length === 0) return (s) => new Uint8Array(s.blocks.count);
      if (parts.includes(ALL)) return ALL;
      return (s) => {
        let set: BlockSet = new Uint8Array(s.blocks.count);
        for (const t of parts) {
          set = or(set, t(s));
          if (set === null) return null;
        }
        return set;
      };
    }
    case 'not':
      // The index knows what a block may hold, not what every row holds.
      return ALL;
    case 'text':
      return textTest(n.value, n.prefix);
    case 'match':
      if (n.field.kind === 'attr') return attrTest(n.field.path.join('.'), n.op, n.value);
      return columnTest(n.field.name, n.op, n.value);
  }
}

function textTest(value: string, prefix: boolean): SummaryTest {
  const words = wordsOf(value);
  const tokens: [number, number][] = [];
  words.forEach((w, i) => {
    const iw = indexWord(w);
    if (iw === null) return;
    if (prefix && i === words.length - 1) {
      // Only starts of four letters have prefix tokens (segment-indexer.ts).
      const start = iw.slice(0, WORD_PREFIX_LENGTH);
      if (start.length === WORD_PREFIX_LENGTH && /^[a-z]+$/.test(start)) tokens.push(token(TOKEN_WORD_PREFIX, start));
    } else {
      tokens.push(token(TOKEN_WORD, iw));
    }
  });
  return allTokens(tokens);
}

function columnTest(name: string, op: MatchOp, value: string): SummaryTest {
  if (name === 'level') {
    const level = normaliseLevel(value);
    if (level === null || op === 'prefix' || op === 'regex') return ALL;
    const rank = LEVELS.indexOf(level);
    let mask = 0;
    LEVELS.forEach((_, i) => {
      const want = op === 'eq' ? i === rank : op === 'gt' ? i > rank : op === 'gte' ? i >= rank : op === 'lt' ? i < rank : i <= rank;
      if (want) mask |= 1 << i;
    });
    return (s) => perBlock(s, (t, i) => (t.levels(i) & mask) !== 0);
  }
  if (name === 'ts') {
    const us = parseTimestamp(value);
    if (us === null) return ALL;
    return (s) => perBlock(s, (t, i) => rangeMayMatch(op, t.minTs(i), t.maxTs(i), us));
  }
  if (op !== 'eq') return ALL;
  if (name === 'tenant') return tenantTest(value);
  const col = (INDEXED_COLUMNS as readonly string[]).indexOf(name);
  if (col === -1) return ALL;
  return allTokens([token(TOKEN_COLUMN + col, value)]);
}

function attrTest(path: string, op: MatchOp, value: string): SummaryTest {
  if (op === 'eq') {
    const exact = token(TOKEN_ATTR, `${path}\u0000${value}`);
    return (s) => or(probe(s, exact), perBlock(s, (t, i) => t.inexact(i, path)));
  }
  if (!isNumericComparison(op, value)) return ALL;
  const v = Number(value);
  return (s) =>
    perBlock(s, (t, i) => {
      const r = t.numeric(i, path);
      // No number at this path anywhere in the block: the comparison is never true there.
      return r === undefined ? t.numericOverflow(i) : rangeMayMatch(op, r.min, r.max, v);
    });
}
