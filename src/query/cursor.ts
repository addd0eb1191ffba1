// The opaque paging cursor of GET /api/v1/logs: the (ts, seq) of the last row served, the seq
// snapshot that pins the session to rows existing when it began, the order, and a hash of the
// query so a cursor cannot be replayed against a different search.

import { createHash } from 'node:crypto';
import { LhError } from '../errors.js';

export interface Cursor {
  ts: bigint;
  seq: bigint;
  maxSeq: bigint;
  order: 'asc' | 'desc';
  /** queryHash() of what the page was computed for. */
  qh: string;
}

// Bump when the payload changes; older cursors are then rejected as malformed, not misread.
const VERSION = 1;
const MAX_CURSOR_LENGTH = 256;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const INT = /^-?\d{1,20}$/;
const QH = /^[0-9a-f]{12}$/;

/** base64url of `[version, ts, seq, maxSeq, "a"|"d", qh]`, bigints as decimal strings. */
export function encodeCursor(c: Cursor): string {
  const payload = [VERSION, c.ts.toString(), c.seq.toString(), c.maxSeq.toString(), c.order === 'asc' ? 'a' : 'd', c.qh];
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** The inverse of encodeCursor; LH_ERR_BAD_CURSOR for anything it did not produce. */
export function decodeCursor(s: string): Cursor {
  if (s.length === 0 || s.length > MAX_CURSOR_LENGTH || !BASE64URL.test(s)) throw bad();
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(payload) || payload.length !== 6 || payload[0] !== VERSION) throw bad();
  const [, ts, seq, maxSeq, order, qh] = payload as unknown[];
  if (!isInt(ts) || !isInt(seq) || !isInt(maxSeq) || (order !== 'a' && order !== 'd')) throw bad();
  if (typeof qh !== 'string' || !QH.test(qh)) throw bad();
  const cursor: Cursor = { ts: BigInt(ts), seq: BigInt(seq), maxSeq: BigInt(maxSeq), order: order === 'a' ? 'asc' : 'desc', qh };
  if (cursor.seq < 0n || cursor.maxSeq < 0n) throw bad();
  return cursor;
}

/** sha1 of the parts, 12 hex characters; the parts are JSON-encoded so ["a b",""] ≠ ["a","b "]. */
export function queryHash(parts: string[]): string {
  return createHash('sha1').update(JSON.stringify(parts)).digest('hex').slice(0, 12);
}

function isInt(v: unknown): v is string {
  return typeof v === 'string' && INT.test(v);
}

function bad(): LhError {
  return new LhError('LH_ERR_BAD_CURSOR', 'the cursor is malformed or from another version; start again without it');
}
