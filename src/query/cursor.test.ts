import { describe, expect, it } from 'vitest';
import { LhError } from '../errors.js';
import { type Cursor, decodeCursor, encodeCursor, queryHash } from './cursor.js';

const CURSOR: Cursor = {
  ts: 1_714_557_600_123_456n,
  seq: 9_007_199_254_740_993n, // beyond 2^53: must survive as a bigint
  maxSeq: 9_007_199_254_740_999n,
  order: 'desc',
  qh: queryHash(['level:error', 'now-1h', '', 'desc']),
};

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('cursor codec', () => {
  it('round-trips, bigints exact, both orders, times before 1970', () => {
    expect(decodeCursor(encodeCursor(CURSOR))).toEqual(CURSOR);
    const asc: Cursor = { ...CURSOR, ts: -1n, seq: 0n, maxSeq: 0n, order: 'asc' };
    expect(decodeCursor(encodeCursor(asc))).toEqual(asc);
  });

  it('is opaque, URL-safe and short', () => {
    const s = encodeCursor(CURSOR);
    expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(s.length).toBeLessThan(120);
  });

  it('rejects anything it did not produce with LH_ERR_BAD_CURSOR', () => {
    const good = JSON.parse(Buffer.from(encodeCursor(CURSOR), 'base64url').toString()) as unknown[];
    const with_ = (i: number, v: unknown) => b64(good.map((x, j) => (j === i ? v : x)));
    const bad = [
      '',
      'not a cursor!',
      encodeCursor(CURSOR) + '=',
      'x'.repeat(300),
      b64('{"ts":"1"}'),
      b64('[1,"1"'),
      b64(good.slice(0, 5)),
      with_(0, 2), // another version
      with_(1, 1714557600123456), // a number, not a string
      with_(1, '1.5'),
      with_(2, '-1'),
      with_(3, 'x'),
      with_(4, 'up'),
      with_(5, 'ABCDEF012345'),
      with_(5, 'abc'),
      b64(null),
    ];
    for (const s of bad) {
      let err: unknown;
      try {
        decodeCursor(s);
      } catch (e) {
        err = e;
      }
      expect(err, s).toBeInstanceOf(LhError);
      expect((err as LhError).code).toBe('LH_ERR_BAD_CURSOR');
    }
  });
});

describe('queryHash', () => {
  it('is 12 hex characters, stable, and tells the parts apart', () => {
    const h = queryHash(['a', 'b']);
    expect(h).toMatch(/^[0-9a-f]{12}$/);
    expect(queryHash(['a', 'b'])).toBe(h);
    expect(queryHash(['a b', ''])).not.toBe(queryHash(['a', 'b ']));
    expect(queryHash(['ab', ''])).not.toBe(queryHash(['a', 'b']));
    expect(queryHash(['level:error', 'now-1h', '', 'desc'])).not.toBe(queryHash(['level:error', 'now-2h', '', 'desc']));
  });
});
