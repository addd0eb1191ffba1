// Turns a query into a test of segments: false only when no row of the segment can match, so the
// engine may skip it. The test is built once per query (its tokens hashed once) and then asked of
// every candidate segment; a segment without a summary yet (not indexed) always may match, except
// for what its extent's time range rules out.

import { normaliseLevel } from '../../model/level.js';
import { LEVELS } from '../../model/record.js';
import { parseTimestamp } from '../../model/timestamp.js';
import type { MatchOp, QueryNode } from '../../query/ast.js';
import { isNumericComparison } from '../../query/sql.js';
import { indexWord, wordsOf } from '../../query/words.js';
import {
  INDEXED_COLUMNS,
  TOKEN_ATTR,
  TOKEN_ATTR_ANY,
  TOKEN_COLUMN,
  TOKEN_TENANT,
  TOKEN_WORD,
  TOKEN_WORD_PREFIX,
  WORD_PREFIX_LENGTH,
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

export type SegmentTest = (s: SegmentInfo) => boolean;

const ALWAYS: SegmentTest = () => true;

/** A token hashed once: [hi, lo]. */
function token(kind: number, text: string): [number, number] {
  hashTokenString(kind, text);
  return [hashOut[0]!, hashOut[1]!];
}

/** Every token present in the summary's filter (true without a summary). */
function allTokens(tokens: [number, number][]): SegmentTest {
  if (tokens.length === 0) return ALWAYS;
  return (s) => {
    const sum = s.summary;
    if (sum === null) return true;
    for (const [hi, lo] of tokens) if (!sum.bloom.has(hi, lo)) return false;
    return true;
  };
}

/** The test of a tenant and an optional query. */
export function segmentTest(tenant: string, query: QueryNode | undefined): SegmentTest {
  const tenantToken = token(TOKEN_TENANT, tenant);
  const tenantTest: SegmentTest = (s) => {
    const sum = s.summary;
    if (sum === null) return true;
    if (sum.tenants !== null) return sum.tenants.includes(tenant);
    return sum.bloom.has(tenantToken[0], tenantToken[1]);
  };
  if (query === undefined) return tenantTest;
  const q = nodeTest(query);
  if (q === ALWAYS) return tenantTest;
  return (s) => tenantTest(s) && q(s);
}

function nodeTest(n: QueryNode): SegmentTest {
  switch (n.kind) {
    case 'and': {
      const parts = n.children.map(nodeTest).filter((t) => t !== ALWAYS);
      if (parts.length === 0) return ALWAYS;
      return (s) => parts.every((t) => t(s));
    }
    case 'or': {
      const parts = n.children.map(nodeTest);
      if (parts.length === 0) return () => false;
      if (parts.includes(ALWAYS)) return ALWAYS;
      return (s) => parts.some((t) => t(s));
    }
    case 'not':
      // The index knows what a segment may hold, not what every row holds.
      return ALWAYS;
    case 'text':
      return textTest(n.value, n.prefix);
    case 'match':
      if (n.field.kind === 'attr') return attrTest(n.field.path.join('.'), n.op, n.value);
      return columnTest(n.field.name, n.op, n.value);
  }
}

function textTest(value: string, prefix: boolean): SegmentTest {
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

function columnTest(name: string, op: MatchOp, value: string): SegmentTest {
  if (name === 'level') {
    const level = normaliseLevel(value);
    if (level === null || op === 'prefix' || op === 'regex') return ALWAYS;
    const rank = LEVELS.indexOf(level);
    let mask = 0;
    LEVELS.forEach((_, i) => {
      const want = op === 'eq' ? i === rank : op === 'gt' ? i > rank : op === 'gte' ? i >= rank : op === 'lt' ? i < rank : i <= rank;
      if (want) mask |= 1 << i;
    });
    return (s) => s.summary === null || (s.summary.levels & mask) !== 0;
  }
  if (name === 'ts') {
    const us = parseTimestamp(value);
    if (us === null || op === 'prefix' || op === 'regex') return ALWAYS;
    switch (op) {
      case 'eq':
        return (s) => s.minTs <= us && us <= s.maxTs;
      case 'gt':
        return (s) => s.maxTs > us;
      case 'gte':
        return (s) => s.maxTs >= us;
      case 'lt':
        return (s) => s.minTs < us;
      case 'lte':
        return (s) => s.minTs <= us;
    }
  }
  if (op !== 'eq') return ALWAYS;
  if (name === 'tenant') {
    const t = token(TOKEN_TENANT, value);
    return (s) => {
      const sum = s.summary;
      if (sum === null) return true;
      return sum.tenants !== null ? sum.tenants.includes(value) : sum.bloom.has(t[0], t[1]);
    };
  }
  const col = (INDEXED_COLUMNS as readonly string[]).indexOf(name);
  if (col === -1) return ALWAYS;
  return allTokens([token(TOKEN_COLUMN + col, value)]);
}

function attrTest(path: string, op: MatchOp, value: string): SegmentTest {
  if (op === 'eq') {
    const exact = token(TOKEN_ATTR, `${path}\u0000${value}`);
    const any = token(TOKEN_ATTR_ANY, path);
    return (s) => {
      const sum = s.summary;
      if (sum === null) return true;
      return sum.bloom.has(exact[0], exact[1]) || sum.bloom.has(any[0], any[1]);
    };
  }
  if (!isNumericComparison(op, value)) return ALWAYS;
  const v = Number(value);
  return (s) => {
    const sum = s.summary;
    if (sum === null) return true;
    const r = sum.numeric.get(path);
    // No number at this path anywhere in the segment: the comparison is never true there.
    if (r === undefined) return sum.numericOverflow;
    switch (op) {
      case 'gt':
        return r.max > v;
      case 'gte':
        return r.max >= v;
      case 'lt':
        return r.min < v;
      default:
        return r.min <= v;
    }
  };
}
